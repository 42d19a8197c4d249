// The inventory's reading of kernel files, on the fake system: an ARM board without DMI, a NIC
// whose link is down, devices that are not disks or NICs. The real machine's: test/integration.
import assert from "node:assert/strict";
import { it } from "node:test";
import { InventorySchema, readInventory } from "../../agent/src/observe/inventory.js";
import { FakeSystem } from "../../agent/src/system/fake.js";

/** A fake system holding these files, with systemd-detect-virt answering `virt` ("none": hardware). */
function boxWith(files: Record<string, string>, virt: string): FakeSystem {
  const sys = new FakeSystem();
  for (const [path, text] of Object.entries(files)) sys.files.set(path, text);
  sys.handlers.set("systemd-detect-virt", () => ({ code: virt === "none" ? 1 : 0, stdout: `${virt}\n`, stderr: "" }));
  return sys;
}

it("reads an ARM board's inventory from the device tree, /proc and /sys", async () => {
  const files: Record<string, string> = {
    "/sys/firmware/devicetree/base/model": "Radxa ROCK Pi E\0",
    "/proc/cpuinfo": "processor\t: 0\nBogoMIPS\t: 48.00\n\nprocessor\t: 1\nBogoMIPS\t: 48.00\n",
    "/proc/meminfo": "MemTotal:        1014512 kB\nMemFree:          500000 kB\n",
    "/etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\n',
    "/sys/block/mmcblk0/device/type": "SD\n",
    "/sys/block/mmcblk0/size": "62333952\n",
    "/sys/block/mmcblk0/queue/rotational": "0\n",
    "/sys/block/loop0/size": "1024\n",
    "/sys/class/net/eth0/device/uevent": "DRIVER=rk_gmac-dwmac\nOF_NAME=ethernet\n",
    "/sys/class/net/eth0/address": "aa:bb:cc:00:00:01\n",
    "/sys/class/net/eth0/speed": "1000\n",
    "/sys/class/net/eth1/device/uevent": "DRIVER=r8152\n",
    "/sys/class/net/eth1/address": "aa:bb:cc:00:00:02\n",
    "/sys/class/net/eth1/speed": "-1\n",
    "/sys/class/net/lo/address": "00:00:00:00:00:00\n",
    "/sys/class/net/gprobe0/address": "aa:bb:cc:00:00:03\n",
  };
  const sys = boxWith(files, "none");
  const inv = await readInventory(sys, "1.2.3");
  assert.deepEqual(InventorySchema.parse(inv), inv);
  assert.deepEqual(inv.system, { model: "Radxa ROCK Pi E", virtual: false });
  assert.deepEqual(inv.board, {});
  assert.equal(inv.cpu.cores, 2);
  assert.equal(inv.cpu.model, undefined);
  assert.equal(inv.memoryBytes, 1014512 * 1024);
  assert.deepEqual(inv.storage, [{ device: "/dev/mmcblk0", sizeBytes: 62333952 * 512, type: "SSD" }]);
  assert.deepEqual(inv.os.distro, "Debian GNU/Linux");
  assert.deepEqual(inv.os.release, "13");
  assert.deepEqual(inv.nics, [
    { name: "eth0", mac: "aa:bb:cc:00:00:01", speedMbps: 1000, driver: "rk_gmac-dwmac" },
    { name: "eth1", mac: "aa:bb:cc:00:00:02", driver: "r8152" },
  ]);
  assert.deepEqual(sys.commands, ["systemd-detect-virt --vm"]);
});

it("takes the DMI names, and says a VM is one", async () => {
  const sys = boxWith(
    {
      "/sys/class/dmi/id/sys_vendor": "QEMU\n",
      "/sys/class/dmi/id/product_name": "Standard PC (Q35 + ICH9, 2009)\n",
      "/sys/class/dmi/id/product_serial": "Not Specified\n",
      "/sys/class/dmi/id/board_vendor": "To be filled by O.E.M.\n",
      "/proc/cpuinfo": "processor\t: 0\nmodel name\t: QEMU TCG CPU version 2.5+\n",
    },
    "qemu",
  );
  const inv = await readInventory(sys, "1.2.3");
  // Placeholders firmware vendors leave are "not known".
  assert.deepEqual(inv.system, { manufacturer: "QEMU", model: "Standard PC (Q35 + ICH9, 2009)", virtual: true });
  assert.deepEqual(inv.board, {});
  assert.equal(inv.cpu.model, "QEMU TCG CPU version 2.5+");
});
