// The boot bench with short settings (a first boot, one reboot, the stock root twice), so that
// what issue 14's boot goal is read from cannot rot: the stock root's build from the mirror, its
// disk, each boot's figures and the ratio (docs/benchmarks.md#boot has the full runs).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { it } from "node:test";
import type { AgentPhases } from "../../scripts/bench/agent-phases.js";

type Line = Record<string, unknown>;

it("the boot bench prints each boot's figures and the ratio to the stock root", { timeout: 25 * 60_000 }, () => {
  const r = spawnSync("node", ["--import", "tsx", "scripts/bench.ts", "boot", "--reboots", "1", "--image", "out/x86-64/disk.img"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
  // Exit 0: every figure came out a number (scripts/bench/report.ts).
  assert.equal(r.status, 0, `bench boot exited ${r.status}:\n${r.stdout}\n${r.stderr.slice(-4000)}`);
  const lines = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Line);
  const gate64 = lines.filter((l) => l.image === "gate64" && typeof l.toAgentHealthySec === "number");
  // The ESP's provision.json is carried out on the first boot only.
  assert.deepEqual(
    gate64.map((l) => [l.boot, l.provisioningRan]),
    [
      ["first", 1],
      ["reboot", 0],
    ],
  );
  for (const l of gate64) {
    const login = l.toLoginPromptSec as number;
    assert.ok(login > 0 && (l.toAgentHealthySec as number) > 0 && (l.toTranslationSec as number) > 0, JSON.stringify(l));
    assert.match(String(l.systemdAnalyze), /Startup finished in/, JSON.stringify(l));
    // The agent's part, in its order on the guest's clock: unit started, Node's first line, boot
    // apply done, ready.
    const p = l.agentGuestSec as AgentPhases;
    assert.ok(0 < p.unitStart && p.unitStart < p.firstLine && p.firstLine < p.applied && p.applied < p.ready, JSON.stringify(l));
  }
  const rebootSummary = lines.find((l) => l.image === "gate64" && l.reboots === 1);
  const steps = rebootSummary?.agentStepsSec as Record<"node" | "bootApply" | "toReady", { median: number }> | undefined;
  assert.ok(steps && steps.node.median > 0 && steps.bootApply.median > 0 && steps.toReady.median > 0, JSON.stringify(rebootSummary));
  // systemd's own account of each boot, on stderr.
  assert.equal(r.stderr.match(/boot: critical chain of gate64-agent\.service:/g)?.length, 2, r.stderr.slice(-4000));
  const stock = lines.filter((l) => l.image === "stock-trixie" && typeof l.boot === "number");
  assert.equal(stock.length, 2, JSON.stringify(lines));
  const ratio = lines.find((l) => l.ratio === "gate64/stock");
  const reboot = ratio?.rebootHealthyToStockLogin as { median: number } | undefined;
  assert.ok((ratio?.toLoginPrompt as number) > 0 && (reboot?.median ?? 0) > 0, JSON.stringify(ratio));
});
