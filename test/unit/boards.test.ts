// Board profiles are data: each one under image/boards validates against scripts/board.ts's
// schema (which lists every key something reads), a wrong key is named, and the lab's GPT reader
// finds partitions where sfdisk put them.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { boardNames, IMAGE_DIR, loadBoard } from "../../scripts/board.js";
import { parseGpt } from "../../scripts/lab/disk.js";

const dir = mkdtempSync(join(tmpdir(), "gate64-boards-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("board profiles", () => {
  it("every board validates and names its architecture's QEMU and firmware", () => {
    assert.deepEqual(boardNames().sort(), ["arm64-efi", "rock-pi-e", "x86-64"]);
    for (const name of boardNames()) {
      const b = loadBoard(name);
      assert.equal(b.name, name);
      assert.ok(
        b.layout.partitions.some((p) => p.label === "gate64-esp" && p.type === "esp"),
        name,
      );
      assert.ok(b.buildPackages.length > 0, name);
    }
    assert.equal(loadBoard("x86-64").lab.qemu, "qemu-system-x86_64");
    assert.equal(loadBoard("arm64-efi").lab.qemu, "qemu-system-aarch64");
    assert.equal(loadBoard("arm64-efi").efiArch, "aa64");
  });

  it("a board adds its own build packages to its architecture's, for the stage its siblings share", () => {
    const b = loadBoard("rock-pi-e");
    assert.ok(b.buildPackages.includes("u-boot-rockchip:arm64"));
    assert.ok(b.buildPackages.includes("gcc-aarch64-linux-gnu"));
    assert.equal(b.layout.firstPartitionMiB, 16);
    // One build stage per architecture and suite (scripts/build-image): the same list for each board.
    assert.deepEqual(loadBoard("arm64-efi").buildPackages, b.buildPackages);
    assert.ok(!loadBoard("x86-64").buildPackages.includes("u-boot-rockchip:arm64"));
  });

  it("refuses an unknown board, naming the ones there are", () => {
    assert.throws(() => loadBoard("nope"), /no board nope \(have: .*x86-64/);
    assert.throws(() => loadBoard("../arch"), /no board \.\.\/arch/);
  });

  it("the command prints the profile, or names what is wrong and exits 2", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", "scripts/board.ts", "arm64-efi"], { encoding: "utf8" });
    assert.equal((JSON.parse(out) as { debianArch: string }).debianArch, "arm64");
    assert.throws(
      () => execFileSync(process.execPath, ["--import", "tsx", "scripts/board.ts", "nope"], { stdio: ["ignore", "pipe", "pipe"] }),
      (e: { status: number; stderr: Buffer }) => e.status === 2 && /board: no board nope/.test(e.stderr.toString()),
    );
  });

  /** Loads x86-64 from a copy of image/ with one of its files changed. */
  function loadChanged(file: string, change: (json: Record<string, unknown>) => void): () => unknown {
    const copy = mkdtempSync(join(dir, "image-"));
    cpSync(join(IMAGE_DIR, "arch"), join(copy, "arch"), { recursive: true });
    cpSync(join(IMAGE_DIR, "boards", "x86-64"), join(copy, "boards", "x86-64"), { recursive: true });
    const path = join(copy, "boards", "x86-64", file);
    const json = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    change(json);
    writeFileSync(path, JSON.stringify(json));
    return () => loadBoard("x86-64", copy);
  }

  it("names the file and field of a key nothing reads", () => {
    const run = loadChanged("board.json", (j) => {
      j.kernelFlavour = "amd64";
    });
    assert.throws(run, /boards\/x86-64\/board\.json: \(top\): .*kernelFlavour/);
  });

  it("names a bad value and refuses a raw file that overlaps the first partition", () => {
    const console = loadChanged("board.json", (j) => {
      j.console = "serial0";
    });
    assert.throws(console, /board\.json: console: a serial device and its speed/);
    const arch = loadChanged("board.json", (j) => {
      j.arch = "riscv64";
    });
    assert.throws(arch, /board\.json: arch: no .*arch\/riscv64\.json/);
    const raw = loadChanged("layout.json", (j) => {
      j.raw = [{ file: "/usr/lib/u-boot/x/u-boot.bin", offsetBytes: 1024 * 1024 }];
    });
    assert.throws(raw, /layout\.json: raw: \/usr\/lib\/u-boot\/x\/u-boot\.bin starts at or after the first partition/);
  });
});

describe("the lab's GPT reader", () => {
  it("finds the partitions sfdisk wrote, by name", () => {
    const disk = join(dir, "gpt.img");
    execFileSync("truncate", ["-s", "64M", disk]);
    execFileSync("sfdisk", ["--quiet", disk], {
      input: [
        "label: gpt",
        'start=32768, size=16384, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="gate64-esp"',
        'start=49152, size=8192, type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE, name="gate64-root-a"',
        "",
      ].join("\n"),
    });
    const head = readFileSync(disk).subarray(0, 34 * 512);
    assert.deepEqual(parseGpt(head), [
      { name: "gate64-esp", startBytes: 16 * 1024 * 1024, sizeBytes: 8 * 1024 * 1024 },
      { name: "gate64-root-a", startBytes: 24 * 1024 * 1024, sizeBytes: 4 * 1024 * 1024 },
    ]);
    assert.throws(() => parseGpt(Buffer.alloc(34 * 512)), /no GPT header/);
  });
});
