// The daemon's parts on the in-memory system: one failing part does not stop the others, the
// watchdog is fed on time whatever the health interval, and not while a cycle hangs.
import assert from "node:assert/strict";
import { it } from "node:test";
import { createLogger } from "../../agent/src/daemon/log.js";
import { type Module, startAll } from "../../agent/src/daemon/module.js";
import { WatchdogFeeder } from "../../agent/src/daemon/watchdog.js";
import { FakeSystem } from "../../agent/src/system/fake.js";

it("starts every part even when one fails, and logs which", async () => {
  const lines: string[] = [];
  const log = createLogger((t) => lines.push(t));
  const started: string[] = [];
  const part = (id: string, fail = false): Module => ({
    id,
    start: async () => {
      if (fail) throw new Error("listen EADDRNOTAVAIL");
      started.push(id);
    },
    stop: async () => undefined,
  });
  await startAll([part("control"), part("metrics", true), part("fleet")], log);
  assert.deepEqual(started, ["control", "fleet"]);
  assert.deepEqual(lines, ["<3>metrics: Error: listen EADDRNOTAVAIL\n"]);
});

it("feeds the watchdog every 30 s, and stops while a health cycle hangs past 10 minutes", async (t) => {
  t.mock.timers.enable({ apis: ["setInterval", "Date"] });
  const sys = new FakeSystem();
  sys.now = () => Date.now();
  let fed = 0;
  let busySince: number | null = null;
  const notify = { watchdog: async () => void fed++, ready: async () => undefined, status: async () => undefined };
  const feeder = new WatchdogFeeder({ sys, notify, busySince: () => busySince });
  await feeder.start();
  assert.equal(fed, 1);
  t.mock.timers.tick(120_000); // a 120 s health interval: fed four more times meanwhile
  assert.equal(fed, 5);
  busySince = Date.now();
  t.mock.timers.tick(600_000); // a cycle busy for 10 minutes still counts as alive
  assert.equal(fed, 25);
  t.mock.timers.tick(60_000); // past that: no more feeding, systemd restarts the agent
  assert.equal(fed, 25);
  await feeder.stop();
});
