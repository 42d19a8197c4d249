// npm run bench -- agent
// In the lab VM: the agent's idle RSS next to a bare Node process's on the same runtime, CPU
// per health cycle, time from apply to verified commit, and time to detect and revert a config
// that breaks translation (bounded below by health.applyVerifySec). One JSON object per line.
import { parseArgs } from "node:util";
import { Lab } from "../lab/lab.js";
import { report } from "./report.js";

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { image: { type: "string", default: "out/x86-64/disk.img" }, cycles: { type: "string", default: "20" } },
  });
  const lab = new Lab({ image: values.image, serial: "file", configOverrides: { health: { intervalSec: 30, applyVerifySec: 20 } } });
  try {
    await lab.start();
    await lab.waitForHealth("ok", 300);
    const con = await lab.console();
    const num = async (cmd: string) => Number((await con.run(cmd)).output.trim().split("\n").pop());
    await con.run("sleep 20"); // let the agent settle after boot
    const pid = await num("systemctl show -p MainPID --value gate64-agent");
    const agentKiB = await num(`ps -o rss= -p ${pid}`);
    const bareKiB = await num("node -e 'setInterval(() => {}, 1e6)' & sleep 15; ps -o rss= -p $!; kill $!");
    report({
      bench: "agent",
      agentIdleRssMiB: +(agentKiB / 1024).toFixed(1),
      bareNodeIdleRssMiB: +(bareKiB / 1024).toFixed(1),
      ratio: +(agentKiB / bareKiB).toFixed(2),
    });

    const cycles = Number(values.cycles);
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
      const r = await con.run(`s=$(date +%s%N); ${cmd} >/dev/null 2>&1; rc=$?; echo $(( ($(date +%s%N) - s) / 1000000 )) $rc`, 300_000);
      const [ms, rc] = r.output.trim().split("\n").pop()?.split(" ").map(Number) ?? [];
      return { ms: ms ?? Number.NaN, rc: rc ?? -1 };
    };
    const ok = await timed("gate64 config set dns64.cache.maxTtlSec 1200");
    report({ bench: "agent", applyToVerifiedCommitMs: ok.ms, exit: ok.rc });
    const bad = await timed(`gate64 config set dns64.upstreams '["198.51.100.99"]'`);
    report({ bench: "agent", detectAndRevertMs: bad.ms, applyVerifySec: 20, exit: bad.rc });
    con.close();
  } finally {
    await lab.stop();
  }
}
