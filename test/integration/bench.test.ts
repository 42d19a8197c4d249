// The host-side benchmarks, run with short settings so that they cannot rot: each exits 0 and
// prints, as numbers, the figures issue 14's goals are read from (docs/benchmarks.md). The lab VM
// benches' measurements are smoke-run by the lab e2e test on its booted VM, the boot bench by
// test/e2e/boot.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";

type Line = Record<string, unknown>;

function bench(...args: string[]): Line[] {
  const r = spawnSync("node", ["--import", "tsx", "scripts/bench.ts", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 10 * 60_000,
  });
  assert.equal(r.status, 0, `bench ${args[0]} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Line);
}

const isNumber = (x: unknown) => typeof x === "number" && Number.isFinite(x);
const isSummary = (x: unknown) => {
  const s = x as { median?: unknown; min?: unknown; max?: unknown } | undefined;
  return isNumber(s?.median) && isNumber(s?.min) && isNumber(s?.max);
};

describe("benchmarks, short runs", () => {
  it("dns64: per-CPU-second ratios to plain CoreDNS and Unbound, cached and uncached", () => {
    const lines = bench("dns64", "--seconds", "2", "--rounds", "1", "--rate", "200");
    for (const ratio of ["gate64/plain-coredns", "gate64/unbound"])
      for (const mode of ["cached", "uncached"]) {
        const l = lines.find((x) => x.ratio === ratio && x.mode === mode);
        assert.ok(l && isSummary(l.perCpuSecond), `${ratio} ${mode}: ${JSON.stringify(l)}`);
        assert.ok((l.perCpuSecond as { median: number }).median > 0);
      }
  });

  it("fleet: both rollouts to every box verified, none lost", () => {
    const lines = bench("fleet", "--agents", "200", "--shards", "1", "--rounds", "2", "--steady", "2");
    for (const phase of ["rollout-per-device", "rollout-group"]) {
      const each = lines.filter((x) => x.phase === phase);
      assert.equal(each.length, 2, `${phase}: one line per round`);
      for (const l of each) {
        assert.ok(isNumber(l.toAllVerifiedMs), `${phase}: ${JSON.stringify(l)}`);
        assert.deepEqual([l.verified, l.lost], [200, 0], JSON.stringify(l));
        const cpu = l.cpuMs as { shards: number; broker: number; operator: number };
        assert.ok(cpu.shards > 0 && cpu.operator > 0 && cpu.broker >= 0, JSON.stringify(l));
      }
    }
    const summary = lines.find((x) => x.phase === "rollouts");
    const group = summary?.groupToAllVerifiedMs as { median: number; min: number; max: number } | undefined;
    assert.ok(group && group.min > 0 && group.min <= group.median && group.median <= group.max, JSON.stringify(summary));
    const steady = lines.find((x) => x.phase === "steady");
    assert.ok((steady?.simulatorKiBPerAgent as number) > 0, JSON.stringify(steady));
  });
});
