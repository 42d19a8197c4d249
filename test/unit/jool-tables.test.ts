// Jool's tables counted from one session listing, and shared by the health round, telemetry and
// /metrics (observe/jool.ts), on the fake system.
import assert from "node:assert/strict";
import { it } from "node:test";
import { validateConfig } from "../../agent/src/config/validate.js";
import { probes } from "../../agent/src/observe/health.js";
import { countSessions, joolInstanceLoaded, joolTables } from "../../agent/src/observe/jool.js";
import { collect, readTraffic } from "../../agent/src/observe/metrics.js";
import { resolve } from "../../agent/src/render/context.js";
import { FakeSystem } from "../../agent/src/system/fake.js";
import { fakeJool, sessionCsv } from "./jool-fixture.js";

it("counts sessions, and BIB entries as the distinct pool4 sides of the sessions", () => {
  assert.deepEqual(countSessions(sessionCsv("UDP", 7, 3)), { sessions: 7, bib: 3 });
  assert.deepEqual(countSessions(sessionCsv("TCP", 4)), { sessions: 4, bib: 4 });
  assert.deepEqual(countSessions(""), { sessions: 0, bib: 0 });
  // Two sessions of one IPv6 source on one pool4 port to two servers, as Jool 4.1 prints them.
  const rows =
    "ICMP,2001:db8:64::5,7,64:ff9b::c633:6450,7,192.0.2.1,61000,198.51.100.80,61000,00:00:59\n" +
    "ICMP,2001:db8:64::5,7,64:ff9b::c633:6435,7,192.0.2.1,61000,198.51.100.53,61000,00:00:58\n";
  assert.deepEqual(countSessions(rows), { sessions: 2, bib: 1 });
});

/** A box with an instance and a TCP table of `tcp` sessions, 2 per BIB entry; counts each listing. */
function box(tcp: number) {
  const sys = new FakeSystem();
  fakeJool(sys, (args) => (args.includes("session") && args.includes("--tcp") ? sessionCsv("TCP", tcp, 2) : ""));
  const listings = () => sys.commands.filter((c) => / (session|bib) display /.test(c));
  return { sys, listings };
}

it("the health round, telemetry and a scrape share one listing per protocol, and no BIB listing", async () => {
  const v = validateConfig({ interfaces: { lan: { name: "lan" }, wan: { name: "wan" } } });
  assert.ok(v.ok);
  const { sys, listings } = box(40);
  const pool4 = probes(sys, resolve(v.config, { deviceId: "t" })).find((p) => p.name === "pool4") ?? assert.fail("no pool4 probe");
  const [detail, traffic] = await Promise.all([pool4.run(), readTraffic(sys, v.config)]);
  const samples = await collect(sys, []);
  assert.match(detail, /^tcp 20\/\d+, udp 0\/\d+, icmp 0\/\d+$/);
  assert.equal(traffic.nat64Sessions, 40);
  assert.equal(samples.find((s) => s.name === "gate64_jool_sessions" && s.labels?.protocol === "tcp")?.value, 40);
  assert.deepEqual(listings(), [
    "jool -i default session display --tcp --numeric --csv --no-headers",
    "jool -i default session display --udp --numeric --csv --no-headers",
    "jool -i default session display --icmp --numeric --csv --no-headers",
  ]);
});

it("a reading older than the reader's interval is listed again; a failed one is not kept", async () => {
  const { sys, listings } = box(2);
  await joolTables(sys, 60_000);
  await new Promise((r) => setTimeout(r, 20));
  await joolTables(sys, 60_000);
  assert.equal(listings().length, 3, "one reading within the interval");
  await joolTables(sys, 10);
  assert.equal(listings().length, 6, "a new reading past it");
  sys.handlers.set("jool", () => {
    throw new Error("jool: killed");
  });
  await assert.rejects(joolTables(sys, 0), /killed/);
  sys.handlers.set("jool", (args) => ({ code: args.includes("--udp") ? 1 : 0, stdout: sessionCsv("TCP", 3), stderr: "" }));
  const t = await joolTables(sys, 60_000);
  assert.deepEqual(t, { tcp: { sessions: 3, bib: 3 }, udp: null, icmp: { sessions: 3, bib: 3 } });
});

it("telemetry and a scrape take the health round's instance check; the round asks anew", async () => {
  const v = validateConfig({ interfaces: { lan: { name: "lan" }, wan: { name: "wan" } } });
  assert.ok(v.ok);
  const sys = new FakeSystem();
  fakeJool(sys, (args) => (args.includes("global") ? "pool6,64:ff9b::/96\n" : ""));
  const checks = () => sys.commands.filter((c) => c.startsWith("jool instance display")).length;
  const jool = () =>
    (probes(sys, resolve(v.config, { deviceId: "t" })).find((p) => p.name === "jool") ?? assert.fail("no jool probe")).run();
  await jool();
  await readTraffic(sys, v.config);
  await collect(sys, []);
  assert.equal(checks(), 1, "telemetry and the scrape within their intervals of the round's check");
  await jool();
  assert.equal(checks(), 2, "the next round's own");
  // An apply asks anew (0), and a reader older than its interval too.
  await joolInstanceLoaded(sys, 0);
  await new Promise((r) => setTimeout(r, 20));
  await joolInstanceLoaded(sys, 10);
  assert.equal(checks(), 4);
});
