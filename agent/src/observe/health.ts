// Health probes. Each result is computed now from the live system (no sticky state) and says
// which condition failed.
import { randomBytes } from "node:crypto";
import { Resolver } from "node:dns/promises";
import { z } from "zod";
import { pool4Capacity } from "../config/capacity.js";
import type { Config } from "../config/schema.js";
import { addressReady, IF_INET6 } from "../lib/if-inet6.js";
import { contains, type Prefix, parsePrefix } from "../lib/ip.js";
import type { Resolved } from "../render/context.js";
import { COREDNS_METRICS, COREDNS_READY, loadedId, renderCorefile, UPLINK_RESOLV_CONF } from "../render/corefile.js";
import { JOOL_INSTANCE } from "../render/jool.js";
import { renderOffloads } from "../render/offloads.js";
import { renderSteering } from "../render/steering.js";
import type { System } from "../system/system.js";
import { DATA_IN_MEMORY, dataMount } from "./data-mount.js";
import { globalIPv4 } from "./facts.js";
import { httpGet } from "./http.js";
import { joolInstanceLoaded, joolPool6, joolTables } from "./jool.js";
import { servedCorefileId } from "./metrics.js";
import { ensureProbeNamespace, PROBE_NS, translatedTarget } from "./probe-ns.js";
import { steeringDrift } from "./steering.js";

const ProbeStatusSchema = z.enum(["ok", "degraded", "failed"]);

/** A health report: what `gate64 health` prints and the fleet's health topic carries. */
export const HealthSchema = z.strictObject({
  status: ProbeStatusSchema,
  checkedAt: z.string().max(40),
  probes: z.array(z.strictObject({ name: z.string(), status: ProbeStatusSchema, detail: z.string(), durationMs: z.number() })),
});
export type HealthReport = z.infer<typeof HealthSchema>;
export type ProbeResult = HealthReport["probes"][number];
export type ProbeStatus = z.infer<typeof ProbeStatusSchema>;

type Probe = { name: string; critical: boolean; run: () => Promise<string> };

/** ethtool -K short names -> the names ethtool -k prints, where they differ. */
const ETHTOOL_NAMES: Record<string, string> = {
  gro: "generic-receive-offload",
  gso: "generic-segmentation-offload",
  tso: "tcp-segmentation-offload",
};

const IPV4_SERVER = /^\d+\.\d+\.\d+\.\d+(:\d+)?$/;

/**
 * How old an address reading the `wan-ipv4` probe takes: the WAN follower's of the same health
 * cycle, a moment before. A round on its own (the CLI's), or an apply's verification more than a
 * moment after its facts were read, reads anew.
 */
const ROUND_READING_MS = 2_000;

