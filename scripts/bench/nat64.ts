// npm run bench -- nat64 [--rounds N] [--seconds N] [--conn-seconds N]
// In the lab, side by side in one VM: NAT64 as shipped (the translator's guard ahead of Jool,
// its packets exempt from conntrack), NAT64 with the guard's prerouting chain flushed, NAT64 with
// conntrack tracking its packets (the exemption's chain flushed), NAT64 with every NIC interrupt
// on CPU 0 and RPS off (the kernel's placement, against `nat64.steering`'s), and plain IPv4
// routing through the same box (a temporary IPv4 subnet on the LAN for this run only). Offloads
// and steering as shipped unless the path says otherwise. Per
// path: TCP throughput, new TCP connections per second (with each connection's latency and the
// vCPUs' time per 1,000 connections), 64-byte UDP packets per second. Rounds
// alternate the order of the paths; ratios are taken within a round, then the median and the
// spread (min-max) over rounds are printed. One JSON object per line.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { SerialConsole } from "../lab/console.js";
import { Lab } from "../lab/lab.js";
import { cpuSeconds } from "./cputime.js";
import { report, summary } from "./report.js";

const V4_LAN = { box: "10.99.0.1", client: "10.99.0.2", prefix: 24, net: "10.99.0.0/24" };
const PATHS = ["guarded", "unguarded", "tracked", "unsteered", "ipv4"] as const;
type Path = (typeof PATHS)[number];
type Percentiles = { p50: number; p90: number; p99: number; max: number };
type Figures = {
  tcpMbps: number;
  newTcpConnPerSec: number;
  udp64PacketsPerSec: number;
  connFailures: number;
  /**
   * The host CPU time of the VM's vCPU threads per 1,000 new connections, in ms: what a connection
   * costs the box, whether or not its round trips bound the rate.
   */
  vcpuMsPer1000Conn: number;
  /** Each new connection's time to connect and to its answer's first byte, in ms: the rate is bound by them. */
  connectMs: Percentiles;
  answerMs: Percentiles;
};
const FIGURES = ["tcpMbps", "newTcpConnPerSec", "udp64PacketsPerSec", "vcpuMsPer1000Conn"] as const;

/** CPU time (ms) of QEMU's vCPU threads so far: "CPU n/TCG", or "ALL CPUs/TCG" with one thread. */
function vcpuMs(lab: Lab): number {
  if (lab.qemu?.pid === undefined) throw new Error("nat64 bench: the lab's QEMU is not running");
  const tasks = `/proc/${lab.qemu.pid}/task`;
  const vcpus = readdirSync(tasks).filter((t) =>
    readFileSync(join(tasks, t, "comm"), "utf8")
      .trim()
      .endsWith("/TCG"),
  );
  if (vcpus.length === 0) throw new Error(`nat64 bench: no vCPU threads (named "…/TCG") under ${tasks}`);
  return 1000 * vcpus.reduce((sum, t) => sum + cpuSeconds(join(tasks, t, "stat")), 0);
}

type ConnRate = { connections: number; perSecond: number; failures: number; connectMs: Percentiles; answerMs: Percentiles };

/** `connrate.mjs` from the lab's client: WORKERS loops of connect, one HTTP request, close, for SECS. */
export function connRate(lab: Lab, target: string, secs: string, workers: string): ConnRate {
  return JSON.parse(
    lab.client.exec(process.execPath, [resolve(import.meta.dirname, "connrate.mjs"), target, "80", secs, workers]),
  ) as ConnRate;
}

