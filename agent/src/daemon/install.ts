// Puts a rendered revision into effect, touching only what changed. Each step says what it did
// so the caller can report it; a failed step throws with the tool's own message.
import { join } from "node:path";
import type { Config } from "../config/schema.js";
import { PATHS } from "../paths.js";
import type { RenderedFiles } from "../render/index.js";
import { JOOL_INSTANCE } from "../render/jool.js";
import type { OffloadPlan } from "../render/offloads.js";
import type { System } from "../system/system.js";

export type Service = "network" | "sysctl" | "firewall" | "hostname" | "jool" | "offloads" | "coredns";

const SERVICE_OF: [prefix: string, service: Service][] = [
  ["network/", "network"],
  ["sysctl.d/", "sysctl"],
  ["nftables/", "firewall"],
  ["hostname", "hostname"],
  ["jool/", "jool"],
  ["offloads.json", "offloads"],
  ["coredns/", "coredns"],
];

/** Which services' files differ between two renders (all of them when there is no previous one). */
export function changedServices(prev: RenderedFiles | null, next: RenderedFiles): Set<Service> {
  const out = new Set<Service>();
  const keys = new Set([...Object.keys(next), ...Object.keys(prev ?? {})]);
  for (const key of keys) {
    if (prev !== null && prev[key] === next[key]) continue;
    const hit = SERVICE_OF.find(([p]) => key.startsWith(p));
    if (hit) out.add(hit[1]);
  }
  return out;
}

/** Health probes whose failure a service's reload repairs (a removed Jool instance, a dead CoreDNS). */
const REPAIRS: Record<string, Service> = { jool: "jool", offloads: "offloads", coredns: "coredns", dns64: "coredns" };

export function repairsFor(failedProbes: string[]): Service[] {
  return [...new Set(failedProbes.flatMap((p) => (REPAIRS[p] === undefined ? [] : [REPAIRS[p]])))];
}

export class StepError extends Error {
  constructor(
    readonly service: Service,
    message: string,
  ) {
    super(`${service}: ${message}`);
  }
}

