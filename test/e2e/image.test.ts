// The build's published outputs, as someone who downloads them checks them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { it } from "node:test";

const OUT = process.env.GATE64_OUT ?? "out/x86-64";

it("SHA256SUMS lists exactly the published files, and they verify", () => {
  const sums = readFileSync(`${OUT}/SHA256SUMS`, "utf8");
  assert.deepEqual(
    sums
      .trim()
      .split("\n")
      .map((l) => l.split(/\s+\*?/)[1])
      .sort(),
    ["disk.img", "disk.img.zst", "manifest.json"],
  );
  const r = spawnSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: OUT, encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

it("the manifest holds the root squashfs's hash", () => {
  const manifest = JSON.parse(readFileSync(`${OUT}/manifest.json`, "utf8")) as { sha256: { rootSquashfs: string } };
  const actual = createHash("sha256")
    .update(readFileSync(`${OUT}/work/root.squashfs`))
    .digest("hex");
  assert.equal(manifest.sha256.rootSquashfs, actual);
});
