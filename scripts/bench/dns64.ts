// npm run bench -- dns64 [--seconds N] [--rounds N] [--rate QPS]
// dnsperf against three servers with the same upstream (NSD, rate limiting off): the box's
// CoreDNS (Corefile from the agent's renderer, AAAA queries for A-only names: every answer is
// synthesized), the same CoreDNS binary with a plain cache + forward and A queries (the ceiling
// CoreDNS itself sets), and Unbound's dns64 module (AAAA). Servers are pinned to CPU 1, dnsperf
// and NSD to CPU 0. Throughput runs without dnsperf's -v (a line per answer makes the load
// generator the bottleneck); latency percentiles come from a separate run at a fixed rate. Rounds
// alternate the order of the servers; ratios are taken within a round, then the median and the
// spread (min-max) over rounds are printed. One JSON object per line.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { parseArgs } from "node:util";
import { validateConfig } from "../../agent/src/config/validate.js";
import { resolve } from "../../agent/src/render/context.js";
import { renderCorefile } from "../../agent/src/render/corefile.js";
import { answersOfType, dig } from "../lab/dig.js";
import { type Daemon, Namespace, waitFor } from "../lab/netns.js";
import { writeNsdConf } from "../lab/nsd.js";
import { cpuSeconds } from "./cputime.js";
import { report, summary } from "./report.js";

const CLIENT_ADDR = "2001:db8:64::100";
const MODES = ["cached", "uncached"] as const;
type Mode = (typeof MODES)[number];

interface Server {
  name: string;
  addr: string;
  qtype: "A" | "AAAA";
  /** What a probe.bench.test query of qtype answers once the server is up. */
  expect: string;
  daemon?: Daemon;
}

const SERVERS: Server[] = [
  { name: "gate64-coredns", addr: "2001:db8:64::1", qtype: "AAAA", expect: "64:ff9b::b16:212c" },
  { name: "plain-coredns", addr: "2001:db8:64::3", qtype: "A", expect: "11.22.33.44" },
  { name: "unbound-dns64", addr: "2001:db8:64::2", qtype: "AAAA", expect: "64:ff9b::b16:212c" },
];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface Throughput {
  qps: number;
  completed: number;
  lost: number;
  cpuSeconds: number;
  perCpuSecond: number;
}

function dnsperf(ns: Namespace, s: Server, file: string, extra: string): string {
  const out = `${file}.out`;
  ns.exec("sh", ["-c", `taskset -c 0 dnsperf -f inet6 -s ${s.addr} -a ${CLIENT_ADDR} -d ${file} ${extra} > ${out}`]);
  return readFileSync(out, "utf8");
}

const num = (out: string, re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);

function throughput(ns: Namespace, s: Server, file: string, seconds: number): Throughput {
  const pid = s.daemon?.child.pid as number;
  const cpu0 = cpuSeconds(`/proc/${pid}/stat`);
  const out = dnsperf(ns, s, file, `-l ${seconds} -c 8 -q 200 -t 2`);
  const cpu = cpuSeconds(`/proc/${pid}/stat`) - cpu0;
  const completed = num(out, /Queries completed:\s+(\d+)/);
  return {
    qps: Math.round(num(out, /Queries per second:\s+([\d.]+)/)),
    completed,
    lost: num(out, /Queries lost:\s+(\d+)/),
    cpuSeconds: +cpu.toFixed(2),
    perCpuSecond: Math.round(completed / cpu),
  };
}

/** Latency at a fixed rate every server sustains, from dnsperf -v's line per answer. */
function latency(ns: Namespace, s: Server, file: string, rate: number): { p50Ms: number; p99Ms: number; lost: number } {
  const out = dnsperf(ns, s, file, `-l 5 -Q ${rate} -c 4 -t 2 -v`);
  const ms = out
    .split("\n")
    .filter((l) => l.startsWith("> "))
    .map((l) => Number(l.trim().split(/\s+/).pop()) * 1000)
    .filter((n) => Number.isFinite(n))
    .sort((a, b) => a - b);
  return { p50Ms: +percentile(ms, 50).toFixed(3), p99Ms: +percentile(ms, 99).toFixed(3), lost: num(out, /Queries lost:\s+(\d+)/) };
}

