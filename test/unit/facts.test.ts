// The facts the renderer reads from the system: the WAN's IPv4 address and every local one.
import assert from "node:assert/strict";
import { it } from "node:test";
import { validateConfig } from "../../agent/src/config/validate.js";
import { readFacts } from "../../agent/src/observe/facts.js";
import { PROBE_IFNAME } from "../../agent/src/render/guard.js";
import { FakeSystem } from "../../agent/src/system/fake.js";

// `ip -j -4 addr show` as iproute2 prints it (fields the reader does not use trimmed).
const addr = (ifname: string, local: string, prefixlen: number, scope = "global") => ({
  ifindex: 1,
  ifname,
  flags: ["UP"],
  addr_info: [{ family: "inet", local, prefixlen, scope, label: ifname }],
});
const IP_ADDR = JSON.stringify([
  addr("lo", "127.0.0.1", 8, "host"),
  addr("lan", "10.1.0.1", 24),
  addr("wan", "198.51.100.2", 24),
  addr(PROBE_IFNAME, "192.0.0.2", 29),
]);

function box(mode: "dhcp" | "static") {
  const v = validateConfig({
    interfaces: {
      lan: { name: "lan" },
      wan: { name: "wan", ...(mode === "static" ? { ipv4: { mode, address: "203.0.113.9/24", gateway: "203.0.113.1" } } : {}) },
    },
    ...(mode === "static" ? { dns64: { upstreams: ["192.0.2.53"] } } : {}),
  });
  assert.ok(v.ok, JSON.stringify(v));
  const sys = new FakeSystem();
  sys.handlers.set("ip", () => ({ code: 0, stdout: IP_ADDR, stderr: "" }));
  return { sys, config: v.config };
}

it("facts: the WAN's DHCP address and the local addresses from one `ip` run", async () => {
  const { sys, config } = box("dhcp");
  const facts = await readFacts(sys, config, "b1");
  assert.deepEqual(facts, { deviceId: "b1", wanIPv4: "198.51.100.2/24", localIPv4: ["10.1.0.1/24", "198.51.100.2/24"] });
  assert.deepEqual(sys.commands, ["ip -j -4 addr show"]);
});

it("facts: a static WAN address comes from the config; no lease yet means no WAN address", async () => {
  const { sys, config } = box("static");
  assert.equal((await readFacts(sys, config, "b1")).wanIPv4, "203.0.113.9/24");
  const bare = box("dhcp");
  bare.sys.handlers.set("ip", () => ({ code: 0, stdout: JSON.stringify([addr("lan", "10.1.0.1", 24)]), stderr: "" }));
  assert.deepEqual(await readFacts(bare.sys, bare.config, "b1"), { deviceId: "b1", localIPv4: ["10.1.0.1/24"] });
});
