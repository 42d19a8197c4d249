// A configuration that failed at boot is tried again while the box runs its fallback, on the
// in-memory system with the real applier and device: a passing failure ends with config.json in
// effect and the boot-apply probe gone; a lasting one is reverted on each try, touches nothing
// it did not change, and stops after the last try until a change is committed.
import assert from "node:assert/strict";
import { it } from "node:test";
import { Applier } from "../../agent/src/apply/applier.js";
import type { Config } from "../../agent/src/config/schema.js";
import { validateConfig } from "../../agent/src/config/validate.js";
import { BootRetry } from "../../agent/src/daemon/boot-retry.js";
import { createLogger } from "../../agent/src/daemon/log.js";
import { Device } from "../../agent/src/device/device.js";
import { EventBus } from "../../agent/src/device/events.js";
import { IF_INET6, ifInet6Line } from "../../agent/src/lib/if-inet6.js";
import type { HealthReport } from "../../agent/src/observe/health.js";
import { PATHS } from "../../agent/src/paths.js";
import { FakeSystem } from "../../agent/src/system/fake.js";

const IMAGE_DEFAULT = {
  interfaces: {
    lan: { name: "lan", ipv6: { address: "2001:db8:64::1/64" } },
    wan: { name: "wan", ipv4: { mode: "static", address: "198.51.100.2/24", gateway: "198.51.100.1" } },
  },
  dns64: { upstreams: ["198.51.100.53"] },
  health: { applyVerifySec: 5 },
};
const OK: HealthReport = { status: "ok", checkedAt: "", probes: [] };

function valid(input: unknown): Config {
  const v = validateConfig(input);
  assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
  return v.config;
}

/** The daemon's boot on the fake system: config.json (`wanted`), then the image default. */
async function boot(sys: FakeSystem, wanted: object, delaysSec: number[]) {
  sys.files.set(IF_INET6, ifInet6Line("lan", "2001:db8:64::1"));
  sys.files.set(PATHS.config, `${JSON.stringify(wanted, null, 2)}\n`);
  const lines: string[] = [];
  const log = createLogger((t) => lines.push(t));
  const bus = new EventBus((l) => lines.push(l));
  const applier = new Applier({ sys, facts: async () => ({ deviceId: "t1" }), check: async () => OK, log, pollMs: 5 });
  const retry: BootRetry = new BootRetry({ apply: (input, meta) => device.apply(input, meta), bus, log, delaysSec });
  const device = new Device({ sys, applier, bus, id: "t1", firmware: "x", check: async () => retry.report(OK), log });
  for (const [source, input] of [
    [PATHS.config, wanted],
    [PATHS.defaultConfig, IMAGE_DEFAULT],
  ] as const) {
    const r = await applier.boot(valid(input), input);
    if (r.error === undefined) {
      retry.booted(source);
      break;
    }
    retry.failed(source, input, r.error);
  }
  return { applier, device, retry, bus, lines };
}

const upstreams = (a: Applier) => a.running?.config.dns64.upstreams;

it("applies config.json again after a passing boot failure, and the boot-apply probe clears", async () => {
  const sys = new FakeSystem();
  let nftRuns = 0;
  // The first ruleset load runs out of time (a starved CPU); every later one works.
  sys.handlers.set("nft", () =>
    nftRuns++ === 0 ? { code: 1, stdout: "", stderr: "timed out after 30000 ms" } : { code: 0, stdout: "", stderr: "" },
  );
  const wanted = { ...IMAGE_DEFAULT, dns64: { upstreams: ["198.51.100.54"] } };
  const { applier, device, retry, bus } = await boot(sys, wanted, [0.05, 0.1]);
  assert.deepEqual(upstreams(applier), ["198.51.100.53"], "the image default runs");
  const before = await device.runHealth();
  assert.equal(before.status, "failed");
  assert.equal(before.probes[0]?.name, "boot-apply");
  assert.match(
    before.probes[0]?.detail ?? "",
    /^\/data\/gate64\/config\.json: firewall: nft -f \S+ failed: timed out after 30000 ms; running \S+default\S* instead$/,
  );

  const committed = new Promise<void>((resolve) =>
    bus.on("applied", "test", (r) => {
      if (r.outcome === "committed") resolve();
    }),
  );
  await retry.start();
  await committed;
  assert.deepEqual(upstreams(applier), ["198.51.100.54"], "config.json runs");
  assert.deepEqual(JSON.parse(sys.files.get(PATHS.config) ?? ""), wanted);
  const last = (await applier.revisions.list()).at(-1);
  assert.equal(last?.by, "gate64-agent");
  assert.equal(last?.message, `boot retry 1 of 2: ${PATHS.config}`);
  assert.equal(last?.outcome, "committed");
  assert.equal((await device.runHealth()).status, "ok");
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await applier.revisions.list()).filter((r) => r.message?.startsWith("boot retry")).length, 1, "no try after the commit");
  await retry.stop();
});

