// Everything the box runs on, rendered from one config. Keys are paths relative to the render
// root; docs/image.md says where each lands on the device.
import type { Config } from "../config/schema.js";
import { sameData } from "../lib/same-data.js";
import { type Facts, type Resolved, resolve } from "./context.js";
import { corefileInput, renderCorefile } from "./corefile.js";
import { joolInput, renderJool } from "./jool.js";
import { networkdInput, renderNetworkd } from "./networkd.js";
import { nftablesInput, renderNftables } from "./nftables.js";
import { offloadsInput, renderOffloads } from "./offloads.js";
import { renderSteering, steeringInput } from "./steering.js";
import { renderSysctl, sysctlInput } from "./sysctl.js";

export type { Facts };
export type RenderedFiles = Record<string, string>;

/** A renderer: the part of the resolved config it reads, and its files, made from that part alone. */
interface Renderer<I> {
  /** Its one file, or the directory ("network/") its files go in. */
  path: string;
  input: (r: Resolved) => I;
  render: (input: I) => RenderedFiles;
}
const renderer = <I>(r: Renderer<I>) => r as Renderer<unknown>;

/** The rendered ruleset's file, which the apply loads, checks and compares with what is in effect. */
export const RULESET_FILE = "nftables/gate64.nft";

/** In code-unit order of path, so that the files come out sorted (localeCompare would load ICU's collator: 3 MiB of RSS). */
const RENDERERS = [
  renderer({ path: "coredns/", input: corefileInput, render: (i) => ({ "coredns/Corefile": renderCorefile(i) }) }),
  renderer({ path: "hostname", input: (r) => r.hostname, render: (h) => ({ hostname: `${h}\n` }) }),
  renderer({ path: "jool/", input: joolInput, render: (i) => ({ "jool/nat64.json": renderJool(i) }) }),
  renderer({
    path: "network/",
    input: networkdInput,
    render: (i) => {
      const files = renderNetworkd(i);
      return Object.fromEntries(
        Object.keys(files)
          .sort()
          .map((name) => [`network/${name}`, files[name] as string]),
      );
    },
  }),
  renderer({ path: "nftables/", input: nftablesInput, render: (i) => ({ [RULESET_FILE]: renderNftables(i) }) }),
  renderer({
    path: "offloads.json",
    input: offloadsInput,
    render: (i) => ({ "offloads.json": `${JSON.stringify(renderOffloads(i), null, 2)}\n` }),
  }),
  renderer({
    path: "steering.json",
    input: steeringInput,
    render: (i) => ({ "steering.json": `${JSON.stringify(renderSteering(i), null, 2)}\n` }),
  }),
  renderer({ path: "sysctl.d/", input: sysctlInput, render: (i) => ({ "sysctl.d/90-gate64.conf": renderSysctl(i) }) }),
];

/** An earlier render: its resolved config and files. */
export interface Render {
  resolved: Resolved;
  files: RenderedFiles;
}

export function renderAll(config: Config, facts: Facts): RenderedFiles {
  return renderResolved(resolve(config, facts));
}

/**
 * The same from a config already resolved against the box's facts. Given an earlier render, a
 * renderer whose part is the same gives that render's files again instead of rendering them: a
 * change of the DNS64 upstream renders the Corefile only.
 */
export function renderResolved(r: Resolved, earlier?: Render | null): RenderedFiles {
  return renderParts(r, earlier).files;
}

/** renderResolved, and which renderers (their paths) rendered. */
export function renderParts(r: Resolved, earlier?: Render | null): { files: RenderedFiles; rendered: string[] } {
  const files: RenderedFiles = {};
  const rendered: string[] = [];
  const known = new Map<object, unknown>();
  for (const each of RENDERERS) {
    const input = each.input(r);
    if (earlier && sameData(input, each.input(earlier.resolved), known)) {
      for (const name in earlier.files)
        if (name === each.path || (each.path.endsWith("/") && name.startsWith(each.path))) files[name] = earlier.files[name] as string;
    } else {
      Object.assign(files, each.render(input));
      rendered.push(each.path);
    }
  }
  return { files, rendered };
}