function configs(dir: string): { gate64: string; plain: string; unbound: string } {
  const v = validateConfig({
    interfaces: {
      lan: { name: "lan", ipv6: { address: `${SERVERS[0]?.addr}/64` } },
      wan: { name: "wan", ipv4: { mode: "static", address: "198.51.100.2/24", gateway: "198.51.100.1" } },
    },
    dns64: { upstreams: ["127.0.0.1:5300"] },
  });
  assert.ok(v.ok);
  const gate64 = join(dir, "Corefile");
  writeFileSync(gate64, renderCorefile(resolve(v.config, { deviceId: "bench" })));
  const plain = join(dir, "Corefile.plain");
  writeFileSync(
    plain,
    `.:53 {\n    bind ${SERVERS[1]?.addr}\n    cache 3600 {\n        success 9984\n        denial 9984\n    }\n    forward . 127.0.0.1:5300 {\n        max_concurrent 1000\n    }\n}\n`,
  );
  const unbound = join(dir, "unbound.conf");
  writeFileSync(
    unbound,
    `server:\n  interface: ${SERVERS[2]?.addr}\n  port: 53\n  do-daemonize: no\n  username: ""\n  chroot: ""\n  directory: "${dir}"\n  pidfile: ""\n  use-syslog: no\n  verbosity: 0\n  num-threads: 1\n  access-control: 2001:db8:64::/64 allow\n  module-config: "dns64 iterator"\n  dns64-prefix: 64:ff9b::/96\n  do-not-query-localhost: no\n  qname-minimisation: no\n  cache-max-ttl: 3600\n  msg-cache-size: 64m\n  rrset-cache-size: 128m\n  local-zone: "test." nodefault\n  domain-insecure: "bench.test"\nforward-zone:\n  name: "bench.test"\n  forward-addr: 127.0.0.1@5300\n`,
  );
  return { gate64, plain, unbound };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string", default: "10" },
      rounds: { type: "string", default: "3" },
      rate: { type: "string", default: "2000" },
    },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const coredns = resolvePath("out/coredns/amd64/coredns");
  const dir = mkdtempSync(join(tmpdir(), "gate64-bench-dns64-"));
  const ns = Namespace.create("bdns");
  try {
    // The host kernel has no dummy module: the servers' and the client's addresses sit on lo.
    for (const a of [...SERVERS.map((s) => s.addr), CLIENT_ADDR]) ns.ip("addr", "add", `${a}/128`, "dev", "lo", "nodad");
    writeFileSync(
      join(dir, "bench.zone"),
      "$ORIGIN bench.test.\n$TTL 3600\n@ SOA ns hostmaster 1 3600 600 86400 3600\n@ NS ns\nns A 11.22.33.1\n* A 11.22.33.44\n",
    );
    const nsdConf = writeNsdConf(dir, { address: "127.0.0.1", port: 5300 }, [{ name: "bench.test", file: "bench.zone" }]);
    const conf = configs(dir);
    ns.spawn("taskset", ["-c", "0", "nsd", "-d", "-c", nsdConf]);
    const [gate64, plain, unbound] = SERVERS as [Server, Server, Server];
    gate64.daemon = ns.spawn("taskset", ["-c", "1", coredns, "-conf", conf.gate64, "-quiet"]);
    plain.daemon = ns.spawn("taskset", ["-c", "1", coredns, "-conf", conf.plain, "-quiet"]);
    unbound.daemon = ns.spawn("taskset", ["-c", "1", "unbound", "-d", "-c", conf.unbound]);
    for (const s of SERVERS)
      await waitFor(
        `${s.name} answering`,
        () => answersOfType(dig(ns, s.addr, "probe.bench.test", s.qtype), s.qtype).includes(s.expect),
        20_000,
      );

    const cachedFile = (s: Server) => join(dir, `cached-${s.name}.txt`);
    let fresh = 0;
    /** Names no server has seen: every query of the run goes upstream. */
    const uncachedFile = (s: Server) => {
      const f = join(dir, `uncached-${s.name}-${fresh++}.txt`);
      writeFileSync(f, Array.from({ length: 600_000 }, (_, i) => `u${i}-${fresh}-${s.name}.bench.test ${s.qtype}`).join("\n"));
      return f;
    };
    for (const s of SERVERS) {
      writeFileSync(cachedFile(s), Array.from({ length: 1000 }, (_, i) => `c${i}.bench.test ${s.qtype}`).join("\n"));
      // Warm the cache with every name once.
      dnsperf(ns, s, cachedFile(s), "-n 1");
    }

    const perRound: Record<string, Record<Mode, Throughput>>[] = [];
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? SERVERS : [...SERVERS].reverse();
      const got: Record<string, Record<Mode, Throughput>> = {};
      for (const s of order) {
        got[s.name] = { cached: throughput(ns, s, cachedFile(s), seconds), uncached: throughput(ns, s, uncachedFile(s), seconds) };
        for (const mode of MODES) report({ bench: "dns64", round: i + 1, server: s.name, mode, ...got[s.name]?.[mode] });
      }
      perRound.push(got);
    }
    for (const s of SERVERS)
      for (const mode of MODES) {
        const at = (f: keyof Throughput) =>
          summary(
            perRound.map((r) => r[s.name]?.[mode][f] as number),
            0,
          );
        report({ bench: "dns64", server: s.name, mode, rounds, qps: at("qps"), perCpuSecond: at("perCpuSecond"), lost: at("lost") });
      }
    const ratio = (name: string, a: Server, b: Server, mode: Mode) => {
      const xs = (f: "qps" | "perCpuSecond") => perRound.map((r) => (r[a.name]?.[mode][f] as number) / (r[b.name]?.[mode][f] as number));
      report({ bench: "dns64", ratio: name, mode, rounds, perCpuSecond: summary(xs("perCpuSecond")), qps: summary(xs("qps")) });
    };
    for (const mode of MODES) {
      ratio("gate64/plain-coredns", gate64, plain, mode);
      ratio("gate64/unbound", gate64, unbound, mode);
    }
    for (const s of SERVERS)
      for (const mode of MODES) {
        const file = mode === "cached" ? cachedFile(s) : uncachedFile(s);
        report({ bench: "dns64", latency: `${values.rate} qps`, server: s.name, mode, ...latency(ns, s, file, Number(values.rate)) });
      }
  } finally {
    await ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
