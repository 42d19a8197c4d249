// Everything the box runs on, rendered from one config. Keys are paths relative to the render
// root; docs/image.md says where each lands on the device.
import type { Config } from "../config/schema.js";
import { type Facts, type Resolved, resolve } from "./context.js";
import { renderCorefile } from "./corefile.js";
import { renderJool } from "./jool.js";
import { renderNetworkd } from "./networkd.js";
import { renderNftables } from "./nftables.js";
import { renderOffloads } from "./offloads.js";
import { renderSysctl } from "./sysctl.js";

export type { Facts };
export type RenderedFiles = Record<string, string>;

export function renderAll(config: Config, facts: Facts): RenderedFiles {
  return renderResolved(resolve(config, facts));
}

/** The same from a config already resolved against the box's facts. */
export function renderResolved(r: Resolved): RenderedFiles {
  const files: RenderedFiles = {
    "jool/nat64.json": renderJool(r),
    "coredns/Corefile": renderCorefile(r),
    "nftables/gate64.nft": renderNftables(r),
    "sysctl.d/90-gate64.conf": renderSysctl(r),
    "offloads.json": `${JSON.stringify(renderOffloads(r), null, 2)}\n`,
    hostname: `${r.hostname}\n`,
  };
  for (const [name, text] of Object.entries(renderNetworkd(r))) files[`network/${name}`] = text;
  // Code-unit order: localeCompare would load ICU's collator into the agent (3 MiB of its RSS).
  return Object.fromEntries(
    Object.keys(files)
      .sort()
      .map((k) => [k, files[k] as string]),
  );
}