it("reverts a try that fails again, in what it touched only, and stops after the last", async () => {
  const sys = new FakeSystem();
  // This config's translator settings fail to load, every time.
  sys.handlers.set("jool", (args) => {
    const bad = args[0] === "file" && /"udp-timeout": "0:10:00"/.test(sys.files.get(args[2] ?? "") ?? "");
    return bad ? { code: 1, stdout: "", stderr: "Invalid argument" } : { code: 0, stdout: "", stderr: "" };
  });
  const wanted = { ...IMAGE_DEFAULT, dns64: { upstreams: ["198.51.100.54"] }, nat64: { timeouts: { udpSec: 600 } } };
  const { applier, device, retry, lines } = await boot(sys, wanted, [0.02, 0.04]);
  assert.match(retry.detail ?? "", /^\/data\/gate64\/config\.json: jool: jool file handle \S+ failed: Invalid argument; running /);
  assert.deepEqual(upstreams(applier), ["198.51.100.53"]);
  sys.commands.length = 0;

  await retry.start();
  for (const until = Date.now() + 10_000; !lines.some((l) => l.includes("no more tries")) && Date.now() < until; )
    await new Promise((r) => setTimeout(r, 10));
  const tries = (await applier.revisions.list()).filter((r) => r.message?.startsWith("boot retry"));
  assert.deepEqual(
    tries.map((r) => [r.message, r.outcome]),
    [
      [`boot retry 1 of 2: ${PATHS.config}`, "reverted"],
      [`boot retry 2 of 2: ${PATHS.config}`, "reverted"],
    ],
  );
  assert.match(tries[1]?.reason ?? "", /install failed: jool: jool file handle \S+ failed: Invalid argument/);
  assert.deepEqual(upstreams(applier), ["198.51.100.53"], "the fallback runs");
  assert.deepEqual(JSON.parse(sys.files.get(PATHS.config) ?? ""), wanted, "config.json still holds what failed");
  // CoreDNS comes after Jool: the failed install never reached it, and neither does the revert.
  assert.ok(!sys.commands.some((c) => c.includes("coredns")), sys.commands.join("\n"));
  const h = await device.runHealth();
  assert.match(h.probes[0]?.detail ?? "", /; try 2 of 2 reverted: install failed: jool: .* \(no more tries until a change is committed\)$/);

  // An operator's commit ends the failure.
  const fix = { ...IMAGE_DEFAULT, dns64: { upstreams: ["198.51.100.55"] } };
  assert.equal((await device.apply(fix, { by: "console" })).outcome, "committed");
  await new Promise((r) => setTimeout(r, 10)); // the bus delivers on the next tick
  assert.equal((await device.runHealth()).status, "ok");
  await retry.stop();
});

it("goes on trying after a try that throws, and names what it threw", async () => {
  const bus = new EventBus(() => undefined);
  const lines: string[] = [];
  let calls = 0;
  const retry = new BootRetry({
    apply: async () => {
      if (++calls === 1) throw new Error("EIO: i/o error, write");
      return { outcome: "committed", revision: 7, services: [] };
    },
    bus,
    log: createLogger((t) => lines.push(t)),
    delaysSec: [0.01, 0.01, 0.01],
  });
  retry.failed(PATHS.config, {}, "firewall: nft -f failed");
  retry.booted(PATHS.defaultConfig);
  await retry.start();
  for (const until = Date.now() + 5000; retry.detail !== undefined && Date.now() < until; ) await new Promise((r) => setTimeout(r, 5));
  assert.equal(calls, 2);
  assert.equal(retry.detail, undefined);
  assert.ok(
    lines.some((l) => l.includes("boot retry 1 of 3: /data/gate64/config.json failed: EIO: i/o error, write; next in 0.01 s")),
    lines.join(""),
  );
  await retry.stop();
});

it("tries nothing once a change is committed before its first try", async () => {
  const sys = new FakeSystem();
  let nftRuns = 0;
  sys.handlers.set("nft", () => (nftRuns++ === 0 ? { code: 1, stdout: "", stderr: "timed out" } : { code: 0, stdout: "", stderr: "" }));
  const { applier, device, retry } = await boot(sys, { ...IMAGE_DEFAULT, dns64: { upstreams: ["198.51.100.54"] } }, [0.1]);
  await retry.start();
  assert.equal((await device.apply({ ...IMAGE_DEFAULT, dns64: { upstreams: ["198.51.100.56"] } }, { by: "console" })).outcome, "committed");
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(retry.detail, undefined);
  assert.deepEqual(upstreams(applier), ["198.51.100.56"], "the operator's change runs");
  assert.equal((await applier.revisions.list()).filter((r) => r.message?.startsWith("boot retry")).length, 0);
  await retry.stop();
});
