// scripts/flash against a file and a loop device: writes, verifies, provisions, and refuses
// what it must (a mounted device, the running system's disk, no confirmation without a terminal).
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

const dir = mkdtempSync(join(tmpdir(), "gate64-flash-"));
const image = join(dir, "disk.img");

function flash(...args: string[]) {
  const r = spawnSync("bash", ["scripts/flash", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

before(() => {
  // A small GPT image with a FAT ESP at 16 MiB, as boards with a bootloader in raw space have it
  // (image/boards/rock-pi-e/layout.json): flash finds the ESP in the GPT, wherever it is.
  execFileSync("truncate", ["-s", "40M", image]);
  execFileSync("sfdisk", ["--quiet", image], {
    input: 'label: gpt\nstart=32768, size=16384, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="gate64-esp"\n',
  });
  execFileSync("mkfs.vfat", ["-C", join(dir, "esp.img"), "8192"]);
  execFileSync("mmd", ["-i", join(dir, "esp.img"), "::gate64"]);
  execFileSync("dd", [`if=${join(dir, "esp.img")}`, `of=${image}`, "bs=1M", "seek=16", "conv=notrunc", "status=none"]);
  execFileSync("zstd", ["-q", "-f", image, "-o", `${image}.zst`]);
  writeFileSync(join(dir, "provision.json"), JSON.stringify({ deviceId: "flash-test" }));
});

after(() => execFileSync("rm", ["-rf", dir]));

describe("flash", () => {
  it("writes a file target, verifies it and provisions the ESP", () => {
    const target = join(dir, "target.img");
    const r = flash(`${image}.zst`, target, "--yes", "--provision", join(dir, "provision.json"));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /verified sha256 [0-9a-f]{64}/);
    const got = execFileSync("mtype", ["-i", `${target}@@${16 * 1024 * 1024}`, "::gate64/provision.json"], { encoding: "utf8" });
    assert.deepEqual(JSON.parse(got), { deviceId: "flash-test" });
  });

  it("asks for confirmation and refuses without a terminal", () => {
    const r = flash(image, join(dir, "t2.img"));
    assert.notEqual(r.code, 0);
    assert.match(r.out, /not a terminal: pass --yes/);
  });

  it("writes a loop device and refuses it while it is mounted", () => {
    const backing = join(dir, "loop.img");
    execFileSync("truncate", ["-s", "48M", backing]);
    const loop = execFileSync("losetup", ["-f", "--show", backing], { encoding: "utf8" }).trim();
    const mnt = join(dir, "mnt");
    try {
      assert.equal(flash(image, loop, "--yes").code, 0);
      execFileSync("mkfs.ext4", ["-q", "-F", loop]);
      execFileSync("mkdir", ["-p", mnt]);
      execFileSync("mount", [loop, mnt]);
      const r = flash(image, loop, "--yes");
      assert.notEqual(r.code, 0);
      assert.match(r.out, /is mounted .*refusing/);
    } finally {
      spawnSync("umount", [mnt]);
      spawnSync("losetup", ["-d", loop]);
    }
  });

  it("refuses the disk that holds the running system", () => {
    const root = execFileSync("findmnt", ["-n", "-o", "SOURCE", "/"], { encoding: "utf8" }).trim();
    // Dry run: the safety checks run, nothing could be written even if they were wrong.
    const r = spawnSync("bash", ["scripts/flash", image, root, "--yes"], {
      encoding: "utf8",
      env: { ...process.env, GATE64_FLASH_DRY_RUN: "1" },
    });
    assert.notEqual(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(`${r.stdout}${r.stderr}`, /holds the running system/);
  });
});
