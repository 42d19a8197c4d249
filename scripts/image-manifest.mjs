// Prints manifest.json for a built image: every package with its version, and the versions and
// sizes a fleet operator asks about. Usage: node scripts/image-manifest.mjs BOARD WORKDIR KVER JOOLVER VERSION BUNDLE
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const [board, work, kernel, jool, firmware, bundle] = process.argv.slice(2);
// The merged board profile build-image wrote (scripts/board.ts).
const boardJson = JSON.parse(readFileSync(`${work}/board.json`, "utf8"));
const layout = boardJson.layout;
const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const sha256 = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");
const run = (cmd, args) => execFileSync(cmd, args, { encoding: "utf8" }).trim();

const DPKG_FORMAT = ["-f=$", "{Package}\t$", "{Version}\n"].join(""); // dpkg-query's own ${field} syntax
const packages = Object.fromEntries(
  run("dpkg-query", [`--admindir=${join(work, "root/var/lib/dpkg")}`, "-W", DPKG_FORMAT])
    .split("\n")
    .map((l) => l.split("\t")),
);
const corednsVersion = run(`out/coredns/${boardJson.goArch}/coredns`, ["-version"]).split("\n")[0];
const commit = (() => {
  try {
    return run("git", ["rev-parse", "HEAD"]);
  } catch {
    return "unknown";
  }
})();

const manifest = {
  board,
  arch: boardJson.debianArch,
  suite: boardJson.suite,
  commit,
  sourceDateEpoch: Number(process.env.SOURCE_DATE_EPOCH),
  firmwareVersion: firmware,
  bundle,
  versions: {
    agent: pkg.version,
    kernel,
    jool,
    coredns: corednsVersion,
    node: boardJson.nodeRuntime.split("@")[1],
    systemd: packages.systemd,
  },
  sizes: {
    rootSquashfsBytes: statSync(join(work, "root.squashfs")).size,
    rootInstalledBytes: Number(run("du", ["-sb", "--exclude=./boot", join(work, "root")]).split("\t")[0]),
    diskBytes: statSync(`out/${board}/disk.img`).size,
    bundleBytes: statSync(`out/${board}/${bundle}`).size,
    partitionsMiB: Object.fromEntries(layout.partitions.map((p) => [p.label, p.sizeMiB])),
  },
  sha256: {
    rootSquashfs: sha256(join(work, "root.squashfs")),
    bundle: sha256(`out/${board}/${bundle}`),
  },
  packages,
};
process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
