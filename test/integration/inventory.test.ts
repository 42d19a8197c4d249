// The hardware inventory read from this machine's /proc and /sys (real, not the box: the lab
// test reads the box's): it parses, finds the NICs with their MACs, and says what it cost.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { it } from "node:test";
import { hardwareLine, InventorySchema, readInventory } from "../../agent/src/observe/inventory.js";
import { realSystem } from "../../agent/src/system/real.js";

it("reads this machine's inventory: memory, OS, each physical NIC with its MAC, and its own cost", async () => {
  const inv = await readInventory(realSystem, "9.9.9");
  assert.deepEqual(InventorySchema.parse(inv), inv, "what the box publishes is what the schema says");
  assert.equal(inv.memoryBytes, totalmem());
  assert.equal(inv.cpu.cores, cpus().length);
  assert.equal(inv.os.kernel, release());
  assert.ok(
    inv.storage.length > 0 && inv.storage.every((d) => d.device.startsWith("/dev/") && d.sizeBytes > 0),
    JSON.stringify(inv.storage),
  );
  const macs = readdirSync("/sys/class/net")
    .filter((n) => n !== "lo" && readdirSync(`/sys/class/net/${n}`).includes("device"))
    .map((n) => readFileSync(`/sys/class/net/${n}/address`, "utf8").trim());
  for (const mac of macs)
    assert.ok(
      inv.nics.some((n) => n.mac === mac),
      `${mac} in ${JSON.stringify(inv.nics)}`,
    );
  assert.ok(inv.cost.ms > 0 && inv.cost.processes !== null && inv.cost.processes >= 0);
  assert.match(hardwareLine(inv), /GiB/);
});
