// npm run bench -- fleet [--agents 10000] [--shards 2] [--rounds 3] [--steady 60] [--sim-node-options="--cpu-prof"]
// A loopback mosquitto and N simulated boxes (the real agent code on the in-memory system, in
// --shards processes). Measures: connect time, rollout to 100 % verified reports per device and
// per group (--rounds of each, alternating; their median and spread), a command to every box
// (round trip p50/p99), lost and duplicated reports and responses, broker CPU and memory per
// device, simulator memory per agent, and broker bytes per device per minute at steady state. One JSON object per line (docs/benchmarks.md).
// --sim-node-options: Node flags for the simulator's processes (a profile of the shards). Each
// rollout line gives the CPU the shards, the broker and this operator spent on it.
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Operator, OperatorConfigSchema } from "../../agent/src/fleet/operator.js";
import { parseMessage, ReportedSchema, ResponseSchema } from "../../agent/src/fleet/protocol.js";
import { SIM_BASE_CONFIG } from "../../agent/src/fleet/sim.js";
import { type Broker, simBroker } from "../lab/broker.js";
import { report, summary } from "./report.js";

const print = (o: Record<string, unknown>) => report({ bench: "fleet", ...o });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime+stime (clock ticks) and RSS (KiB) of a process we started. */
function usage(pid: number): { ticks: number; rssKiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { ticks: Number(f[11]) + Number(f[12]), rssKiB: Number(rss?.[1] ?? 0) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      agents: { type: "string", default: "10000" },
      shards: { type: "string", default: "2" },
      rounds: { type: "string", default: "3" },
      steady: { type: "string", default: "60" },
      "sim-node-options": { type: "string", default: "" },
    },
  });
  const n = Number(values.agents);
  const dir = mkdtempSync(join(tmpdir(), "gate64-bench-fleet-"));
  let broker: Broker | null = null;
  let sim: ChildProcess | null = null;
  let op: Operator | null = null;
  try {
    const started = await simBroker(dir);
    broker = started.broker;
    const bpid = started.broker.pid as number;
    const idle = usage(bpid);
    op = await Operator.connect(OperatorConfigSchema.parse(JSON.parse(readFileSync(started.fleetFile, "utf8"))));
    const o = op;

    // Connect: from starting the simulator to every box's retained "ready".
    const ready = new Set<string>();
    const stopReady = o.onRaw((t, p) => {
      if (t.endsWith("/availability") && p.toString() === "ready") ready.add(t.split("/")[1] as string);
    });
    await o.client.subscribeAsync("gate64/+/availability", { qos: 1 });
    const t0 = Date.now();
    const child = fork(
      resolve(import.meta.dirname, "../fleet-sim.ts"),
      ["--agents", String(n), "--shards", values.shards as string, "--url", started.broker.url, "--groups", "fleet", "--quiet"],
      {
        execArgv: ["--import", "tsx", ...(values["sim-node-options"] as string).split(" ").filter((f) => f !== "")],
        stdio: ["ignore", "ignore", "inherit", "ipc"],
      },
    );
    sim = child;
    // Each shard sends its pid when its boxes have started (the simulator relays its forks'); the
    // process tree is no guide: tsx gives every Node process an esbuild child.
    const shardPids = new Set<number>();
    child.on("message", (m: { pid?: number }) => {
      if (m.pid !== undefined) shardPids.add(m.pid);
    });
    while (ready.size < n || shardPids.size < Number(values.shards)) {
      if (Date.now() - t0 > 20 * 60_000)
        throw new Error(`only ${ready.size}/${n} boxes ready, ${shardPids.size} shard(s) started, after 20 min`);
      await sleep(200);
    }
    const connectMs = Date.now() - t0;
    stopReady();
    await o.client.unsubscribeAsync("gate64/+/availability");
    const connected = usage(bpid);
    print({ phase: "connect", agents: n, shards: Number(values.shards), connectAllMs: connectMs });

    const ids = [...ready].sort();
    /** CPU milliseconds so far of each side (clock ticks are 10 ms; process.cpuUsage() is in us). */
    const cpuMs = () => {
      const own = process.cpuUsage();
      return {
        shards: [...shardPids].reduce((a, pid) => a + usage(pid).ticks, 0) * 10,
        broker: usage(bpid).ticks * 10,
        operator: Math.round((own.user + own.system) / 1000),
      };
    };
    const reports = async (label: string, revision: number, publish: () => Promise<void>): Promise<number> => {
      const seen = new Map<string, number>();
      let bad = 0;
      const stop = o.onRaw((t, p) => {
        if (!t.endsWith("/reported") || p.length === 0) return;
        const r = parseMessage(ReportedSchema, p);
        if (!r.ok || r.value.desiredRevision !== revision) return;
        if (r.value.status !== "applied") bad++;
        seen.set(t, (seen.get(t) ?? 0) + 1);
      });
      const cpu0 = cpuMs();
      const start = Date.now();
      await publish();
      const published = Date.now() - start;
      while (seen.size < n && Date.now() - start < 10 * 60_000) await sleep(50);
      const ms = Date.now() - start;
      const cpu1 = cpuMs();
      await sleep(2000); // late duplicates would show here
      stop();
      const duplicated = [...seen.values()].reduce((a, c) => a + c - 1, 0);
      print({
        phase: label,
        agents: n,
        publishMs: published,
        toAllVerifiedMs: ms,
        // CPU of each side from publishing to the last report: with both cores saturated, the
        // rollout takes the sum over two.
        cpuMs: { shards: cpu1.shards - cpu0.shards, broker: cpu1.broker - cpu0.broker, operator: cpu1.operator - cpu0.operator },
        verified: seen.size - bad,
        notApplied: bad,
        lost: n - seen.size,
        duplicated,
      });
      return ms;
    };
    // Each round applies a new config (the upstream alternates), per device and then per group.
    const config = (u: string) => ({ ...SIM_BASE_CONFIG, dns64: { upstreams: [u] } });
    const times = { perDevice: [] as number[], group: [] as number[] };
    // The operator watches the reports through all rounds, as a dashboard does: the broker's
    // replay of every box's retained report comes once, here, and not inside a rollout's window
    // (10,000 stale reports each time the operator subscribed again).
    let lastReport = Date.now();
    const stopWatch = o.onRaw((t) => {
      if (t.endsWith("/reported")) lastReport = Date.now();
    });
    await o.client.subscribeAsync("gate64/+/reported", { qos: 1 });
    while (Date.now() - lastReport < 1000) await sleep(100);
    let revision = Date.now();
    for (let round = 0; round < Number(values.rounds); round++) {
      const r1 = ++revision;
      times.perDevice.push(
        await reports("rollout-per-device", r1, async () => {
          await Promise.all(ids.map((d) => o.setDesired({ device: d }, config("198.51.100.60"), { revision: r1 })));
        }),
      );
      const r2 = ++revision;
      times.group.push(
        await reports("rollout-group", r2, async () => {
          await o.setDesired({ group: "fleet" }, config("198.51.100.61"), { revision: r2 });
        }),
      );
    }
    stopWatch();
    await o.client.unsubscribeAsync("gate64/+/reported");
    print({
      phase: "rollouts",
      agents: n,
      rounds: times.group.length,
      perDeviceToAllVerifiedMs: summary(times.perDevice, 0),
      groupToAllVerifiedMs: summary(times.group, 0),
    });

    // A command to every box at once; each answer on this operator's response topic.
    const rtts: number[] = [];
    const answers = new Map<string, number>();
    const sent = new Map<string, number>();
    const stopResp = o.onRaw((t, p) => {
      if (!t.includes("/responses/")) return;
      const r = parseMessage(ResponseSchema, p);
      if (!r.ok) return;
      answers.set(r.value.id, (answers.get(r.value.id) ?? 0) + 1);
      const at = sent.get(r.value.id);
      if (at !== undefined && answers.get(r.value.id) === 1) rtts.push(Date.now() - at);
    });
    const c0 = Date.now();
    await Promise.all(
      ids.map(async (d, i) => {
        const id = `bench-${i}`;
        sent.set(id, Date.now());
        const body = { id, name: "ping", deadline: Date.now() + 60_000 };
        await o.publish(o.t.commands(d), JSON.stringify(body), {
          properties: { responseTopic: o.responseTopic(d), correlationData: Buffer.from(id) },
        });
      }),
    );
    while (answers.size < n && Date.now() - c0 < 120_000) await sleep(50);
    const cmdMs = Date.now() - c0;
    await sleep(2000);
    stopResp();
    rtts.sort((a, b) => a - b);
    print({
      phase: "command-to-all",
      agents: n,
      allAnsweredMs: cmdMs,
      rttP50Ms: percentile(rtts, 50),
      rttP99Ms: percentile(rtts, 99),
      lost: n - answers.size,
      duplicated: [...answers.values()].reduce((a, c) => a + c - 1, 0),
    });

    // Steady state: telemetry every 30 s from every box, nothing else.
    const sys = new Map<string, number>();
    const stopSys = o.onRaw((t, p) => {
      if (t.startsWith("$SYS/broker/bytes/")) sys.set(t, Number(p.toString()));
    });
    await o.client.subscribeAsync(["$SYS/broker/bytes/received", "$SYS/broker/bytes/sent"], { qos: 0 });
    await sleep(2500);
    const b0 = { in: sys.get("$SYS/broker/bytes/received") ?? 0, out: sys.get("$SYS/broker/bytes/sent") ?? 0 };
    const u0 = usage(bpid);
    const steady = Number(values.steady);
    await sleep(steady * 1000);
    const u1 = usage(bpid);
    await sleep(1500);
    const b1 = { in: sys.get("$SYS/broker/bytes/received") ?? 0, out: sys.get("$SYS/broker/bytes/sent") ?? 0 };
    stopSys();
    const perMin = (bytes: number) => Math.round(bytes / n / (steady / 60));
    const shardRss = [...shardPids].reduce((a, pid) => a + usage(pid).rssKiB, 0);
    print({
      phase: "steady",
      agents: n,
      windowSec: steady,
      brokerCpuPercentOfOneCore: +((100 * (u1.ticks - u0.ticks)) / 100 / steady).toFixed(2),
      // clock ticks are 10 ms (USER_HZ 100)
      brokerCpuMsPerDevicePerMin: +(((u1.ticks - u0.ticks) * 10) / n / (steady / 60)).toFixed(4),
      brokerRssMiB: +(u1.rssKiB / 1024).toFixed(1),
      brokerKiBPerDevice: +((connected.rssKiB - idle.rssKiB) / n).toFixed(2),
      brokerBytesInPerDevicePerMin: perMin(b1.in - b0.in),
      brokerBytesOutPerDevicePerMin: perMin(b1.out - b0.out),
      simulatorKiBPerAgent: +(shardRss / n).toFixed(1),
    });
  } finally {
    await op?.close().catch(() => undefined);
    if (sim && sim.exitCode === null) {
      sim.kill("SIGTERM");
      await new Promise((r) => sim?.once("exit", r));
    }
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
