// npm run bench -- dns64 [--seconds N]
// dnsperf against the box's CoreDNS (Corefile from the agent's renderer) and, in the same run
// with the same upstream (NSD, rate limiting off) and query lists, against Unbound's dns64
// module. Servers are pinned to CPU 1, dnsperf and NSD to CPU 0. One JSON object per line.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { parseArgs } from "node:util";
import { validateConfig } from "../../agent/src/config/validate.js";
import { resolve } from "../../agent/src/render/context.js";
import { renderCorefile } from "../../agent/src/render/corefile.js";
import { answersOfType, dig } from "../lab/dig.js";
import { type Daemon, Namespace, waitFor } from "../lab/netns.js";
import { writeNsdConf } from "../lab/nsd.js";

const COREDNS_ADDR = "2001:db8:64::1";
const UNBOUND_ADDR = "2001:db8:64::2";
const CLIENT_ADDR = "2001:db8:64::100";
const TICKS = 100; // USER_HZ

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface Result {
  qps: number;
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
  lost: number;
  completed: number;
  cpuSeconds: number;
}

function dnsperf(ns: Namespace, server: string, file: string, seconds: number, daemon: Daemon): Result {
  const pid = daemon.child.pid as number;
  const cpu0 = cpuSeconds(pid);
  // -v prints one line per answer with its latency; the load generator pays for that, not the server.
  const outFile = `${file}.out`;
  ns.exec("sh", [
    "-c",
    `taskset -c 0 dnsperf -f inet6 -s ${server} -a ${CLIENT_ADDR} -d ${file} -l ${seconds} -c 8 -q 200 -t 2 -v > ${outFile}`,
  ]);
  const out = readFileSync(outFile, "utf8");
  const cpu = cpuSeconds(pid) - cpu0;
  const latencies = out
    .split("\n")
    .filter((l) => l.startsWith("> "))
    .map((l) => Number(l.trim().split(/\s+/).pop()) * 1000)
    .filter((n) => Number.isFinite(n))
    .sort((a, b) => a - b);
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);
  const completed = num(/Queries completed:\s+(\d+)/);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    lost: num(/Queries lost:\s+(\d+)/),
    completed,
    cpuSeconds: cpu,
  };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { seconds: { type: "string", default: "10" } } });
  const seconds = Number(values.seconds);
  const coredns = resolvePath("out/coredns/amd64/coredns");
  const dir = mkdtempSync(join(tmpdir(), "gate64-bench-dns64-"));
  const ns = Namespace.create("bdns");
  try {
    // The host kernel has no dummy module: the servers' and the client's addresses sit on lo.
    for (const a of [COREDNS_ADDR, UNBOUND_ADDR, CLIENT_ADDR]) ns.ip("addr", "add", `${a}/128`, "dev", "lo", "nodad");

    writeFileSync(
      join(dir, "bench.zone"),
      "$ORIGIN bench.test.\n$TTL 3600\n@ SOA ns hostmaster 1 3600 600 86400 3600\n@ NS ns\nns A 11.22.33.1\n* A 11.22.33.44\n",
    );
    const nsdConf = writeNsdConf(dir, { address: "127.0.0.1", port: 5300 }, [{ name: "bench.test", file: "bench.zone" }]);
    writeFileSync(
      join(dir, "unbound.conf"),
      `server:\n  interface: ${UNBOUND_ADDR}\n  port: 53\n  do-daemonize: no\n  username: ""\n  chroot: ""\n  directory: "${dir}"\n  pidfile: ""\n  use-syslog: no\n  verbosity: 0\n  num-threads: 1\n  access-control: 2001:db8:64::/64 allow\n  module-config: "dns64 iterator"\n  dns64-prefix: 64:ff9b::/96\n  do-not-query-localhost: no\n  qname-minimisation: no\n  cache-max-ttl: 3600\n  msg-cache-size: 64m\n  rrset-cache-size: 128m\n  local-zone: "test." nodefault\n  domain-insecure: "bench.test"\nforward-zone:\n  name: "bench.test"\n  forward-addr: 127.0.0.1@5300\n`,
    );
    const v = validateConfig({
      interfaces: {
        lan: { name: "lan", ipv6: { address: `${COREDNS_ADDR}/64` } },
        wan: { name: "wan", ipv4: { mode: "static", address: "198.51.100.2/24", gateway: "198.51.100.1" } },
      },
      dns64: { upstreams: ["127.0.0.1:5300"] },
    });
    assert.ok(v.ok);
    writeFileSync(join(dir, "Corefile"), renderCorefile(resolve(v.config, { deviceId: "bench" })));

    ns.spawn("taskset", ["-c", "0", "nsd", "-d", "-c", nsdConf]);
    const servers: Record<string, { addr: string; daemon: Daemon }> = {
      "gate64-coredns": { addr: COREDNS_ADDR, daemon: ns.spawn("taskset", ["-c", "1", coredns, "-conf", join(dir, "Corefile"), "-quiet"]) },
      "unbound-dns64": { addr: UNBOUND_ADDR, daemon: ns.spawn("taskset", ["-c", "1", "unbound", "-d", "-c", join(dir, "unbound.conf")]) },
    };
    for (const [name, s] of Object.entries(servers))
      await waitFor(
        `${name} answering`,
        () => answersOfType(dig(ns, s.addr, "probe.bench.test", "AAAA"), "AAAA").includes("64:ff9b::b16:212c"),
        20_000,
      );

    const cachedFile = join(dir, "cached.txt");
    writeFileSync(cachedFile, Array.from({ length: 1000 }, (_, i) => `c${i}.bench.test AAAA`).join("\n"));
    const results: Record<string, Record<string, Result>> = {};
    for (const [name, s] of Object.entries(servers)) {
      // Warm the cache with every name once, then measure.
      ns.exec("dnsperf", ["-f", "inet6", "-s", s.addr, "-a", CLIENT_ADDR, "-d", cachedFile, "-n", "1"]);
      const uncachedFile = join(dir, `uncached-${name}.txt`);
      writeFileSync(uncachedFile, Array.from({ length: 600_000 }, (_, i) => `u${i}-${name}.bench.test AAAA`).join("\n"));
      results[name] = {
        cached: dnsperf(ns, s.addr, cachedFile, seconds, s.daemon),
        uncached: dnsperf(ns, s.addr, uncachedFile, seconds, s.daemon),
      };
      for (const [mode, r] of Object.entries(results[name] ?? {}))
        console.log(
          JSON.stringify({
            bench: "dns64",
            server: name,
            mode,
            qps: Math.round(r.qps),
            avgMs: +r.avgMs.toFixed(3),
            p50Ms: +r.p50Ms.toFixed(3),
            p99Ms: +r.p99Ms.toFixed(3),
            completed: r.completed,
            lost: r.lost,
            serverCpuSeconds: +r.cpuSeconds.toFixed(2),
            queriesPerCpuSecond: Math.round(r.completed / r.cpuSeconds),
          }),
        );
    }
    for (const mode of ["cached", "uncached"]) {
      const g = results["gate64-coredns"]?.[mode] as Result;
      const u = results["unbound-dns64"]?.[mode] as Result;
      console.log(
        JSON.stringify({
          bench: "dns64",
          ratio: "gate64/unbound",
          mode,
          qps: +(g.qps / u.qps).toFixed(2),
          p50Latency: +(g.p50Ms / u.p50Ms).toFixed(2),
          p99Latency: +(g.p99Ms / u.p99Ms).toFixed(2),
          queriesPerCpuSecond: +(g.completed / g.cpuSeconds / (u.completed / u.cpuSeconds)).toFixed(2),
        }),
      );
    }
  } finally {
    await ns.destroy();
  }
}
