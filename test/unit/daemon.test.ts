// The daemon's parts on the in-memory system: one failing part does not stop the others, the
// watchdog is fed on time whatever the health interval, and not while a cycle hangs, a status
// goes to systemd only when it changes; a new WAN
// address costs one round of probes, a repair one more.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Applier, RepairResult } from "../../agent/src/apply/applier.js";
import type { Config } from "../../agent/src/config/schema.js";
import { validateConfig } from "../../agent/src/config/validate.js";
import { HealthLoop } from "../../agent/src/daemon/health-loop.js";
import { createLogger } from "../../agent/src/daemon/log.js";
import { type Module, startAll } from "../../agent/src/daemon/module.js";
import { missingInterfaces, waitForInterfaces } from "../../agent/src/daemon/wait-interfaces.js";
import { WanFollower } from "../../agent/src/daemon/wan-follower.js";
import { notifier, WatchdogFeeder } from "../../agent/src/daemon/watchdog.js";
import type { Device } from "../../agent/src/device/device.js";
import { EventBus } from "../../agent/src/device/events.js";
import type { HealthReport } from "../../agent/src/observe/health.js";
import { PATHS } from "../../agent/src/paths.js";
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
  assert.equal(fed, 0, "systemd arms the watchdog at READY=1: nothing to feed before");
  t.mock.timers.tick(120_000); // a 120 s health interval: fed four times meanwhile
  assert.equal(fed, 4);
  busySince = Date.now();
  t.mock.timers.tick(600_000); // a cycle busy for 10 minutes still counts as alive
  assert.equal(fed, 24);
  t.mock.timers.tick(60_000); // past that: no more feeding, systemd restarts the agent
  assert.equal(fed, 24);
  await feeder.stop();
});

it("tells systemd a status only when it changes (a systemd-notify process each)", async (t) => {
  const sys = new FakeSystem();
  const socket = process.env.NOTIFY_SOCKET;
  process.env.NOTIFY_SOCKET = "/run/systemd/notify";
  t.after(() => {
    if (socket === undefined) delete process.env.NOTIFY_SOCKET;
    else process.env.NOTIFY_SOCKET = socket;
  });
  const notify = notifier(sys);
  await notify.ready("revision 1");
  await notify.status("revision 1, health ok");
  await notify.status("revision 1, health ok");
  await notify.watchdog();
  await notify.status("revision 1, health degraded");
  await notify.status("revision 1, health ok");
  assert.deepEqual(sys.commands, [
    "systemd-notify --ready STATUS=revision 1",
    "systemd-notify STATUS=revision 1, health ok",
    "systemd-notify WATCHDOG=1",
    "systemd-notify STATUS=revision 1, health degraded",
    "systemd-notify STATUS=revision 1, health ok",
  ]);
});

const OK: HealthReport = { status: "ok", checkedAt: "", probes: [] };

/**
 * A health loop and its WAN follower over stub device and applier: `reports` are the rounds'
 * results in turn (the last repeats), `refresh` what following the WAN updates, `repair` what
 * repairing the failed probes does. Counts rounds, repairs asked and statuses sent.
 */
function healthLoop(o: { reports?: HealthReport[]; refresh?: () => string[]; repair?: (failed: string[]) => RepairResult } = {}) {
  const sys = new FakeSystem();
  const lines: string[] = [];
  const log = createLogger((t) => lines.push(t));
  const seen = { rounds: 0, repairs: [] as string[][], statuses: [] as string[], lines };
  const reports = o.reports ?? [OK];
  const device = {
    runHealth: async () => reports[Math.min(seen.rounds++, reports.length - 1)],
    running: () => ({ revision: 1, config: { health: { intervalSec: 30 } } }),
  } as unknown as Device;
  const applier = {
    refresh: async () => o.refresh?.() ?? [],
    repair: async (failed: string[]) => {
      seen.repairs.push(failed);
      return o.repair?.(failed) ?? { services: [], passedAgain: [] };
    },
    running: { resolved: { wanIPv4: "198.51.100.2" } },
  } as unknown as Applier;
  const notify = { watchdog: async () => undefined, ready: async () => undefined, status: async (s: string) => void seen.statuses.push(s) };
  const wan = new WanFollower({ sys, applier, device, log });
  const loop = new HealthLoop({ sys, device, applier, bus: new EventBus(log), wan, notify, log });
  return { sys, wan, loop, seen };
}