function measure(lab: Lab, path: Path, secs: string, connSecs: string): Figures {
  const target = path === "ipv4" ? lab.spec.internet.iperf : `64:ff9b::${lab.spec.internet.iperf}`;
  const fam = path === "ipv4" ? "-4" : "-6";
  // iperf3 -J reports a failure as {"error": ...} and no "end" figures: named, not a TypeError.
  const iperf = <T>(kind: string, args: string[]) => {
    const out = JSON.parse(lab.client.exec("iperf3", [fam, "-c", target, "--connect-timeout", "5000", ...args, "-t", secs, "-J"])) as {
      end?: T;
      error?: string;
    };
    if (out.end === undefined || out.error !== undefined) throw new Error(`nat64 bench: ${path} ${kind}: ${out.error ?? "no result"}`);
    return out.end;
  };
  const tcp = iperf<{ sum_received: { bits_per_second: number } }>("TCP", []);
  const udp = iperf<{ sum: { packets: number; lost_packets: number; seconds: number } }>("UDP", ["-u", "-l", "64", "-b", "0"]);
  const vcpu0 = vcpuMs(lab);
  const conn = connRate(lab, target, connSecs, "16");
  const vcpu = vcpuMs(lab) - vcpu0;
  const figures = {
    tcpMbps: +(tcp.sum_received.bits_per_second / 1e6).toFixed(1),
    newTcpConnPerSec: conn.perSecond,
    udp64PacketsPerSec: Math.round((udp.sum.packets - udp.sum.lost_packets) / udp.sum.seconds),
    connFailures: conn.failures,
    vcpuMsPer1000Conn: Math.round((vcpu * 1000) / conn.connections),
    connectMs: conn.connectMs,
    answerMs: conn.answerMs,
  };
  for (const f of FIGURES)
    if (!Number.isFinite(figures[f]) || figures[f] <= 0) throw new Error(`nat64 bench: ${path} ${f} is ${figures[f]}, not a rate`);
  return figures;
}

/** The ruleset as shipped, less the chain a path leaves out. */
const FLUSHED: Partial<Record<Path, string>> = { unguarded: "prerouting", tracked: "translator_notrack" };

async function setRuleset(con: SerialConsole, path: Path): Promise<void> {
  await con.run("nft -f /data/gate64/render/current/nftables/gate64.nft");
  const chain = FLUSHED[path];
  if (chain !== undefined) await con.run(`nft flush chain inet gate64 ${chain}`);
}

/** The NICs' interrupt and RPS files, as `nat64.steering` set them: "path value" lines. */
async function steeringFiles(con: SerialConsole): Promise<string[]> {
  const files =
    "/sys/class/net/lan/queues/rx-*/rps_cpus /sys/class/net/wan/queues/rx-*/rps_cpus " +
    "$(for n in lan wan; do for i in $(ls /sys/class/net/$n/device/../msi_irqs); do echo /proc/irq/$i/smp_affinity_list; done; done)";
  const out = (await con.run(`for f in ${files}; do echo "$f $(cat $f)"; done`)).output;
  return out.split("\n").filter((l) => /^\/\S+ \S+$/.test(l.trim()));
}

/**
 * Static keys that would flip during the rounds. Flipping one rewrites kernel text while the other
 * vCPU may run it, and multi-threaded TCG can execute the stale breakpoint: two runs here panicked
 * in the receive path during traffic (at the jump label in `netif_receive_skb_list_internal`, and
 * with an overflowed exception stack). So for the run:
 * - RPS on the loopback: the "unsteered" path's empty masks then leave `rps_needed` on (an empty
 *   mask costs one pointer test per packet);
 * - timesyncd stopped: its sockets ask for receive timestamps, so its first open and last close
 *   turn `netstamp_needed_key` on and off (every 10-30 s while the lab's NTP server did not
 *   answer: each unanswered attempt opened and closed one).
 * Both undone in the `finally` below, while the shipped masks hold the RPS key.
 */
const HOLD_KEYS = "echo 1 > /sys/class/net/lo/queues/rx-0/rps_cpus; systemctl stop systemd-timesyncd";
const RELEASE_KEYS = "echo 0 > /sys/class/net/lo/queues/rx-0/rps_cpus; systemctl start systemd-timesyncd";

/** The "unsteered" path: every NIC interrupt on CPU 0, RPS off (the kernel's placement); else as shipped. */
async function setSteering(con: SerialConsole, path: Path, shipped: readonly string[]): Promise<void> {
  const lines = path === "unsteered" ? shipped.map((l) => `${l.split(" ")[0]} 0`) : shipped;
  await con.run(lines.map((l) => `echo ${l.split(" ")[1]} > ${l.split(" ")[0]}`).join("; "));
}

/**
 * The rounds on a booted lab box, the ratios printed. The IPv4 subnet and routes it adds for the
 * routed path are removed again, and the ruleset and steering left as shipped: the lab e2e test
 * smoke-runs it on its own box (short settings) and goes on.
 */