/** "nameserver" lines of a resolv.conf that are IPv4 addresses, as "IPv4:53". */
export function resolvConfTargets(text: string): string[] {
  return [...text.matchAll(/^nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => `${m[1]}:53`);
}

/**
 * Without configured targets, the IPv4 upstream resolvers on TCP port 53 are probed: the
 * configured ones, or those the WAN learned by DHCP (a translated flow that always has a target
 * while DNS works at all).
 */
async function upstreamTargets(sys: System, c: Config): Promise<string[]> {
  if (c.dns64.upstreams === "dhcp") return resolvConfTargets((await sys.readFile(UPLINK_RESOLV_CONF)) ?? "");
  return c.dns64.upstreams.filter((u) => IPV4_SERVER.test(u)).map((u) => (u.includes(":") ? u : `${u}:53`));
}

export function probes(sys: System, r: Resolved): Probe[] {
  const c: Config = r.config;
  const list: Probe[] = [];
  // The jool and pool4 probes of one round share one `jool instance display`: a process fewer per
  // round, and at boot each process costs about 0.1 s of the two vCPUs everything else wants.
  let loaded: Promise<boolean> | undefined;
  const instanceLoaded = () => (loaded ??= joolInstanceLoaded(sys, 0));
  if (c.nat64.enabled)
    list.push({
      name: "jool",
      critical: true,
      run: async () => {
        if (!(await instanceLoaded())) throw new Error(`instance "${JOOL_INSTANCE}" is not loaded`);
        const pool6 = await joolPool6(sys);
        if (pool6 !== c.nat64.pool6) throw new Error(`pool6 is ${pool6 ?? "unset"}, config says ${c.nat64.pool6}`);
        return `instance ${JOOL_INSTANCE} up, pool6 ${pool6}`;
      },
    });
  if (c.nat64.enabled)
    list.push({
      name: "nat64",
      critical: true,
      run: async () => {
        const targets = c.health.nat64Targets.length > 0 ? c.health.nat64Targets : await upstreamTargets(sys, c);
        if (targets.length === 0)
          throw new Error(`nothing to probe: no health.nat64Targets and no IPv4 resolver learned on ${c.interfaces.wan.name}`);
        await ensureProbeNamespace(sys);
        const tried: string[] = [];
        for (const t of targets) {
          const [addr, port] = translatedTarget(c.nat64.pool6, t);
          // `ip netns exec` execs bash in its own place, so the run's timeout ends the connect.
          const r = await sys.run("ip", ["netns", "exec", PROBE_NS, "bash", "-c", `exec 3<>/dev/tcp/${addr}/${port}`], {
            timeoutMs: 5000,
          });
          if (r.code === 0) return `TCP to ${t} through [${addr}]:${port} connected`;
          tried.push(t);
        }
        throw new Error(`no TCP connection through NAT64 to ${tried.join(", ")}`);
      },
    });
  list.push({
    name: "lan-address",
    critical: true,
    run: async () => {
      if (!addressReady((await sys.readFile(IF_INET6)) ?? "", c.interfaces.lan.name, r.lanHost))
        throw new Error(`${r.lanHost} is not on ${c.interfaces.lan.name}, or duplicate address detection has not passed`);
      return `${r.lanAddress} on ${c.interfaces.lan.name}`;
    },
  });
  if (c.dns64.enabled) {
    // Ready, and running the Corefile in effect: a reload that failed leaves the old one running.
    const corefile = loadedId(renderCorefile(r));
    list.push({
      name: "coredns",
      critical: true,
      run: async () => {
        const ready = await httpGet(`http://${COREDNS_READY}/ready`, 2000);
        if (ready.status !== 200) throw new Error(`/ready answered ${ready.status}`);
        const running = servedCorefileId((await httpGet(`http://${COREDNS_METRICS}/metrics`, 2000)).body);
        if (running !== corefile)
          throw new Error(`runs Corefile ${running ?? "(unknown)"}, not ${corefile} (a reload failed or is under way)`);
        return `ready, Corefile ${corefile}`;
      },
    });
    list.push({
      name: "dns64",
      critical: true,
      run: async () => {
        const resolver = new Resolver({ timeout: 2000, tries: 2 });
        resolver.setServers([r.lanHost]);
        const addrs = await resolver.resolve6(c.health.dnsProbeName);
        const prefix = parsePrefix(r.dns64Prefix) as Prefix;
        const inPrefix = addrs.filter((a) => contains(prefix, parsePrefix(a) as Prefix));
        if (inPrefix.length === 0)
          throw new Error(`${c.health.dnsProbeName} gave ${addrs.join(", ") || "nothing"}, none in ${r.dns64Prefix}`);
        return `${c.health.dnsProbeName} -> ${inPrefix[0]}`;
      },
    });
  }
  if (c.dns64.enabled)
    list.push({
      name: "upstream-dns",
      critical: true,
      run: async () => {
        // A fresh name each time so no cache answers: any reply (NXDOMAIN, REFUSED) proves an
        // upstream answered; SERVFAIL or a timeout means none did.
        const name = `probe-${randomBytes(4).toString("hex")}.ipv4only.arpa`;
        const resolver = new Resolver({ timeout: 3000, tries: 1 });
        resolver.setServers([r.lanHost]);
        try {
          await resolver.resolve4(name);
          return "upstream answered";
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? "";
          if (["ENOTFOUND", "EREFUSED", "ENODATA"].includes(code)) return `upstream answered (${code})`;
          throw new Error(`no upstream answered through CoreDNS (${code})`);
        }
      },
    });
  if (c.nat64.enabled)
    list.push({
      name: "pool4",
      critical: false,
      run: async () => {
        if (!(await instanceLoaded())) throw new Error(`instance "${JOOL_INSTANCE}" is not loaded`);
        const parts: string[] = [];
        let worst = 0;
        const tables = await joolTables(sys, c.health.intervalSec * 1000);
        for (const cap of pool4Capacity(c)) {
          const used = tables[cap.protocol]?.bib ?? 0;
          const share = cap.mappings === 0 ? 0 : used / cap.mappings;
          worst = Math.max(worst, share);
          parts.push(`${cap.protocol} ${used}/${cap.mappings}`);
        }
        // Past 80 % new flows are close to being dropped silently: say so before it happens.
        if (worst >= 0.8) throw new Error(`BIB at ${(worst * 100).toFixed(0)} % of pool4: ${parts.join(", ")}`);
        return parts.join(", ");
      },
    });
  const offloads = Object.entries(renderOffloads(r));
  const steering = renderSteering(r);
  if (offloads.length > 0 || Object.keys(steering).length > 0)
    list.push({
      name: "offloads",
      critical: false,
      run: async () => {
        const wrong: string[] = [];
        for (const [dev, features] of offloads) {
          const k = (await sys.run("ethtool", ["-k", dev])).stdout;
          for (const [feature, want] of Object.entries(features)) {
            const name = ETHTOOL_NAMES[feature] ?? feature;
            const [, state, fixed] = new RegExp(`^${name}: (on|off)( \\[fixed\\])?`, "m").exec(k) ?? [];
            // A driver without the feature, or with it fixed, leaves nothing to set.
            if (state !== undefined && fixed === undefined && state !== want) wrong.push(`${dev} ${feature} ${state} (want ${want})`);
          }
        }
        wrong.push(...(await steeringDrift(sys, steering)));
        if (wrong.length > 0) throw new Error(`not as configured: ${wrong.join(", ")}`);
        const list = (f: Record<string, string>) =>
          Object.entries(f)
            .map(([feature, want]) => `${feature} ${want}`)
            .join(", ");
        const parts = offloads.map(([dev, f]) => `${dev}: ${list(f)}`);
        if (Object.keys(steering).length > 0) parts.push("receive work spread over the CPUs");
        return parts.join("; ");
      },
    });
  list.push({ name: "data", critical: false, run: () => dataProbe(sys) });
  // Critical where pool4 uses the WAN's address: without one, translation is paused (render/jool.ts).
  const pool4OnWan = c.nat64.enabled && c.nat64.pool4.some((e) => e.prefix === "wan");
  list.push({
    name: "wan-ipv4",
    critical: pool4OnWan,
    run: async () => {
      // The WAN follower read the addresses at the start of the round (health-loop.ts).
      const addr = (await globalIPv4(sys, ROUND_READING_MS)).get(c.interfaces.wan.name)?.[0];
      if (addr === undefined)
        throw new Error(`no IPv4 address on ${c.interfaces.wan.name}${pool4OnWan ? ': NAT64 waits for one (pool4 uses "wan")' : ""}`);
      if (pool4OnWan && r.wanIPv4 !== undefined && addr.split("/")[0] !== r.wanIPv4)
        throw new Error(`${c.interfaces.wan.name} has ${addr} but pool4 still uses ${r.wanIPv4}`);
      return addr;
    },
  });
  return list;
}

/** The data probe: the partition, or why /data will not keep what is written to it. */
async function dataProbe(sys: System): Promise<string> {
  const m = await dataMount(sys);
  if (m === null) throw new Error("/data is not mounted");
  if (m.inMemory) throw new Error(`${DATA_IN_MEMORY}, so nothing written now outlives the next boot`);
  return `${m.fstype} on ${m.source}`;
}

/** Runs the probes (only those named in `only`, when given) at once. */
export async function checkHealth(sys: System, r: Resolved, only?: ReadonlySet<string> | null): Promise<HealthReport> {
  const results = await Promise.all(
    probes(sys, r)
      .filter((p) => !only || only.has(p.name))
      .map(async (p): Promise<ProbeResult & { critical: boolean }> => {
        const t0 = sys.now();
        try {
          const detail = await p.run();
          return { name: p.name, status: "ok", detail, durationMs: sys.now() - t0, critical: p.critical };
        } catch (err) {
          return {
            name: p.name,
            status: p.critical ? "failed" : "degraded",
            detail: (err as Error).message,
            durationMs: sys.now() - t0,
            critical: p.critical,
          };
        }
      }),
  );
  const status: ProbeStatus = results.some((x) => x.status === "failed")
    ? "failed"
    : results.some((x) => x.status !== "ok")
      ? "degraded"
      : "ok";
  return { status, checkedAt: new Date(sys.now()).toISOString(), probes: results.map(({ critical: _c, ...rest }) => rest) };
}
