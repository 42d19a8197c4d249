// What putting a render into effect takes, as data: a pure plan(prev, next) -> steps, tested as
// data (test/unit/plan.test.ts); execute.ts carries the steps out. An empty plan means the box
// already runs what was rendered.
import type { RenderedFiles } from "../render/index.js";

export type Service = "network" | "sysctl" | "firewall" | "hostname" | "jool" | "offloads" | "coredns";

/**
 * One service to reload. `when`: "changed" runs it; "if-down" only if the running system lacks it
 * (a Jool instance, a CoreDNS; networkd's files, which it read from /data when it started; the
 * ruleset, unless gate64-datapath.service loaded the same file at this boot).
 * Jool's `recreate`: its pool6 changed, so the instance is removed first (every session lost);
 * "if-pool6-differs" asks the live instance, when the previous render is unknown. CoreDNS's
 * `reload`: a running CoreDNS reads its new Corefile in place (SIGUSR1: tens of milliseconds,
 * where a restart takes most of a second under TCG); a repair restarts it.
 */
export type Step =
  | { service: Exclude<Service, "jool" | "coredns">; when: "changed" | "if-down" }
  | { service: "jool"; when: "changed" | "if-down"; recreate: boolean | "if-pool6-differs"; purge?: Pool4Purge[] }
  | { service: "coredns"; when: "changed" | "if-down"; reload: boolean };

/** Execution order: kernel settings and the firewall before interfaces, CoreDNS last (it binds the LAN address). */
export const ORDER: readonly Service[] = ["sysctl", "hostname", "firewall", "network", "jool", "offloads", "coredns"];

const SERVICE_OF: [prefix: string, service: Service][] = [
  ["network/", "network"],
  ["sysctl.d/", "sysctl"],
  ["nftables/", "firewall"],
  ["hostname", "hostname"],
  ["jool/", "jool"],
  ["offloads.json", "offloads"],
  ["steering.json", "offloads"],
  ["coredns/", "coredns"],
];

/**
 * Services whose reload is idempotent and costs no state: re-run at every agent start. The
 * firewall's only if the kernel may not hold its file ("if-down"): gate64-datapath.service loads
 * the kept ruleset before the agent, and `nft -f` takes 0.2-0.6 s of a TCG boot.
 */
const CHEAP: readonly Service[] = ["sysctl", "hostname", "offloads"];

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

const JOOL = "jool/nat64.json";
const pool6Of = (text: string) => (JSON.parse(text) as { global: { pool6: string } }).global.pool6;

/** A pool4 prefix that leaves, per protocol: `jool pool4 remove` without --quick drops its BIB entries. */
export interface Pool4Purge {
  protocol: "tcp" | "udp" | "icmp";
  prefix: string;
}

type Pool4Entry = { protocol: string; prefix: string };
const pool4Of = (text: string) => (JSON.parse(text) as { pool4?: Pool4Entry[] }).pool4 ?? [];

/**
 * pool4 prefixes of the previous render that the next one leaves out (the WAN renumbered). Jool's
 * atomic configuration keeps the BIB: without a purge, a LAN client's transport address that has
 * an entry on the gone address goes on being translated to it, and its new connections fail until
 * the entry's sessions time out (2 hours for an established TCP session).
 */
function leavingPool4(prev: RenderedFiles | null, next: RenderedFiles): Pool4Purge[] {
  const before = prev?.[JOOL];
  const after = next[JOOL];
  if (before === undefined || after === undefined || before === after) return [];
  const purge = (e: Pool4Entry): Pool4Purge => ({ protocol: e.protocol.toLowerCase() as Pool4Purge["protocol"], prefix: e.prefix });
  const key = (e: Pool4Purge) => `${e.protocol} ${e.prefix}`;
  const kept = new Set(pool4Of(after).map(purge).map(key));
  // One purge per protocol and prefix, however many pool4 entries (port ranges) it had.
  const gone = new Map(
    pool4Of(before)
      .map(purge)
      .map((p) => [key(p), p] as const),
  );
  return [...gone].filter(([k]) => !kept.has(k)).map(([, p]) => p);
}

