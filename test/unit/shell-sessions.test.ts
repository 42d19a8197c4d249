// Remote shell sessions on a real pseudo-terminal: the limits, the idle timeout (input only),
// the hard lifetime, the audit records, and the pause when MQTT does not keep up.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Audit } from "../../agent/src/fleet/protocol.js";
import { ShellSessions } from "../../agent/src/fleet/shell.js";

const opts = { enabled: true, idleTimeoutSec: 30, maxLifetimeSec: 120, maxSessions: 1 };

function harness(output: () => Promise<void> | void = () => undefined) {
  const closed: string[] = [];
  const audit: Audit[] = [];
  const events = {
    output,
    closed: (_s: string, reason: string) => closed.push(reason),
    audit: (a: Audit) => audit.push(a),
    log: () => undefined,
    now: () => Date.now(),
  };
  return { closed, audit, events };
}

it("refuses when disabled or full, closes a session idle for input, and audits both ends", async (t) => {
  const h = harness();
  const off = new ShellSessions({ ...opts, enabled: false }, h.events);
  assert.deepEqual(await off.open("t", 80, 24, Date.now()).then((r) => !r.ok && r.code), "disabled");

  t.mock.timers.enable({ apis: ["setTimeout"] });
  const on = new ShellSessions({ ...opts, command: ["/bin/sh"] }, h.events);
  const first = await on.open("op_admin", 80, 24, Date.now());
  assert.ok(first.ok);
  assert.deepEqual(await on.open("t", 80, 24, Date.now()).then((r) => !r.ok && r.code), "busy");
  assert.equal(on.list().length, 1);
  t.mock.timers.tick(29_000);
  assert.deepEqual(h.closed, []);
  t.mock.timers.tick(1_000);
  assert.deepEqual(h.closed, ["idle for 30 s"]);
  assert.equal(on.list().length, 0);
  assert.deepEqual(
    h.audit.map((a) => [a.event, a.by, a.reason]),
    [
      ["opened", "op_admin", undefined],
      ["closed", "op_admin", "idle for 30 s"],
    ],
  );
});

it("counts sessions still starting, so two concurrent opens never pass maxSessions", async () => {
  const h = harness();
  const on = new ShellSessions({ ...opts, command: ["/bin/sh"] }, h.events);
  const both = await Promise.all([on.open("a", 80, 24, Date.now()), on.open("b", 80, 24, Date.now())]);
  assert.deepEqual(
    both.map((r) => r.ok || r.code),
    [true, "busy"],
  );
  on.closeAll("test done");
});

it("times out on input only (output does not count) and ends every session at its lifetime", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const h = harness();
  const printing = new ShellSessions({ ...opts, command: ["/bin/sh", "-c", "while :; do echo tick; sleep 0.05; done"] }, h.events);
  assert.ok((await printing.open("t", 80, 24, Date.now())).ok);
  t.mock.timers.tick(20_000);
  await new Promise((res) => setImmediate(res));
  const realWait = Date.now() + 300;
  while (Date.now() < realWait) await new Promise((res) => setImmediate(res)); // output arrives meanwhile
  t.mock.timers.tick(10_000);
  assert.deepEqual(h.closed, ["idle for 30 s"]);

  const busy = new ShellSessions({ ...opts, idleTimeoutSec: 86400, maxLifetimeSec: 60, command: ["/bin/sh"] }, h.events);
  const r = await busy.open("t", 80, 24, Date.now());
  assert.ok(r.ok);
  t.mock.timers.tick(59_000);
  busy.input(r.ok ? r.session.session : "", Buffer.from("echo still here\n"));
  t.mock.timers.tick(1_000);
  assert.deepEqual(h.closed, ["idle for 30 s", "open for 60 s"]);
});

it("pauses the terminal while the broker has not taken its output, and goes on after", async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((res) => {
    release = res;
  });
  const h = harness(() => gate);
  const on = new ShellSessions({ ...opts, command: ["/bin/sh", "-c", "head -c 2000000 /dev/zero | tr '\\0' x; sleep 5"] }, h.events);
  const r = await on.open("t", 80, 24, Date.now());
  assert.ok(r.ok);
  const id = r.ok ? r.session.session : "";
  for (let i = 0; i < 50 && !on.isPaused(id); i++) await new Promise((res) => setTimeout(res, 100));
  assert.ok(on.isPaused(id), "more than 256 KiB unacknowledged pauses the pty");
  release();
  for (let i = 0; i < 50 && on.isPaused(id); i++) await new Promise((res) => setTimeout(res, 100));
  assert.ok(!on.isPaused(id), "acknowledged output resumes it");
  on.closeAll("test done");
});