export async function measureNat64(
  lab: Lab,
  con: SerialConsole,
  opts: { rounds: number; seconds: string; connSeconds: string },
): Promise<void> {
  const { rounds } = opts;
  // The WAN's address now, not the lab's first lease: a test before may have renumbered it.
  const wanAddr = /inet (\d+\.\d+\.\d+\.\d+)\//.exec((await con.run("ip -4 -o addr show dev wan scope global")).output)?.[1];
  if (wanAddr === undefined) throw new Error("nat64 bench: the box's WAN has no IPv4 address");
  // Plain IPv4 routing for comparison: an IPv4 subnet on the LAN, forwarded by the same kernel.
  await con.run(`ip addr add ${V4_LAN.box}/${V4_LAN.prefix} dev lan`);
  // Routed IPv4 flows are tracked by conntrack (NAT64 flows are exempt, but not on the
  // "tracked" path); at a few hundred new connections/s the default table (sized by RAM) fills
  // with TIME_WAIT entries and drops SYNs. Room for the test:
  await con.run("sysctl -q -w net.netfilter.nf_conntrack_max=262144");
  lab.client.ip("addr", "add", `${V4_LAN.client}/${V4_LAN.prefix}`, "dev", "eth0");
  lab.client.ip("route", "add", "default", "via", V4_LAN.box);
  lab.internet.ip("route", "add", V4_LAN.net, "via", wanAddr);
  const shipped = await steeringFiles(con);
  const perRound: Record<Path, Figures>[] = [];
  let full: string;
  try {
    if (shipped.length === 0) throw new Error("nat64 bench: no interrupt or RPS files found for lan and wan");
    report({ bench: "nat64", steering: Object.fromEntries(shipped.map((l) => l.split(" "))) });
    await con.run(HOLD_KEYS);
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? PATHS : [...PATHS].reverse();
      const got = {} as Record<Path, Figures>;
      for (const path of order) {
        await setRuleset(con, path);
        await setSteering(con, path, shipped);
        got[path] = measure(lab, path, opts.seconds, opts.connSeconds);
        report({ bench: "nat64", round: i + 1, path, ...got[path] });
      }
      perRound.push(got);
    }
    full = await con.lastLine("dmesg | grep -c 'table full' || true");
  } finally {
    await setRuleset(con, "guarded");
    await setSteering(con, "guarded", shipped);
    await con.run(RELEASE_KEYS);
    lab.internet.ip("route", "del", V4_LAN.net, "via", wanAddr);
    lab.client.ip("route", "del", "default", "via", V4_LAN.box);
    lab.client.ip("addr", "del", `${V4_LAN.client}/${V4_LAN.prefix}`, "dev", "eth0");
    await con.run(`ip addr del ${V4_LAN.box}/${V4_LAN.prefix} dev lan`);
  }

  for (const path of PATHS) {
    const of = (pick: (f: Figures) => number) =>
      summary(
        perRound.map((r) => pick(r[path])),
        1,
      );
    report({
      bench: "nat64",
      path,
      rounds,
      ...Object.fromEntries(FIGURES.map((f) => [f, of((r) => r[f])])),
      connectP50Ms: of((r) => r.connectMs.p50),
      answerP50Ms: of((r) => r.answerMs.p50),
    });
  }
  const ratio = (name: string, a: Path, b: Path, reference?: Record<string, number>) => {
    const out = Object.fromEntries(FIGURES.map((f) => [f, summary(perRound.map((r) => r[a][f] / r[b][f]))]));
    report({ bench: "nat64", ratio: name, rounds, ...out, ...(reference ? { reference } : {}) });
  };
  ratio("guarded/unguarded", "guarded", "unguarded");
  ratio("guarded/tracked", "guarded", "tracked");
  ratio("guarded/unsteered", "guarded", "unsteered");
  ratio("guarded/ipv4", "guarded", "ipv4", { tcpMbps: 0.89, newTcpConnPerSec: 0.7, udp64PacketsPerSec: 0.69 });
  report({ bench: "nat64", conntrackTableFullMessages: Number(full) });
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      rounds: { type: "string", default: "5" },
      seconds: { type: "string", default: "5" },
      "conn-seconds": { type: "string", default: "10" },
      image: { type: "string", default: "out/x86-64/disk.img" },
    },
  });
  // One host thread per vCPU, as a box has cores: the figures are the VM's throughput.
  const lab = new Lab({ image: values.image, serial: "file", tcgThreads: "multi" });
  try {
    await lab.start();
    await lab.waitForHealthy();
    const con = await lab.console();
    try {
      await measureNat64(lab, con, { rounds: Number(values.rounds), seconds: values.seconds, connSeconds: values["conn-seconds"] });
    } finally {
      con.close();
    }
  } finally {
    await lab.stop();
  }
}
