// The ROCK Pi E image (image/boards/rock-pi-e), checked as far as this machine can without the
// board: Debian's U-Boot at the sector the RK3328 boot ROM reads, byte for byte the packaged
// file; the partitions after it; the kernel's own device tree and the board's console in the UKI;
// the NIC names bound to device-tree nodes that exist and are the ports the docs say; and the
// image's kernel, initramfs and root booted to a login prompt in the arm64 lab (with a lab UKI:
// the RK3328 device tree cannot describe QEMU's virt machine).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { peSection } from "../../agent/src/update/uki.js";
import type { BoardProfile } from "../../scripts/board.js";
import { editEsp, partition, readBytes } from "../../scripts/lab/disk.js";
import { Lab } from "../../scripts/lab/lab.js";
import { waitFor } from "../../scripts/lab/netns.js";

const OUT = "out/rock-pi-e";
const IMAGE = join(OUT, "disk.img");
const WORK = join(OUT, "work");

/** The body of a device-tree node in dtc's source output, nested nodes included. */
function dtsNode(dts: string, name: string): string {
  const start = dts.indexOf(`${name} {`);
  assert.ok(start >= 0, `no node ${name} in the device tree`);
  let depth = 0;
  for (let i = dts.indexOf("{", start); i < dts.length; i++) {
    if (dts[i] === "{") depth++;
    else if (dts[i] === "}" && --depth === 0) return dts.slice(start, i + 1);
  }
  throw new Error(`unterminated node ${name}`);
}