it("runs one round of probes when a health cycle finds a new WAN address, and one on an address event", async (t) => {
  let refreshed = ["firewall", "jool"];
  const { sys, wan, loop, seen } = healthLoop({ refresh: () => refreshed });
  await loop.cycle();
  await new Promise((r) => setImmediate(r));
  assert.equal(seen.rounds, 1, "the cycle's own round reports the new address");

  // `ip monitor` says the address changed: followed and reported at once, without a cycle.
  t.mock.timers.enable({ apis: ["setTimeout"] });
  await wan.start();
  refreshed = ["firewall"];
  sys.watchers.get("ip -4 monitor address")?.("2: wan    inet 198.51.100.3/24 scope global wan");
  t.mock.timers.tick(500);
  await new Promise((r) => setImmediate(r));
  assert.equal(seen.rounds, 2);
  await wan.stop();
});

it("runs the probes again at once after a repair, and reports that round", async () => {
  const { loop, seen } = healthLoop({
    reports: [
      { status: "failed", checkedAt: "", probes: [{ name: "coredns", status: "failed", detail: "connect ECONNREFUSED", durationMs: 1 }] },
      { status: "ok", checkedAt: "", probes: [{ name: "coredns", status: "ok", detail: "ready", durationMs: 1 }] },
    ],
    repair: (failed) => ({ services: failed.length > 0 ? ["coredns"] : [], passedAgain: [] }),
  });
  await loop.cycle();
  assert.equal(seen.rounds, 2);
  assert.deepEqual(seen.repairs, [["coredns"]]);
  assert.deepEqual(seen.statuses, ["revision 1, health ok"]);
  assert.deepEqual(seen.lines, ["<4>health failed: coredns: connect ECONNREFUSED\n", "<6>repair: coredns put back\n"]);
});

it("reports a new round, not the failed one, when the failed probes pass on a second look", async () => {
  // An apply reloaded CoreDNS under the round: the repair's own look finds it fine.
  const { loop, seen } = healthLoop({
    reports: [
      { status: "failed", checkedAt: "", probes: [{ name: "coredns", status: "failed", detail: "runs Corefile b, not a", durationMs: 1 }] },
      { status: "ok", checkedAt: "", probes: [{ name: "coredns", status: "ok", detail: "ready", durationMs: 1 }] },
    ],
    repair: () => ({ services: [], passedAgain: ["coredns"] }),
  });
  await loop.cycle();
  assert.equal(seen.rounds, 2);
  assert.deepEqual(seen.statuses, ["revision 1, health ok"]);
  assert.ok(!seen.lines.some((l) => /repair:/.test(l)), seen.lines.join(""));
});

it("does not probe again when nothing failed or nothing was repaired", async () => {
  const failed: HealthReport = {
    status: "failed",
    checkedAt: "",
    probes: [{ name: "upstream-dns", status: "failed", detail: "no upstream answered", durationMs: 1 }],
  };
  for (const reports of [[OK], [failed]]) {
    const { loop, seen } = healthLoop({ reports });
    await loop.cycle();
    assert.equal(seen.rounds, 1);
  }
});

function cfg(input: object): Config {
  const v = validateConfig(input);
  assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
  return v.config;
}

it("waits at boot for the interfaces the config names, and gives up after the wait", async () => {
  const sys = new FakeSystem();
  const config = cfg({ interfaces: { lan: { name: "lan" }, wan: { name: "wan0" } } });
  const lines: string[] = [];
  sys.files.set(`${PATHS.netDevices}/wan0/ifindex`, "3\n");
  // udev renames the LAN NIC 300 ms into the wait.
  setTimeout(() => sys.files.set(`${PATHS.netDevices}/lan/ifindex`, "2\n"), 300);
  assert.deepEqual(await missingInterfaces(sys, config), ["lan"]);
  assert.deepEqual(await waitForInterfaces(sys, config, (l) => lines.push(l), 5_000, 20), []);
  assert.deepEqual(lines, ["boot: waiting up to 5 s for interface lan", "boot: interfaces present"]);

  // A name no NIC gets: the wait ends and says so (the apply then fails and names it).
  lines.length = 0;
  const wrong = cfg({ interfaces: { lan: { name: "nolan0" }, wan: { name: "wan0" } } });
  const started = Date.now();
  assert.deepEqual(await waitForInterfaces(sys, wrong, (l) => lines.push(l), 200, 20), ["nolan0"]);
  assert.ok(Date.now() - started >= 200, "it waited");
  assert.deepEqual(lines, ["boot: waiting up to 0.2 s for interface nolan0", "boot: no interface nolan0; applying without it"]);
});