async function must(sys: System, service: Service, cmd: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await sys.run(cmd, args, timeoutMs === undefined ? {} : { timeoutMs });
  if (r.code !== 0) throw new StepError(service, `${cmd} ${args.join(" ")} failed: ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
  return r.stdout;
}

export function sysctlEntries(text: string): [key: string, value: string][] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const [k, ...v] = l.split("=");
      return [(k ?? "").trim(), v.join("=").trim()];
    });
}

/** Jool cannot change pool6 on a live instance: it is recreated when pool6 differs. */
function pool6Of(files: RenderedFiles | null): string | null {
  const text = files?.["jool/nat64.json"];
  return text === undefined ? null : (JSON.parse(text) as { global: { pool6: string } }).global.pool6;
}

async function waitForAddress(sys: System, ifname: string, address: string, timeoutMs: number): Promise<void> {
  const until = sys.now() + timeoutMs;
  while (sys.now() < until) {
    const r = await sys.run("ip", ["-6", "addr", "show", "dev", ifname, "scope", "global", "-tentative"]);
    if (r.stdout.includes(`${address}/`)) return;
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new StepError("coredns", `${address} did not appear on ${ifname} within ${timeoutMs / 1000} s`);
}

/** Services whose reload is idempotent and costs no state: re-run at every agent start. */
const CHEAP: Service[] = ["sysctl", "firewall", "hostname", "offloads"];

async function joolLive(sys: System): Promise<boolean> {
  return (await sys.run("jool", ["instance", "display", "--csv", "--no-headers"])).stdout.includes(JOOL_INSTANCE);
}

async function livePool6(sys: System): Promise<string | null> {
  const g = await sys.run("jool", ["-i", JOOL_INSTANCE, "global", "display", "--csv"]);
  return /^pool6,(.*)$/m.exec(g.stdout)?.[1]?.trim() ?? null;
}

/**
 * Puts `next` into effect where it differs from `prev`. With `boot`, prev is what an earlier run
 * of the agent left (null after a reboot): the cheap services are applied regardless, and a Jool
 * instance or CoreDNS that should run but does not is started even when its files match.
 */
export async function install(
  sys: System,
  config: Config,
  dir: string,
  prev: RenderedFiles | null,
  next: RenderedFiles,
  opts: { boot?: boolean; force?: Service[] } = {},
): Promise<Service[]> {
  const changed = changedServices(prev, next);
  for (const s of opts.force ?? []) changed.add(s);
  if (opts.boot) {
    for (const s of CHEAP) changed.add(s);
    if (!changed.has("jool") && next["jool/nat64.json"] !== undefined && !(await joolLive(sys))) changed.add("jool");
    if (!changed.has("coredns") && (await sys.run("systemctl", ["is-active", "--quiet", "coredns.service"])).code !== 0)
      changed.add("coredns");
  }
  const done: Service[] = [];
  const path = (rel: string) => join(dir, rel);

  if (changed.has("sysctl")) {
    for (const [k, v] of sysctlEntries(next["sysctl.d/90-gate64.conf"] ?? ""))
      await must(sys, "sysctl", "sysctl", ["-q", "-w", `${k}=${v}`]);
    done.push("sysctl");
  }
  if (changed.has("hostname")) {
    await must(sys, "hostname", "hostname", [(next.hostname ?? "gate64").trim()]);
    done.push("hostname");
  }
  if (changed.has("firewall")) {
    await must(sys, "firewall", "nft", ["-f", path("nftables/gate64.nft")]);
    done.push("firewall");
  }
  if (changed.has("network")) {
    const ours = new Set(
      Object.keys(next)
        .filter((k) => k.startsWith("network/"))
        .map((k) => k.slice("network/".length)),
    );
    for (const name of await sys.list(PATHS.networkdDir))
      if (name.startsWith("gate64-") && !ours.has(name.slice("gate64-".length))) await sys.remove(join(PATHS.networkdDir, name));
    for (const name of ours) await sys.writeFileAtomic(join(PATHS.networkdDir, `gate64-${name}`), next[`network/${name}`] ?? "");
    await must(sys, "network", "networkctl", ["reload"]);
    await must(sys, "network", "networkctl", ["reconfigure", config.interfaces.lan.name, config.interfaces.wan.name]).catch(
      () => undefined,
    );
    done.push("network");
  }
  if (changed.has("jool")) {
    await must(sys, "jool", "modprobe", ["jool"]);
    // Recreated (every session lost) only when pool6 differs from the live instance's.
    if ((await joolLive(sys)) && (pool6Of(prev) ?? (await livePool6(sys))) !== pool6Of(next))
      await must(sys, "jool", "jool", ["instance", "remove", JOOL_INSTANCE]);
    await must(sys, "jool", "jool", ["file", "handle", path("jool/nat64.json")]);
    done.push("jool");
  }
  if (changed.has("offloads")) {
    const plan = JSON.parse(next["offloads.json"] ?? "{}") as OffloadPlan;
    for (const [dev, features] of Object.entries(plan)) {
      const args = Object.entries(features).flat();
      // Drivers without a feature refuse it; what they do not have cannot break translation.
      await sys.run("ethtool", ["-K", dev, ...args]);
    }
    done.push("offloads");
  }
  if (changed.has("coredns")) {
    // CoreDNS binds the LAN address: it must exist (DAD done) before CoreDNS starts.
    const lanHost = /^Address=([^/\n]+)\//m.exec(next[`network/20-${config.interfaces.lan.name}.network`] ?? "")?.[1];
    if (lanHost !== undefined) await waitForAddress(sys, config.interfaces.lan.name, lanHost, 30_000);
    await must(sys, "coredns", "systemctl", ["restart", "coredns.service"], 60_000);
    done.push("coredns");
  }
  return done;
}
