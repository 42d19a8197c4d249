// npm run bench -- agent [--board x86-64] [--rounds 5] [--idle-sec 120] [--node-options="--max-semi-space-size=1"]
// In the lab VM: the agent's idle RSS next to a bare Node process's on the same runtime, the CPU
// an idle box uses per minute (every service, the agent, CoreDNS), CPU per health cycle, the
// CLI's start (`gate64 status` against bare `node -e 0`), time from apply to verified commit with
// the agent's own per-step breakdown, and time to detect and revert a config that breaks
// translation (bounded below by health.applyVerifySec). With --node-options, the agent is then
// restarted with those V8/Node options (a drop-in under /run, gone at the next boot) and its idle
// RSS measured again, next to the first figure. One JSON object per line.
import { parseArgs } from "node:util";
import type { SerialConsole } from "../lab/console.js";
import { Lab } from "../lab/lab.js";
import { report, summary } from "./report.js";

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      board: { type: "string", default: "x86-64" },
      image: { type: "string" },
      cycles: { type: "string", default: "20" },
      rounds: { type: "string", default: "5" },
      "idle-sec": { type: "string", default: "120" },
      "node-options": { type: "string" },
    },
  });
  const board = values.board;
  const lab = new Lab({
    image: values.image ?? `out/${board}/disk.img`,
    board,
    serial: "file",
    configOverrides: { health: { intervalSec: 30, applyVerifySec: 20 } },
  });
  try {
    await lab.start();
    await lab.waitForHealthy();
    const con = await lab.console();
    await con.run("sleep 20"); // let the agent settle after boot
    await measureAgent(con, {
      board,
      rounds: Number(values.rounds),
      cycles: Number(values.cycles),
      idleSec: Number(values["idle-sec"]),
      revert: true,
    });
    const options = values["node-options"];
    if (options !== undefined) {
      const shipped = await idleRssKiB(con);
      const dropin = "/run/systemd/system/gate64-agent.service.d";
      await con.run(`mkdir -p ${dropin} && printf '[Service]\nEnvironment="NODE_OPTIONS=%s"\n' '${options}' > ${dropin}/bench.conf`);
      const since = Date.now();
      await con.run("systemctl daemon-reload && systemctl restart gate64-agent", 300_000);
      await lab.waitForHealthy(since);
      await con.run("sleep 20");
      const flagged = await idleRssKiB(con);
      report({
        bench: "agent",
        nodeOptions: options,
        shippedRssMiB: mib(shipped),
        withOptionsRssMiB: mib(flagged),
        ratio: +(flagged / shipped).toFixed(2),
      });
    }
    con.close();
  } finally {
    await lab.stop();
  }
}

const mib = (kib: number) => +(kib / 1024).toFixed(1);

/** The running agent's resident set, KiB (its PID asked for unless known: a restart changes it). */
async function idleRssKiB(con: SerialConsole, known?: number): Promise<number> {
  const pid = known ?? Number(await con.lastLine("systemctl show -p MainPID --value gate64-agent"));
  return Number(await con.lastLine(`ps -o rss= -p ${pid}`));
}

/**
 * The cgroups whose CPU an idle box's figure gives: every service, and gate64's two. (Not the root
 * cgroup's: the kernel counts that one at the tick, which under TCG misses most short runs.)
 */
const IDLE_CGROUPS = {
  services: "/sys/fs/cgroup/system.slice",
  agent: "/sys/fs/cgroup/system.slice/gate64-agent.service",
  coredns: "/sys/fs/cgroup/system.slice/coredns.service",
};

/** The idle figures: each cgroup's, and the agent's Node process alone (the rest of `agent` is its children). */
type IdleCpu = Record<keyof typeof IDLE_CGROUPS | "agentNode", number>;

/**
 * CPU per minute while the box idles (its health rounds and CoreDNS's timers, no traffic and no
 * CLI), from each cgroup's usage_usec over one window timed on the box, and from the scheduler's
 * time of each of the agent's threads (the `schedstat` of each task of its PID, ns). The agent's
 * cgroup includes the probes' processes, the services' the console's shell (a sleep); under TCG
 * a vCPU's time includes its waits for the host thread.
 */
async function idleCpu(con: SerialConsole, seconds: number, pid: number): Promise<IdleCpu> {
  const dirs = Object.values(IDLE_CGROUPS).join(" ");
  const node = `n=0; for t in /proc/${pid}/task/*/schedstat; do read -r x _ < $t; n=$(( n + x / 1000 )); done; echo $n`;
  const read = `for c in ${dirs}; do read -r _ u < $c/cpu.stat; echo $u; done; ${node}`;
  // One number a line: a long line would wrap at the console's width.
  const out = await con.run(
    `a=$(${read}); s=$(date +%s%N); sleep ${seconds}; b=$(${read}); echo "$a"; echo "$b"; echo $(( $(date +%s%N) - s ))`,
    (seconds + 60) * 1000,
  );
  const keys = [...Object.keys(IDLE_CGROUPS), "agentNode"];
  const n = keys.length;
  const xs = out.output
    .trim()
    .split("\n")
    .slice(-(2 * n + 1))
    .map(Number);
  const minutes = (xs[2 * n] ?? Number.NaN) / 60e9;
  const perMin = (i: number) => Math.round(((xs[n + i] ?? Number.NaN) - (xs[i] ?? Number.NaN)) / 1000 / minutes);
  return Object.fromEntries(keys.map((k, i) => [k, perMin(i)])) as IdleCpu;
}

/**
 * The figures, on a booted box's console (the lab e2e test smoke-runs this with one round). The
 * configuration changes it makes are to the DNS64 cache TTL; with `revert`, also one that breaks
 * translation (health.applyVerifySec should be 20 s, as the bench sets it).
 */
