// The fleet's own logic without a broker: the outbox bound, reconnect backoff, rollout waves and
// payload parsing with named fields.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { brokerName, FleetAgent } from "../../agent/src/fleet/agent.js";
import { backoffMs, Outbox } from "../../agent/src/fleet/outbox.js";
import {
  CommandSchema,
  DesiredSchema,
  MAX_MESSAGE_BYTES,
  parseMessage,
  protocolJsonSchema,
  topics,
} from "../../agent/src/fleet/protocol.js";
import { planRollout } from "../../agent/src/fleet/rollout.js";
import { FakeSystem } from "../../agent/src/system/fake.js";
import { bootDevice } from "./device-fixture.js";

describe("outbox", () => {
  it("keeps the newest message of a retained topic and drops the oldest others past its bound", () => {
    const o = new Outbox(3);
    o.put({ topic: "s", payload: "1", retain: true });
    o.put({ topic: "s", payload: "2", retain: true });
    for (const n of ["a", "b", "c"]) o.put({ topic: "r", payload: n, retain: false });
    assert.equal(o.size, 3);
    assert.equal(o.dropped, 1);
    assert.deepEqual(
      o.drain().map((m) => m.payload),
      ["2", "b", "c"],
    );
    assert.equal(o.size, 0);
  });
});

describe("reconnect backoff", () => {
  it("grows with the attempt, stays under the cap and is spread by the random draw", () => {
    assert.equal(backoffMs(0, 0.999), 999);
    assert.equal(backoffMs(3, 0.5), 4000);
    assert.equal(backoffMs(30, 0.999), 14_985);
    assert.equal(backoffMs(5, 0), 500);
    const spread = new Set(Array.from({ length: 50 }, (_, i) => backoffMs(4, i / 50)));
    assert.ok(spread.size > 40);
  });
});

describe("rollout plan", () => {
  it("puts the canaries first, then batches of the rest, every device once", () => {
    const devices = Array.from({ length: 7 }, (_, i) => `d${i}`).reverse();
    const waves = planRollout(devices, 2, 3);
    assert.deepEqual(waves, [
      ["d0", "d1"],
      ["d2", "d3", "d4"],
      ["d5", "d6"],
    ]);
    assert.deepEqual(planRollout(["a"], 5, 10), [["a"]]);
    assert.deepEqual(planRollout([], 1, 10), []);
  });
});

describe("protocol payloads", () => {
  it("names the field a command fails on", () => {
    const r = parseMessage(CommandSchema, JSON.stringify({ id: "x", name: "ping", deadline: "soon" }));
    assert.deepEqual(r.ok ? null : [r.field, r.reason.length > 0], ["deadline", true]);
    const j = parseMessage(DesiredSchema, "{");
    assert.equal(j.ok ? null : j.field, "(payload)");
    const d = parseMessage(DesiredSchema, JSON.stringify({ revision: 0, config: {} }));
    assert.equal(d.ok ? null : d.field, "revision");
  });

  it("exports a JSON Schema for every message and keeps group topics apart from device ids", () => {
    const s = protocolJsonSchema() as { messages: Record<string, { type?: string }> };
    for (const m of ["availability", "state", "health", "telemetry", "desired", "reported", "command", "response", "args:logs.tail"])
      assert.ok(s.messages[m], m);
    assert.equal(topics("gate64").groupDesired("lab"), "gate64/_groups/lab/desired");
    assert.equal(CommandSchema.shape.id.safeParse("").success, false);
  });
});

describe("what the fleet side must not trust or leak", () => {
  it("refuses a payload over 1 MiB before parsing it", () => {
    const big = Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x20);
    const r = parseMessage(DesiredSchema, big);
    assert.ok(!r.ok);
    assert.equal(r.field, "(payload)");
    assert.match(r.reason, /1048577 bytes is more than 1048576/);
  });

  it("logs a broker by scheme, host and port, never its userinfo", () => {
    assert.equal(brokerName("mqtts://alice:s3cret@broker.example:8883"), "mqtts://broker.example:8883");
    assert.equal(brokerName("not a url"), "(broker)");
  });

  it("names a damaged credentials file without quoting it", async () => {
    const sys = new FakeSystem();
    sys.files.set("/creds.json", '{"username":"dev","password":"hunter2"'); // cut short
    const lines: string[] = [];
    const { device, config } = await bootDevice(
      sys,
      { mqtt: { enabled: true, url: "mqtts://127.0.0.1:1", credentialsFile: "/creds.json" } },
      "t",
      (l) => lines.push(l),
    );
    const fleet = new FleetAgent({ device, sys, bus: device.deps.bus, mqtt: config.mqtt, log: (l) => lines.push(l) });
    await assert.rejects(
      fleet.start(),
      (e: Error) => /\/creds\.json is not \{"username", "password"\} JSON/.test(e.message) && !e.message.includes("hunter2"),
    );
    await fleet.stop();
    assert.ok(!lines.join("\n").includes("hunter2"));
  });

  it("uses the config's identity.deviceId for its topics when it overrides the provisioned one", async () => {
    const { device } = await bootDevice(new FakeSystem(), { identity: { deviceId: "branch-17" } }, "provisioned-1");
    assert.equal(device.id, "branch-17");
    assert.equal(device.status().deviceId, "branch-17");
  });
});