describe("the ROCK Pi E image", { timeout: 15 * 60_000 }, () => {
  let profile: BoardProfile;
  let kver: string;

  before(() => {
    assert.ok(existsSync(IMAGE), `${IMAGE} is missing: npm test builds it (scripts/test-all)`);
    profile = JSON.parse(readFileSync(join(WORK, "board.json"), "utf8")) as BoardProfile;
    kver = readdirSync(join(WORK, "root/usr/lib/modules"))[0] as string;
  });

  it("has Debian's U-Boot at sector 64, byte for byte the packaged file", () => {
    assert.equal(profile.layout.raw.length, 1);
    const raw = profile.layout.raw[0] as { file: string; offsetBytes: number };
    assert.equal(raw.offsetBytes, 64 * 512);
    const blob = readFileSync(join(WORK, "buildroot", raw.file));
    assert.ok(readBytes(IMAGE, raw.offsetBytes, blob.length).equals(blob), "the disk's bytes differ from the file");
    // The hash dpkg recorded when it installed u-boot-rockchip (from the signed archive).
    const info = join(WORK, "buildroot/var/lib/dpkg/info");
    const sums = readdirSync(info).find((f) => /^u-boot-rockchip(:arm64)?\.md5sums$/.test(f));
    assert.ok(sums, "no md5sums for u-boot-rockchip");
    const want = readFileSync(join(info, sums), "utf8")
      .split("\n")
      .find((l) => l.endsWith(` ${raw.file.slice(1)}`))
      ?.split(" ")[0];
    assert.equal(createHash("md5").update(blob).digest("hex"), want);
    const esp = partition(IMAGE, "gate64-esp");
    assert.equal(esp.startBytes, 16 * 1024 * 1024);
    assert.ok(raw.offsetBytes + blob.length <= esp.startBytes, "U-Boot runs into the ESP");
  });

  it("boots a UKI with the kernel's RK3328 device tree and the board's console", () => {
    let uki = Buffer.alloc(0);
    editEsp(IMAGE, (esp) => {
      uki = execFileSync("mtype", ["-i", esp, "::EFI/Linux/gate64-1-a.efi"], { maxBuffer: 256 * 1024 * 1024 });
      assert.ok(execFileSync("mdir", ["-b", "-i", esp, "::EFI/BOOT"], { encoding: "utf8" }).includes("BOOTAA64.EFI"));
    });
    const dtb = readFileSync(join(WORK, `root/usr/lib/linux-image-${kver}`, "rockchip/rk3328-rock-pi-e.dtb"));
    assert.ok(dtb.equals(peSection(uki, ".dtb") ?? new Uint8Array()), "the UKI's .dtb is not the kernel's rk3328-rock-pi-e.dtb");
    const cmdline = Buffer.from(peSection(uki, ".cmdline") ?? []).toString("latin1");
    assert.match(cmdline, /root=PARTLABEL=gate64-root-a /);
    assert.match(cmdline, /console=ttyS2,1500000/);
    // The kernel's security modules but BPF LSM (scripts/build-image).
    assert.match(cmdline, / lsm=[a-z,]*apparmor[a-z,]* /);
    assert.doesNotMatch(cmdline, /lsm=\S*bpf/);
    // The device trees travel in the UKI, not in the root (56 MB of them in the package).
    const listing = execFileSync("unsquashfs", ["-l", join(WORK, "root.squashfs")], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    assert.doesNotMatch(listing, /usr\/lib\/linux-image-/);
    assert.match(listing, /usr\/lib\/systemd\/network\/10-wan\.link/);
  });

  it("names the ports after device-tree nodes that exist: WAN the gigabit RGMII MAC, LAN the 100M one", () => {
    const dts = execFileSync(
      "dtc",
      ["-q", "-I", "dtb", "-O", "dts", join(WORK, `root/usr/lib/linux-image-${kver}`, profile.deviceTree ?? "")],
      {
        encoding: "utf8",
      },
    );
    const linkDir = "image/boards/rock-pi-e/overlay/usr/lib/systemd/network";
    const modes: Record<string, string> = {};
    for (const f of readdirSync(linkDir)) {
      const text = readFileSync(join(linkDir, f), "utf8");
      const path = /^Path=platform-([0-9a-f]+)\.ethernet$/m.exec(text)?.[1];
      const name = /^Name=(\w+)$/m.exec(text)?.[1];
      assert.ok(path && name, `${f}: no platform path or name`);
      const node = dtsNode(dts, `ethernet@${path}`);
      assert.match(node, /compatible = "rockchip,rk3328-gmac"/, `${f}: ethernet@${path} is not an RK3328 GMAC`);
      assert.match(node, /status = "okay"/, `${f}: ethernet@${path} is disabled on this board`);
      modes[name] = /phy-mode = "(\w+)"/.exec(node)?.[1] ?? "";
    }
    assert.deepEqual(modes, { lan: "rmii", wan: "rgmii" });
  });

  describe("in the arm64 lab, with a UKI without the board's device tree", () => {
    let lab: Lab;
    let copyDir = "";

    before(async () => {
      const stage = join(WORK, "buildroot");
      execFileSync("chroot", [
        stage,
        "ukify",
        "build",
        `--linux=/tmp/uki/vmlinuz-${kver}`,
        `--initrd=/tmp/uki/initrd.img-${kver}`,
        "--efi-arch=aa64",
        `--uname=${kver}`,
        "--os-release=@/usr/lib/os-release",
        "--cmdline=root=PARTLABEL=gate64-root-a rauc.slot=a ro rootfstype=squashfs console=ttyAMA0,115200",
        "--output=/tmp/uki/lab.efi",
      ]);
      // A copy of the image with the lab UKI in place of the board's.
      copyDir = mkdtempSync(join(tmpdir(), "gate64-rock-pi-e-"));
      const copy = join(copyDir, "disk.img");
      execFileSync("cp", ["--sparse=always", IMAGE, copy]);
      editEsp(copy, (esp) => execFileSync("mcopy", ["-o", "-i", esp, join(stage, "tmp/uki/lab.efi"), "::EFI/Linux/gate64-1-a.efi"]));
      lab = new Lab({ image: copy, board: "arm64-efi", serial: "file" });
      await lab.start();
    });

    after(async () => {
      await lab?.stop();
      if (copyDir) rmSync(copyDir, { recursive: true, force: true });
    });

    it("boots the board's kernel, initramfs and root to a login prompt", async () => {
      await waitFor("login prompt", () => existsSync(lab.serialLog) && /login: /.test(readFileSync(lab.serialLog, "utf8")), 400_000).catch(
        (e: Error) => {
          throw new Error(`${e.message}; serial console (last lines):\n${lab.tail(60)}`);
        },
      );
      const log = readFileSync(lab.serialLog, "utf8");
      assert.match(log, /gate64/i);
      const con = await lab.console();
      try {
        assert.equal((await con.run("uname -r")).output.trim(), kver);
        assert.equal((await con.run("findmnt -n -o FSTYPE /")).output.trim(), "squashfs");
        assert.match((await con.run("cat /usr/lib/systemd/network/10-wan.link")).output, /platform-ff540000\.ethernet/);
      } finally {
        con.close();
      }
    });
  });
});