/** Whether Jool's instance must be recreated: asked only for a Jool step, parsed only when its file changed. */
function recreateJool(prev: RenderedFiles | null, next: RenderedFiles): boolean | "if-pool6-differs" {
  const before = prev?.[JOOL];
  if (before === undefined) return "if-pool6-differs";
  const after = next[JOOL] as string;
  return before !== after && pool6Of(before) !== pool6Of(after);
}

export interface PlanOptions {
  /**
   * Agent start: prev is what was last put into effect (kept on /data; null when nothing was).
   * The cheap services run regardless; the firewall, Jool and CoreDNS, when their files did not
   * change, only if they are down; the network only if networkd's files differ.
   */
  boot?: boolean;
  /** Reloaded whatever the files say (repairs). */
  force?: readonly Service[];
}

export function plan(prev: RenderedFiles | null, next: RenderedFiles, opts: PlanOptions = {}): Step[] {
  const changed = changedServices(prev, next);
  for (const s of opts.force ?? []) changed.add(s);
  if (opts.boot) for (const s of CHEAP) changed.add(s);
  const steps: Step[] = [];
  for (const service of ORDER) {
    let when: Step["when"] | null = changed.has(service) ? "changed" : null;
    if (opts.boot && when === null && (service === "jool" || service === "coredns" || service === "firewall")) when = "if-down";
    // networkd read the .network files kept on /data when it started, whatever the files last put
    // into effect say: reconfiguring the links again would drop the WAN's DHCP lease, whose
    // address the boot's render has just used (pool4).
    if (opts.boot && service === "network") when = "if-down";
    if (when === null) continue;
    if (service === "jool") {
      if (next[JOOL] !== undefined) {
        const purge = leavingPool4(prev, next);
        const recreate = opts.force?.includes("jool") ? "if-pool6-differs" : recreateJool(prev, next);
        steps.push({ service, when, recreate, ...(purge.length > 0 ? { purge } : {}) });
      }
    } else if (service === "coredns") steps.push({ service, when, reload: !opts.force?.includes("coredns") });
    else steps.push({ service, when });
  }
  return steps;
}

/**
 * What a reload of each service can break, by health probe name. Network, firewall and sysctl
 * changes can break any of them (addresses, filtering, forwarding): they are left out, which means
 * every probe.
 */
const BREAKS: Partial<Record<Service, readonly string[]>> = {
  coredns: ["coredns", "dns64", "upstream-dns"],
  jool: ["jool", "pool4"],
  offloads: ["offloads"],
  hostname: [],
};

/**
 * The probes that verify an apply which reloaded `services`: what they can break, and always the
 * NAT64 probe (a translated TCP connection). null: every probe.
 */
export function probesToVerify(services: readonly Service[]): ReadonlySet<string> | null {
  const only = new Set(["nat64"]);
  for (const s of services) {
    const breaks = BREAKS[s];
    if (breaks === undefined) return null;
    for (const p of breaks) only.add(p);
  }
  return only;
}

/**
 * The probe that says a reloaded service serves its new files (CoreDNS: /ready, and the id of the
 * Corefile it runs; two HTTP requests): an apply polls it every 50 ms before it runs the probes
 * that test what the service does, which would fail and wait out longer rounds while the service
 * (re)starts.
 */
const READY: Partial<Record<Service, string>> = { coredns: "coredns" };

/** The readiness probes of the services an apply reloaded. */
export function readinessProbes(services: readonly Service[]): ReadonlySet<string> {
  return new Set(services.flatMap((s) => (READY[s] === undefined ? [] : [READY[s]])));
}

/** Health probes whose failure a service's reload repairs (a removed Jool instance, a dead CoreDNS). */
const REPAIRS: Record<string, Service> = { jool: "jool", offloads: "offloads", coredns: "coredns", dns64: "coredns" };

/** The failed probes that a reload can repair (an unreachable upstream is not one). */
export function repairable(failedProbes: readonly string[]): string[] {
  return failedProbes.filter((p) => REPAIRS[p] !== undefined);
}

/** The steps that put back what failed probes found broken, for the running render. */
export function repairSteps(failedProbes: readonly string[], files: RenderedFiles): Step[] {
  const force = [...new Set(repairable(failedProbes).map((p) => REPAIRS[p] as Service))];
  return force.length === 0 ? [] : plan(files, files, { force });
}
