// Remote shell sessions on a real pseudo-terminal: the limits and the idle timeout.
import assert from "node:assert/strict";
import { it } from "node:test";
import { ShellSessions } from "../../agent/src/fleet/shell.js";

it("refuses when disabled or full, and closes a session that stays idle", async (t) => {
  const closed: string[] = [];
  const events = { output: () => undefined, closed: (_s: string, reason: string) => closed.push(reason), log: () => undefined };
  const off = new ShellSessions({ enabled: false, idleTimeoutSec: 30, maxSessions: 1 }, events);
  assert.deepEqual(await off.open("t", 80, 24, Date.now()).then((r) => !r.ok && r.code), "disabled");

  t.mock.timers.enable({ apis: ["setTimeout"] });
  const on = new ShellSessions({ enabled: true, idleTimeoutSec: 30, maxSessions: 1, command: ["/bin/sh"] }, events);
  const first = await on.open("t", 80, 24, Date.now());
  assert.ok(first.ok);
  assert.deepEqual(await on.open("t", 80, 24, Date.now()).then((r) => !r.ok && r.code), "busy");
  assert.equal(on.list().length, 1);
  t.mock.timers.tick(29_000);
  assert.deepEqual(closed, []);
  t.mock.timers.tick(1_000);
  assert.deepEqual(closed, ["idle for 30 s"]);
  assert.equal(on.list().length, 0);
});
