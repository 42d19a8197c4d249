import assert from "node:assert/strict";
import { it } from "node:test";
import { validateConfig } from "../../agent/src/config/validate.js";
import { probes } from "../../agent/src/observe/health.js";
import { collect, formatPrometheus, parseJoolStats, parseMeminfo, readTraffic } from "../../agent/src/observe/metrics.js";
import { resolve } from "../../agent/src/render/context.js";
import { FakeSystem } from "../../agent/src/system/fake.js";
import { fakeJool, sessionCsv } from "./jool-fixture.js";

it("parses /proc/meminfo and Jool's stats CSV", () => {
  assert.deepEqual(parseMeminfo("MemTotal:        1000 kB\nMemAvailable:     500 kB\nHugePages_Total:       0\n"), {
    MemTotal: 1024000,
    MemAvailable: 512000,
    HugePages_Total: 0,
  });
  assert.deepEqual(parseJoolStats("JSTAT_RECEIVED6,12\nJSTAT_BIB_ENTRIES,3\nnoise\n"), { JSTAT_RECEIVED6: 12, JSTAT_BIB_ENTRIES: 3 });
});

it("formats Prometheus text with HELP/TYPE once per metric and escaped labels", () => {
  const text = formatPrometheus([
    { name: "a_total", help: "A", type: "counter", labels: { x: 'q"1' }, value: 1 },
    { name: "a_total", help: "A", type: "counter", labels: { x: "2" }, value: 2 },
  ]);
  assert.equal(text, '# HELP a_total A\n# TYPE a_total counter\na_total{x="q_1"} 1\na_total{x="2"} 2\n');
});

it("collects from /proc, /sys and jool through the system interface", async () => {
  const sys = new FakeSystem();
  sys.files.set("/proc/loadavg", "0.50 0.20 0.10 1/100 42");
  sys.files.set("/proc/meminfo", "MemTotal: 2048 kB\nMemAvailable: 1024 kB\n");
  sys.files.set("/proc/uptime", "123.4 100.0");
  sys.files.set("/sys/class/net/lan/statistics/rx_bytes", "999");
  // Jool's table counts as it prints them after a `jool file handle` and an entry that predates it.
  fakeJool(sys, (args) =>
    args.includes("stats") ? "JSTAT_RECEIVED6,7\nJSTAT_BIB_ENTRIES,18446744073709551615\nJSTAT_SESSIONS,0\n" : sessionCsv("TCP", 2),
  );
  const samples = await collect(sys, ["lan"]);
  const find = (n: string, l?: Record<string, string>) =>
    samples.find((s) => s.name === n && (!l || JSON.stringify(s.labels) === JSON.stringify(l)))?.value;
  assert.equal(find("gate64_load1"), 0.5);
  assert.equal(find("gate64_memory_available_bytes"), 1048576);
  assert.equal(find("gate64_interface_rx_bytes_total", { interface: "lan" }), 999);
  assert.equal(find("gate64_jool_stat_total", { stat: "JSTAT_RECEIVED6" }), 7);
  assert.equal(find("gate64_jool_sessions", { protocol: "tcp" }), 2);
  // Not counters, and wrong after an atomic configuration: the sessions gauge counts the table instead.
  assert.equal(find("gate64_jool_stat_total", { stat: "JSTAT_BIB_ENTRIES" }), undefined);
  assert.equal(find("gate64_jool_stat_total", { stat: "JSTAT_SESSIONS" }), undefined);
});

it("fails to start, instead of hanging, when its port is taken", async () => {
  const { createServer } = await import("node:net");
  const { serveMetrics } = await import("../../agent/src/observe/metrics.js");
  const blocker = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => blocker.once("listening", r));
  const port = (blocker.address() as { port: number }).port;
  await assert.rejects(
    serveMetrics(new FakeSystem(), "127.0.0.1", port, [], () => undefined),
    /EADDRINUSE/,
  );
  blocker.close();
});

it("asks a missing Jool instance nothing (each such query is a kernel error on the console)", async () => {
  const v = validateConfig({ interfaces: { lan: { name: "lan" }, wan: { name: "wan" } } });
  assert.ok(v.ok);
  const sys = new FakeSystem();
  sys.handlers.set("jool", () => ({ code: 0, stdout: "", stderr: "" }));
  await collect(sys, ["lan"]);
  const traffic = await readTraffic(sys, v.config);
  assert.equal(traffic.nat64Sessions, null);
  for (const p of probes(sys, resolve(v.config, { deviceId: "m" })).filter((p) => p.name === "jool" || p.name === "pool4"))
    await assert.rejects(p.run(), /instance "default" is not loaded/);
  const asked = sys.commands.filter((c) => c.startsWith("jool "));
  assert.ok(asked.length > 0);
  assert.deepEqual(
    asked.filter((c) => c.startsWith("jool -i")),
    [],
  );
});
