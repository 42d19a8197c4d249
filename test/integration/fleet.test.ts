// The fleet protocol against a real mosquitto (TLS, password file, the documented ACL), with the
// real agent code on simulated boxes and the operator library the fleet CLI uses.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { type Operator as Op, Operator } from "../../agent/src/fleet/operator.js";
import type { Reported, Response, State } from "../../agent/src/fleet/protocol.js";
import { SIM_BASE_CONFIG, type SimAgent, startSimAgent } from "../../agent/src/fleet/sim.js";
import { Broker, writeCredentials } from "../../scripts/lab/broker.js";
import { waitFor } from "../../scripts/lab/netns.js";

const dir = mkdtempSync(join(tmpdir(), "gate64-fleet-test-"));
const PASS = { "dev-a": "pa-1", "dev-b": "pb-2", "dev-c": "pc-3", "dev-d": "pd-4", op_admin: "po-5", op_viewer: "pv-6" } as const;
const withUpstream = (u: string) => ({ ...SIM_BASE_CONFIG, dns64: { upstreams: [u] } });

describe("fleet over MQTT (real mosquitto, TLS, ACL)", { timeout: 5 * 60_000 }, () => {
  let broker: Broker;
  let op: Op;
  let op4: Op;
  const agents: Record<string, SimAgent> = {};
  const clients: MqttClient[] = [];

  const sim = async (id: keyof typeof PASS, extra: Partial<Parameters<typeof startSimAgent>[0]> = {}) => {
    agents[id] = await startSimAgent({
      deviceId: id,
      url: broker.url,
      ca: await import("node:fs").then((fs) => fs.readFileSync(broker.ca, "utf8")),
      credentials: { username: id, password: PASS[id] },
      keepaliveSec: 5,
      ...extra,
    });
    return agents[id];
  };
  const raw = async (user: keyof typeof PASS, protocolVersion: 4 | 5 = 5) => {
    const c = await mqtt.connectAsync(broker.url, {
      ca: (await import("node:fs")).readFileSync(broker.ca),
      username: user,
      password: PASS[user],
      protocolVersion,
      clientId: `raw-${user}-${clients.length}`,
      reconnectPeriod: 0,
    });
    clients.push(c);
    return c;
  };
  const ready = (id: string) =>
    waitFor(`${id} ready`, async () => (await op.inventory({ device: id, settleMs: 200 })).get(id)?.availability === "ready", 20_000);

  before(async () => {
    broker = new Broker({ dir, address: "127.0.0.1", port: 20000 + (process.pid % 10000), tls: true, users: { ...PASS } });
    await broker.start();
    const creds = writeCredentials(join(dir, "op.json"), "op_admin", PASS.op_admin);
    op = await Operator.connect({
      url: broker.url,
      ca: broker.ca,
      credentialsFile: creds,
      protocolVersion: 5,
      topicPrefix: "gate64",
      allowPlaintext: false,
    });
    op4 = await Operator.connect({
      url: broker.url,
      ca: broker.ca,
      credentialsFile: creds,
      protocolVersion: 4,
      topicPrefix: "gate64",
      allowPlaintext: false,
    });
    await sim("dev-a", { groups: ["lab"], remoteShell: { enabled: true, idleTimeoutSec: 30 }, shellCommand: ["/bin/sh"] });
    await sim("dev-b", { groups: ["lab"], protocolVersion: 4, telemetryIntervalSec: 5 });
    await ready("dev-a");
    await ready("dev-b");
  });

  after(async () => {
    for (const a of Object.values(agents)) await a.fleet.stop();
    for (const c of clients) await c.endAsync();
    await op?.close();
    await op4?.close();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // First: the test's own raw clients (below) use mqtt.js's default, which fills the cache.
  it("leaves mqtt-packet's number cache empty (boxes and operators have written packets)", () => {
    const numbers = createRequire(import.meta.url)("mqtt-packet/numbers.js") as { cache: object };
    assert.equal(Object.keys(numbers.cache).length, 0);
  });

  it("publishes retained availability, state and health", async () => {
    const v = (await op.inventory({ device: "dev-a" })).get("dev-a");
    assert.equal(v?.availability, "ready");
    assert.equal(v?.state?.deviceId, "dev-a");
    assert.equal(v?.state?.revision, 0);
    assert.deepEqual(v?.state?.groups, ["lab"]);
    assert.equal(v?.health?.status, "ok");
  });

  it("sends telemetry periodically, not retained", async () => {
    const seen: Record<string, unknown>[] = [];
    const stop = await op.watch((e) => e.kind === "telemetry" && seen.push(e.value as Record<string, unknown>), {
      device: "dev-b",
      telemetry: true,
    });
    await waitFor("a telemetry sample", () => seen.length > 0, 8000);
    await stop();
    assert.equal(seen[0]?.health, "ok");
    assert.equal(seen[0]?.dropped, 0);
    assert.ok(Number(seen[0]?.agentRssBytes) > 1e6);
    // A new subscriber gets no retained sample.
    const c = await raw("op_admin");
    const flags: boolean[] = [];
    c.on("message", (_t, _p, packet) => flags.push(packet.retain));
    await c.subscribeAsync("gate64/dev-b/telemetry", { qos: 1 });
    await new Promise((r) => setTimeout(r, 700));
    assert.ok(!flags.includes(true), JSON.stringify(flags));
  });

  it("answers commands over MQTT 5 with the response topic and correlation data", async () => {
    const c = await raw("op_admin", 5);
    const reply = "gate64/dev-a/responses/raw";
    await c.subscribeAsync(reply, { qos: 1 });
    const got = nextMessage(c);
    await c.publishAsync("gate64/dev-a/commands", JSON.stringify({ id: "t-5", name: "ping", deadline: Date.now() + 10_000 }), {
      qos: 1,
      properties: { responseTopic: reply, correlationData: Buffer.from("corr-42") },
    });
    const [topic, payload, packet] = await got;
    assert.equal(topic, reply);
    assert.equal(packet.properties?.correlationData?.toString(), "corr-42");
    const r = JSON.parse(payload.toString()) as Response;
    assert.equal(r.id, "t-5");
    assert.ok(r.ok && (r.result as { pong: boolean }).pong);
    const viaLib = await op.request("dev-a", "config.get");
    assert.ok(viaLib.ok, JSON.stringify(viaLib));
    assert.deepEqual((viaLib.result as { config: { dns64: unknown } }).config.dns64, SIM_BASE_CONFIG.dns64);
  });

  it("answers commands over MQTT 3.1.1 with the transaction id in the payload", async () => {
    const r = await op4.request("dev-b", "ping");
    assert.ok(r.ok, JSON.stringify(r));
    const logs = await op4.request("dev-b", "logs.tail", { lines: 5 });
    assert.ok(logs.ok);
    const lines = (logs.result as { lines: string[] }).lines;
    assert.ok(lines.length > 0 && lines.length <= 5, JSON.stringify(lines));
    assert.ok(
      lines.some((l) => l.includes("fleet: connected")),
      lines.join("\n"),
    );
  });

  it("refuses a stale command without running it", async () => {
    const before = agents["dev-a"]?.device.status().revision;
    const c = await raw("op_admin");
    await c.subscribeAsync("gate64/dev-a/responses", { qos: 1 });
    const got = nextMessage(c);
    const cmd = { id: "stale-1", name: "config.set", args: { config: withUpstream("198.51.100.99") }, deadline: Date.now() - 5000 };
    await c.publishAsync("gate64/dev-a/commands", JSON.stringify(cmd), { qos: 1 });
    const r = JSON.parse((await got)[1].toString()) as Response;
    assert.equal(r.id, "stale-1");
    assert.ok(!r.ok && r.error.code === "stale" && r.error.field === "deadline", JSON.stringify(r));
    assert.equal(agents["dev-a"]?.device.status().revision, before);
  });

  it("refuses invalid payloads with the field and the reason", async () => {
    const bad = await op.request("dev-a", "logs.tail", { lines: 0 });
    assert.ok(!bad.ok && bad.error.code === "invalid" && bad.error.field === "args.lines", JSON.stringify(bad));
    const c = await raw("op_admin");
    await c.subscribeAsync("gate64/dev-a/responses", { qos: 1 });
    const answers: Response[] = [];
    c.on("message", (_t, p) => answers.push(JSON.parse(p.toString()) as Response));
    await c.publishAsync("gate64/dev-a/commands", "{not json", { qos: 1 });
    await c.publishAsync("gate64/dev-a/commands", JSON.stringify({ id: "u-1", name: "format-disk", deadline: Date.now() + 5000 }), {
      qos: 1,
    });
    await waitFor("two refusals", () => answers.length >= 2, 5000);
    assert.ok(answers.every((r) => !r.ok && r.error.code === "invalid"));
    assert.deepEqual(
      answers.map((r) => (!r.ok ? r.error.field : "")),
      ["(payload)", "name"],
    );
    assert.equal(answers[1]?.id, "u-1");
  });

  it("converges on a desired config and reports it; refuses an invalid one; reverts one that breaks health", async () => {
    const good = await op.setDesired({ device: "dev-a" }, withUpstream("198.51.100.54"), { revision: 100 });
    const r1 = (await op.waitReported(["dev-a"], good, 15_000)).get("dev-a");
    assert.equal(r1?.status, "applied", JSON.stringify(r1));
    assert.equal(r1?.revision, 1);
    assert.deepEqual(agents["dev-a"]?.device.running().config.dns64.upstreams, ["198.51.100.54"]);

    const bad = await op.setDesired({ device: "dev-a" }, withUpstream("not-an-address"), { revision: 101 });
    const r2 = (await op.waitReported(["dev-a"], bad, 15_000)).get("dev-a");
    assert.equal(r2?.status, "refused");
    assert.equal(r2?.problems?.[0]?.field, "config.dns64.upstreams[0]", JSON.stringify(r2));

    const sick = await op.setDesired({ device: "dev-a" }, withUpstream("192.0.2.53"), { revision: 102 });
    const r3 = (await op.waitReported(["dev-a"], sick, 30_000)).get("dev-a");
    assert.equal(r3?.status, "reverted", JSON.stringify(r3));
    assert.match(r3?.reason ?? "", /dns64: upstream 192\.0\.2\.53/);
    assert.deepEqual(agents["dev-a"]?.device.running().config.dns64.upstreams, ["198.51.100.54"]);

    const mqttChange = await op.setDesired(
      { device: "dev-a" },
      { ...withUpstream("198.51.100.55"), mqtt: { enabled: false } },
      { revision: 103 },
    );
    const r4 = (await op.waitReported(["dev-a"], mqttChange, 15_000)).get("dev-a");
    assert.equal(r4?.status, "refused");
    assert.equal(r4?.problems?.[0]?.field, "config.mqtt");
    const state = (await op.inventory({ device: "dev-a" })).get("dev-a")?.state as State;
    assert.equal(state.desiredRevision, 103);
  });

  it("applies a group's desired config on every member once, even when it comes from two topics", async () => {
    // Each apply publishes its state once, in the write that carries the report.
    await op.client.subscribeAsync("gate64/dev-a/state", { qos: 1 });
    await new Promise((r) => setTimeout(r, 300)); // the retained copy
    const states: State[] = [];
    const stopStates = op.onRaw((t, p) => t === "gate64/dev-a/state" && states.push(JSON.parse(p.toString()) as State));
    // The desired copy comes at QoS 0 (docs/protocol.md): no box acknowledges it.
    const sent: string[] = [];
    const received: number[] = [];
    const unwatch = ["dev-a", "dev-b"].map((id) => {
      const client = ((agents[id] as SimAgent).fleet as unknown as { client: MqttClient }).client;
      const onSend = (p: { cmd: string }) => sent.push(`${id} ${p.cmd}`);
      const onMessage = (t: string, _p: Buffer, packet: { qos: number }) => t.endsWith("/desired") && received.push(packet.qos);
      client.on("packetsend", onSend).on("message", onMessage);
      return () => client.off("packetsend", onSend).off("message", onMessage);
    });
    const rev = await op.setDesired({ group: "lab" }, withUpstream("198.51.100.56"), { revision: 200 });
    const got = await op.waitReported(["dev-a", "dev-b"], rev, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    stopStates();
    for (const off of unwatch) off();
    assert.deepEqual(received, [0, 0]);
    assert.deepEqual(
      sent.filter((x) => x.endsWith(" puback")),
      [],
      sent.join(", "),
    );
    assert.ok(sent.includes("dev-a publish") && sent.includes("dev-b publish"), sent.join(", "));
    await op.client.unsubscribeAsync("gate64/dev-a/state");
    assert.deepEqual(
      states.map((x) => [x.desiredRevision, x.revision]),
      [[200, got.get("dev-a")?.revision]],
    );
    assert.deepEqual(
      [...got.values()].map((r) => r.status),
      ["applied", "applied"],
    );
    for (const id of ["dev-a", "dev-b"]) assert.deepEqual(agents[id]?.device.running().config.dns64.upstreams, ["198.51.100.56"]);
    // The same revision again on the device topic is not applied a second time.
    const revisionBefore = agents["dev-b"]?.device.status().revision;
    const reports: Reported[] = [];
    const stop = op.onRaw((t, p) => t === "gate64/dev-b/reported" && p.length > 0 && reports.push(JSON.parse(p.toString()) as Reported));
    await op.setDesired({ device: "dev-b" }, withUpstream("198.51.100.56"), { revision: 200 });
    await new Promise((r) => setTimeout(r, 1500));
    stop();
    assert.equal(agents["dev-b"]?.device.status().revision, revisionBefore);
    assert.equal(reports.filter((r) => r.desiredRevision === 200 && r.at !== got.get("dev-b")?.at).length, 0);
  });

  it("waits for a wave on its own boxes' report topics: the others' retained reports are not sent again", async () => {
    // A third box with a retained report, outside the wave.
    const d = await sim("dev-d");
    await ready("dev-d");
    const own = await op.setDesired({ device: "dev-d" }, withUpstream("198.51.100.58"), { revision: 250 });
    assert.equal((await op.waitReported(["dev-d"], own, 15_000)).get("dev-d")?.status, "applied");
    const from: string[] = [];
    const stop = op.onRaw((t, p) => t.endsWith("/reported") && p.length > 0 && from.push(t.split("/")[1] as string));
    const pending = op.waitReported(["dev-a", "dev-b"], 251, 15_000);
    for (const id of ["dev-a", "dev-b"]) await op.setDesired({ device: id }, withUpstream("198.51.100.59"), { revision: 251 });
    const got = await pending;
    stop();
    assert.deepEqual([...got.keys()].sort(), ["dev-a", "dev-b"]);
    assert.ok(!from.includes("dev-d"), `reports seen: ${from.join(", ")}`);
    await d.fleet.stop(); // dev-d comes back in the decommissioning test
    delete agents["dev-d"];
  });

  it("drives the fleet from the CLI: ls, cmd, config set, a rollout and one that stops at its canary", async () => {
    const fleetFile = join(dir, "fleet.json");
    writeFileSync(fleetFile, JSON.stringify({ url: broker.url, ca: broker.ca, credentialsFile: join(dir, "op.json") }));
    // Asynchronous: the simulated boxes live in this process and must keep answering meanwhile.
    const cli = (...args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const c = spawn(process.execPath, ["--import", "tsx", "agent/src/cli/bin.ts", "fleet", ...args, "--fleet", fleetFile]);
        let out = "";
        c.stdout.on("data", (d: Buffer) => {
          out += d.toString();
        });
        c.stderr.on("data", (d: Buffer) => {
          out += d.toString();
        });
        c.on("close", (code) => resolve({ code, out }));
      });
    const ls = await cli("ls");
    assert.equal(ls.code, 0, ls.out);
    assert.match(ls.out, /^dev-a\s+ready\s+ok\s+\d+/m);
    assert.match(ls.out, /^dev-b\s+ready\s+ok/m);
    const ping = await cli("cmd", "dev-b", "ping", "--json");
    assert.equal(ping.code, 0, ping.out);
    assert.equal(JSON.parse(ping.out).pong, true);

    const file = join(dir, "desired.json");
    writeFileSync(file, JSON.stringify(withUpstream("198.51.100.57")));
    const set = await cli("config", "set", "dev-a", file, "--wait", "20");
    assert.equal(set.code, 0, set.out);
    assert.match(set.out, /dev-a: ok applied/);

    writeFileSync(file, JSON.stringify(withUpstream("198.51.100.58")));
    const good = await cli("rollout", file, "--group", "lab", "--canary", "1", "--batch", "1", "--timeout", "20");
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, /2 online in 2 wave\(s\)/);
    for (const id of ["dev-a", "dev-b"]) assert.deepEqual(agents[id]?.device.running().config.dns64.upstreams, ["198.51.100.58"]);

    writeFileSync(file, JSON.stringify(withUpstream("192.0.2.9")));
    const sick = await cli("rollout", file, "--group", "lab", "--canary", "1", "--timeout", "30");
    assert.equal(sick.code, 3, sick.out);
    assert.match(sick.out, /rollout stopped in wave 1 at dev-a: reverted/);
    // The canary reverted and the rest never got it.
    for (const id of ["dev-a", "dev-b"]) assert.deepEqual(agents[id]?.device.running().config.dns64.upstreams, ["198.51.100.58"]);

    const refused = await cli("cmd", "dev-a", "logs.tail", '{"lines":0}');
    assert.equal(refused.code, 1, refused.out);
    assert.match(refused.out, /invalid \(args\.lines\)/);
  });

  it("keeps each box to its own topics (ACL): no reading or commanding another box", async () => {
    const b = await raw("dev-b");
    const seen: string[] = [];
    b.on("message", (t) => seen.push(t));
    await b.subscribeAsync(["gate64/#", "gate64/dev-a/#"], { qos: 1 });
    // dev-a publishes state and health now; a command from dev-b to dev-a must not run.
    await op.request("dev-a", "health");
    const c = await raw("op_admin");
    await c.subscribeAsync("gate64/dev-a/responses/#", { qos: 1 });
    const answered: string[] = [];
    c.on("message", (_t, p) => answered.push(p.toString()));
    // MQTT 5 tells the publisher: PUBACK reason 135, not authorized.
    await assert.rejects(
      b.publishAsync(
        "gate64/dev-a/commands",
        JSON.stringify({ id: "evil", name: "reboot", deadline: Date.now() + 5000, replyTo: "gate64/dev-a/responses/x" }),
        { qos: 1 },
      ),
      /Not authorized/,
    );
    const groupWrite = JSON.stringify({ revision: 999, config: withUpstream("192.0.2.1") });
    await assert.rejects(b.publishAsync("gate64/_groups/lab/desired", groupWrite, { qos: 1, retain: true }), /Not authorized/);
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(
      seen.filter((t) => t.startsWith("gate64/dev-a/")),
      [],
    );
    assert.deepEqual(answered, []);
    assert.ok(!agents["dev-a"]?.sys.commands.includes("systemctl reboot"));
    assert.notEqual(agents["dev-a"]?.device.running().config.dns64.upstreams[0], "192.0.2.1");
    // dev-b does see its own topics.
    assert.ok(
      seen.some((t) => t.startsWith("gate64/dev-b/")),
      seen.join(","),
    );
  });

  it("rolls back over the fleet to an earlier config without moving the box to other broker settings", async () => {
    const a = agents["dev-a"] as SimAgent;
    const base = a.device.running().input as { mqtt: { keepaliveSec: number } };
    const older = await a.device.apply({ ...withUpstream("198.51.100.61"), mqtt: { ...base.mqtt, keepaliveSec: 45 } }, { by: "console" });
    assert.equal(older.outcome, "committed");
    assert.equal((await a.device.apply({ ...withUpstream("198.51.100.62"), mqtt: base.mqtt }, { by: "console" })).outcome, "committed");
    const r = await op.request("dev-a", "config.rollback", { revision: older.outcome === "committed" ? older.revision : -1 });
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(a.device.running().config.dns64.upstreams, ["198.51.100.61"]);
    assert.equal(a.device.running().config.mqtt.keepaliveSec, base.mqtt.keepaliveSec);
  });

  it("holds a desired config while a console revision awaits confirmation, then applies it", async () => {
    const a = agents["dev-a"] as SimAgent;
    const mqttSection = (a.device.running().input as { mqtt: unknown }).mqtt;
    const pending = await a.device.apply({ ...withUpstream("198.51.100.63"), mqtt: mqttSection }, { by: "console", confirmSec: 30 });
    assert.equal(pending.outcome, "pending");
    const revision = Date.now();
    const reports = op.waitReported(["dev-a"], revision, 20_000);
    await op.setDesired({ device: "dev-a" }, withUpstream("198.51.100.64"), { revision });
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(a.device.running().config.dns64.upstreams, ["198.51.100.63"], "waits for the console");
    await a.device.confirm("console");
    assert.equal((await reports).get("dev-a")?.status, "applied");
    assert.deepEqual(a.device.running().config.dns64.upstreams, ["198.51.100.64"]);
  });

  it("shares events between operator instances through a shared subscription", async () => {
    const creds = join(dir, "op.json");
    const second = await Operator.connect({ ...op.config, clientId: "collector-2", credentialsFile: creds });
    const got: string[] = [];
    const stops = [
      await op.watch((e) => e.kind === "health" && got.push("first"), { device: "dev-a", share: "collectors" }),
      await second.watch((e) => e.kind === "health" && got.push("second"), { device: "dev-a", share: "collectors" }),
    ];
    // mosquitto 2.0 hands the retained message to each new shared subscriber; count only what follows.
    await new Promise((r) => setTimeout(r, 500));
    got.length = 0;
    for (let i = 0; i < 6; i++) assert.ok((await op.request("dev-a", "health")).ok);
    await waitFor("six health events", () => got.length >= 6, 5000);
    await new Promise((r) => setTimeout(r, 500));
    for (const stop of stops) await stop();
    await second.close();
    // Each event went to exactly one member of the share, and both members took some.
    assert.equal(got.length, 6, got.join(","));
    assert.ok(got.includes("first") && got.includes("second"), got.join(","));
  });

  it("opens a remote shell only where it is enabled, resizes it, and announces the session", async () => {
    const off = await op.request("dev-b", "shell.open");
    assert.ok(!off.ok && off.error.code === "disabled", JSON.stringify(off));
    const open = await op.request("dev-a", "shell.open", { cols: 100, rows: 30 });
    assert.ok(open.ok, JSON.stringify(open));
    const s = open.result as { session: string; in: string; out: string };
    const c = await raw("op_admin");
    let output = "";
    c.on("message", (t, p) => {
      if (t === s.out) output += p.toString();
    });
    await c.subscribeAsync(s.out, { qos: 1 });
    const state = (await op.inventory({ device: "dev-a" })).get("dev-a")?.state;
    assert.deepEqual(
      state?.shell.sessions.map((x) => x.session),
      [s.session],
    );
    await c.publishAsync(s.in, "echo gate64-$((6*7)); stty size\n", { qos: 1 });
    await waitFor("shell output", () => output.includes("gate64-42") && output.includes("30 100"), 10_000);
    const resized = await op.request("dev-a", "shell.resize", { session: s.session, cols: 120, rows: 40 });
    assert.ok(resized.ok, JSON.stringify(resized));
    await c.publishAsync(s.in, "stty size\n", { qos: 1 });
    await waitFor("resized terminal", () => output.includes("40 120"), 10_000);
    const busy = await op.request("dev-a", "shell.open");
    assert.ok(!busy.ok && busy.error.code === "busy");
    const closed = await op.request("dev-a", "shell.close", { session: s.session });
    assert.ok(closed.ok);
    await waitFor(
      "session gone from state",
      async () => (await op.inventory({ device: "dev-a", settleMs: 200 })).get("dev-a")?.state?.shell.sessions.length === 0,
      5000,
    );
    assert.ok(agents["dev-a"]?.lines.some((l) => l.includes(`shell: session ${s.session} opened by op_admin`)));
  });

  it("takes a shell's opener from the broker (commands/<user>), audits it, and keeps its output from viewers", async () => {
    const admin = await raw("op_admin");
    const viewer = await raw("op_viewer");
    const seenByViewer: string[] = [];
    viewer.on("message", (t) => seenByViewer.push(t));
    await viewer.subscribeAsync("gate64/#", { qos: 1 });
    const answers: Response[] = [];
    admin.on("message", (t, p) => t.startsWith("gate64/dev-a/responses/") && answers.push(JSON.parse(p.toString()) as Response));
    await admin.subscribeAsync("gate64/dev-a/responses/#", { qos: 1 });
    const cmd = (id: string, name: string, args: object = {}) =>
      JSON.stringify({ id, name, args, deadline: Date.now() + 10_000, replyTo: "gate64/dev-a/responses/raw", by: "op_viewer" });
    // On the bare topic the claimed "by" is not trusted: no shell.
    await admin.publishAsync("gate64/dev-a/commands", cmd("bare", "shell.open"), { qos: 1 });
    // Under another operator's name: the broker refuses (PUBACK 135).
    await assert.rejects(admin.publishAsync("gate64/dev-a/commands/op_viewer", cmd("forged", "shell.open"), { qos: 1 }), /Not authorized/);
    // A box may write under its own id, and the box it targets refuses it.
    const b = await raw("dev-b");
    await b.publishAsync("gate64/dev-a/commands/dev-b", cmd("from-box", "ping"), { qos: 1 });
    // Under its own name: opened by op_admin, whatever the payload claims.
    await admin.publishAsync("gate64/dev-a/commands/op_admin", cmd("attested", "shell.open"), { qos: 1 });
    await waitFor("three answers", () => answers.length >= 3, 10_000);
    const byId = Object.fromEntries(answers.map((a) => [a.id, a]));
    assert.ok(!byId.bare?.ok && byId.bare?.error.code === "forbidden", JSON.stringify(byId.bare));
    assert.ok(!byId["from-box"]?.ok && byId["from-box"]?.error.code === "forbidden", JSON.stringify(byId["from-box"]));
    assert.equal(byId.forged, undefined);
    assert.ok(byId.attested?.ok, JSON.stringify(byId.attested));
    const s = (byId.attested as { result: { session: string; by: string; in: string; out: string } }).result;
    assert.equal(s.by, "op_admin");
    await admin.publishAsync(s.in, "echo secret-$((6*7))\n", { qos: 1 });
    await new Promise((r) => setTimeout(r, 1000));
    const closed = await op.request("dev-a", "shell.close", { session: s.session });
    assert.ok(closed.ok);
    // The audit record (retained) names the broker-attested user; the viewer saw no terminal.
    const audit = await raw("op_viewer");
    const last = new Promise<string>((resolve) => audit.on("message", (_t, p) => resolve(p.toString())));
    await audit.subscribeAsync("gate64/dev-a/audit", { qos: 1 });
    const record = JSON.parse(await last) as { event: string; by: string; session: string };
    assert.deepEqual([record.event, record.by, record.session], ["closed", "op_admin", s.session]);
    assert.ok(
      seenByViewer.some((t) => t === "gate64/dev-a/state"),
      seenByViewer.join(","),
    );
    assert.deepEqual(
      seenByViewer.filter((t) => t.includes("/shell/")),
      [],
    );
  });

  it("republishes its retained state after the broker restarts, with what it queued meanwhile", async () => {
    await broker.stop();
    await agents["dev-a"]?.device.runHealth(); // published while away: queued
    await broker.start(); // persistence is off: the broker lost every retained message
    await waitFor("operator saw the broker go", () => !op.client.connected, 5000);
    op = await reconnect(op);
    await waitFor(
      "dev-a back with state and health",
      async () => {
        const v = (await op.inventory({ device: "dev-a", settleMs: 200 })).get("dev-a");
        return v?.availability === "ready" && v.state?.deviceId === "dev-a" && v.health?.status === "ok";
      },
      40_000,
    );
  });

  it("publishes the will ('lost') when an agent process is killed with SIGKILL", async () => {
    const creds = writeCredentials(join(dir, "dev-c.json"), "dev-c", PASS["dev-c"]);
    const child: ChildProcess = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "scripts/fleet-sim.ts",
        "--id",
        "dev-c",
        "--url",
        broker.url,
        "--ca",
        broker.ca,
        "--credentials",
        creds,
        "--keepalive",
        "5",
        "--quiet",
      ],
      { stdio: "ignore" },
    );
    try {
      await ready("dev-c");
      // One agent runs in the simulator's own process: SIGKILL is a box losing power.
      child.kill("SIGKILL");
      await waitFor(
        "dev-c lost",
        async () => (await op.inventory({ device: "dev-c", settleMs: 200 })).get("dev-c")?.availability === "lost",
        20_000,
      );
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("clears its retained topics when decommissioned and stays away", async () => {
    const d = await sim("dev-d");
    await ready("dev-d");
    const r = await op.request("dev-d", "decommission");
    assert.ok(r.ok);
    await waitFor("dev-d gone", async () => (await op.inventory({ device: "dev-d", settleMs: 300 })).get("dev-d") === undefined, 10_000);
    assert.equal(d.fleet.connected, false);
    assert.match(d.sys.files.get("/data/gate64/fleet.json") ?? "", /"decommissioned":true/);
  });
});

async function reconnect(op: Op): Promise<Op> {
  if (op.client.connected) return op;
  await op.close().catch(() => undefined);
  return Operator.connect(op.config);
}

function nextMessage(c: MqttClient): Promise<[string, Buffer, { properties?: { correlationData?: Buffer } }]> {
  return new Promise((resolve) => c.once("message", (t, p, packet) => resolve([t, p, packet])));
}
