// npm run bench -- image [--board x86-64] [--build] [--cold]
// Image sizes from the board's last build's manifest (raw disk, compressed, qcow2, root squashfs,
// root files, update bundle);
// with --build, a timed warm build (package cache in use); with --cold, also a build with an
// empty cache directory (every package downloaded).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { report } from "./report.js";

function timedBuild(board: string, env: NodeJS.ProcessEnv): number {
  const t0 = Date.now();
  execFileSync("bash", ["scripts/build-image", "--board", board], { stdio: ["ignore", "ignore", "inherit"], env });
  return (Date.now() - t0) / 1000;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      board: { type: "string", default: "x86-64" },
      build: { type: "boolean", default: false },
      cold: { type: "boolean", default: false },
    },
  });
  const board = values.board;
  const out = `out/${board}`;
  if (values.build) report({ bench: "image", board, build: "warm", seconds: +timedBuild(board, process.env).toFixed(1) });
  if (values.cold) {
    const cache = mkdtempSync(join(tmpdir(), "gate64-cold-cache-"));
    try {
      // Go modules stay warm (CoreDNS is not what this measures); Debian packages and Node do not.
      execFileSync("cp", ["-a", join(process.env.HOME ?? "/root", ".cache/gate64/go-mod"), cache]);
      report({ bench: "image", board, build: "cold", seconds: +timedBuild(board, { ...process.env, GATE64_CACHE: cache }).toFixed(1) });
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }
  const m = JSON.parse(readFileSync(`${out}/manifest.json`, "utf8")) as {
    sizes: Record<string, number>;
    packages: Record<string, string>;
  };
  report({
    bench: "image",
    board,
    rawBytes: statSync(`${out}/disk.img`).size,
    compressedBytes: statSync(`${out}/disk.img.zst`).size,
    qcow2Bytes: statSync(`${out}/disk.qcow2`).size,
    bundleBytes: m.sizes.bundleBytes,
    rootSquashfsBytes: m.sizes.rootSquashfsBytes,
    rootFilesBytes: m.sizes.rootInstalledBytes,
    packages: Object.keys(m.packages).length,
  });
}
