// The boot bench's breakdown of the agent's start, from its unit's journal.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { agentPhases, agentSteps } from "../../scripts/bench/agent-phases.js";

// A reboot of the lab VM, as `journalctl -b -o short-monotonic -u gate64-agent` prints it.
const JOURNAL = `[   33.370712] localhost systemd[1]: Starting gate64-agent.service - gate64 agent (configuration, health, fleet reporting)...
[   40.444404] localhost node[325]: gate64-agent 0.1.0-dev.399+g48894949: device lab-1, config from /data/gate64/config.json
[   42.488413] gate64-lab-1 node[325]: applied revision 1: sysctl, hostname, offloads
[   45.372000] gate64-lab-1 systemd[1]: Started gate64-agent.service - gate64 agent (configuration, health, fleet reporting).
[   47.001000] gate64-lab-1 node[325]: applied revision 2: coredns`;

describe("the boot bench's agent phases", () => {
  it("takes each phase's first line on the guest's clock, and the steps between them", () => {
    const p = agentPhases(JOURNAL);
    assert.deepEqual(p, { unitStart: 33.370712, firstLine: 40.444404, applied: 42.488413, ready: 45.372 });
    assert.deepEqual(agentSteps(p), { node: 7.07, bootApply: 2.04, toReady: 2.88 });
  });

  it("leaves a phase the journal lacks NaN, so the bench names it instead of printing a time", () => {
    const p = agentPhases(JOURNAL.split("\n").slice(0, 2).join("\n"));
    assert.equal(p.firstLine, 40.444404);
    assert.ok(Number.isNaN(p.applied) && Number.isNaN(p.ready));
    assert.ok(Number.isNaN(agentSteps(p).toReady));
  });
});