export async function measureAgent(
  con: SerialConsole,
  opts: { board: string; rounds: number; cycles: number; idleSec: number; revert: boolean },
): Promise<void> {
  const { board, rounds } = opts;
  const num = async (cmd: string) => Number(await con.lastLine(cmd));
  const pid = await num("systemctl show -p MainPID --value gate64-agent");
  // Alternating rounds: the agent's RSS, then a new bare Node's 15 s after its start. One bare
  // sample is not enough: it came out 2 MiB apart between runs, the agent's the same. The bare
  // one runs in a subshell, so that the console's shell prints no job notice into the next
  // command's output.
  const agentKiB: number[] = [];
  const bareKiB: number[] = [];
  for (let i = 0; i < rounds; i++) {
    agentKiB.push(await idleRssKiB(con, pid));
    bareKiB.push(await num("(node -e 'setInterval(() => {}, 1e6)' & p=$!; sleep 15; ps -o rss= -p $p; kill $p)"));
  }
  report({
    bench: "agent",
    rounds,
    agentIdleRssMiB: summary(agentKiB.map(mib), 1),
    bareNodeIdleRssMiB: summary(bareKiB.map(mib), 1),
    ratio: summary(agentKiB.map((a, i) => a / (bareKiB[i] as number))),
  });

  report({ bench: "agent", idleSec: opts.idleSec, idleCpuMsPerMin: await idleCpu(con, opts.idleSec, pid) });

  const cycles = opts.cycles;
  // utime + stime in clock ticks (fields 14 and 15); the image has no awk.
  const ticks = async () => num(`read -r -a f < /proc/${pid}/stat; echo $(( f[13] + f[14] ))`);
  const before = await ticks();
  const t0 = Date.now();
  await con.run(`for i in $(seq ${cycles}); do gate64 health --json >/dev/null; done`, 600_000);
  const wall = (Date.now() - t0) / 1000;
  const cpu = ((await ticks()) - before) / 100;
  report({
    bench: "agent",
    healthCycles: cycles,
    agentCpuMsPerCycle: Math.round((cpu / cycles) * 1000),
    wallMsPerCycleIncludingCli: Math.round((wall / cycles) * 1000),
  });

  const timed = async (cmd: string) => {
    const line = await con.lastLine(
      `s=$(date +%s%N); ${cmd} >/dev/null 2>&1; rc=$?; echo $(( ($(date +%s%N) - s) / 1000000 )) $rc`,
      300_000,
    );
    const [ms, rc] = line.split(" ").map(Number);
    return { ms: ms ?? Number.NaN, rc: rc ?? -1 };
  };
  // The CLI a person types into: bare Node's start and `gate64 status`, alternating.
  const bare: number[] = [];
  const status: number[] = [];
  for (let i = 0; i < rounds; i++) {
    bare.push((await timed("node -e 0")).ms);
    status.push((await timed("gate64 status")).ms);
  }
  report({ bench: "agent", board, rounds, bareNodeStartMs: summary(bare, 0), statusMs: summary(status, 0) });

  // Apply: one service (CoreDNS) changes each round; the agent times its own steps.
  const total: number[] = [];
  const inAgent: number[] = [];
  const steps: Record<string, number[]> = {};
  const since = (await con.lastLine("date +%s")).trim();
  for (let i = 0; i < rounds; i++) {
    const r = await timed(`{ gate64 config set dns64.cache.maxTtlSec ${i % 2 === 0 ? 1200 : 600} --json >/tmp/apply.json; }`);
    total.push(r.ms);
    // One "ms step" line per step: a JSON line would wrap at the console's width.
    const listed = await con.run(
      `node -e 'for (const s of JSON.parse(require("fs").readFileSync("/tmp/apply.json", "utf8")).steps) console.log(s.ms, s.step)'`,
    );
    let sum = 0;
    for (const m of listed.output.matchAll(/^(\d+) (.+)$/gm)) {
      const step = (m[2] ?? "").trim();
      steps[step] ??= [];
      steps[step]?.push(Number(m[1]));
      sum += Number(m[1]);
    }
    inAgent.push(sum);
    if (r.rc !== 0) total[total.length - 1] = Number.NaN;
    process.stderr.write(`apply round ${i + 1}: ${r.ms} ms, ${sum} ms of them in the agent's steps\n`);
  }
  // Why a slow round was slow: the journal of the rounds (the agent logs each verification
  // round that failed), on the VM's monotonic clock.
  const journal = await con.run(`journalctl --since @${since} -o short-monotonic --no-pager | cut -c1-200`, 120_000);
  for (const line of journal.output.split("\n").filter((l) => /^\[\s*\d+\.\d+\]/.test(l))) process.stderr.write(`journal: ${line}\n`);
  report({
    bench: "agent",
    board,
    rounds,
    applyToVerifiedCommitMs: summary(total, 0),
    inTheAgentMs: summary(inAgent, 0),
    cliAndSocketMs: summary(
      total.map((t, i) => t - (inAgent[i] ?? 0)),
      0,
    ),
    // No steps read back is a failed measurement (null), not an apply that took no time.
    steps: Object.keys(steps).length > 0 ? Object.fromEntries(Object.entries(steps).map(([k, xs]) => [k, summary(xs, 0)])) : null,
  });
  if (opts.revert) {
    const bad = await timed(`gate64 config set dns64.upstreams '["198.51.100.99"]'`);
    report({ bench: "agent", detectAndRevertMs: bad.ms, applyVerifySec: 20, exit: bad.rc });
  }
}
