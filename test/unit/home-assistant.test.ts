// Home Assistant discovery as data: where each config goes, what it points at, and removal.
import assert from "node:assert/strict";
import { it } from "node:test";
import { discoveryMessages } from "../../agent/src/fleet/home-assistant.js";
import { topics } from "../../agent/src/fleet/protocol.js";

const t = topics("gate64");

it("publishes one retained config per entity under the box's own node id, pointing at its topics", () => {
  const m = discoveryMessages({ id: "site-7", t, discoveryPrefix: "homeassistant", firmware: "1.2.0", enabled: true });
  assert.deepEqual(
    m.map((x) => x.topic),
    [
      "homeassistant/binary_sensor/gate64-site-7/health/config",
      "homeassistant/sensor/gate64-site-7/nat64_sessions/config",
      "homeassistant/sensor/gate64-site-7/pool4_use/config",
      "homeassistant/sensor/gate64-site-7/dns_queries/config",
      "homeassistant/sensor/gate64-site-7/uptime/config",
      "homeassistant/update/gate64-site-7/firmware/config",
    ],
  );
  const own = new Set([t.state("site-7"), t.telemetry("site-7"), t.availability("site-7")]);
  for (const { payload } of m) {
    const c = JSON.parse(payload) as {
      state_topic: string;
      availability: { topic: string }[];
      unique_id: string;
      device: { sw_version: string };
    };
    assert.ok(own.has(c.state_topic), c.state_topic);
    assert.ok(own.has(c.availability[0]?.topic as string));
    assert.match(c.unique_id, /^gate64-site-7_/);
    assert.equal(c.device.sw_version, "1.2.0");
  }
  assert.equal(new Set(m.map((x) => JSON.parse(x.payload).unique_id)).size, m.length, "unique ids are unique");
});

it("removes every entity (empty retained payloads) when turned off", () => {
  const m = discoveryMessages({ id: "site-7", t, discoveryPrefix: "ha", firmware: "1.2.0", enabled: false });
  assert.equal(m.length, 6);
  assert.ok(m.every((x) => x.payload === "" && x.topic.startsWith("ha/")));
});
