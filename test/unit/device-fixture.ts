// A booted device core on the in-memory system, as the daemon wires it (shared by unit tests).
import assert from "node:assert/strict";
import { Applier } from "../../agent/src/apply/applier.js";
import { validateConfig } from "../../agent/src/config/validate.js";
import { Device } from "../../agent/src/device/device.js";
import { EventBus } from "../../agent/src/device/events.js";
import { IF_INET6, ifInet6Line } from "../../agent/src/lib/if-inet6.js";
import type { FakeSystem } from "../../agent/src/system/fake.js";

export async function bootDevice(sys: FakeSystem, input: object, provisionedId: string, log: (l: string) => void = () => undefined) {
  const v = validateConfig({ interfaces: { lan: { name: "lan", ipv6: { address: "fd00::1/64" } }, wan: { name: "wan" } }, ...input });
  assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
  sys.files.set(IF_INET6, ifInet6Line("lan", "fd00::1"));
  const check = async () => ({ status: "ok" as const, checkedAt: "", probes: [] });
  const applier = new Applier({ sys, facts: async () => ({ deviceId: provisionedId }), check, log });
  await applier.boot(v.config, input);
  const device = new Device({ sys, applier, bus: new EventBus(() => undefined), id: provisionedId, firmware: "x", check, log });
  return { device, config: v.config };
}
