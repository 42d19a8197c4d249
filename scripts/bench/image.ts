// npm run bench -- image [--build] [--cold]
// Image sizes from the last build's manifest (raw disk, compressed, root squashfs, root files);
// with --build, a timed warm build (package cache in use); with --cold, also a build with an
// empty cache directory (every package downloaded).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { report } from "./report.js";

function timedBuild(env: NodeJS.ProcessEnv): number {
  const t0 = Date.now();
  execFileSync("bash", ["scripts/build-image", "--board", "x86-64"], { stdio: ["ignore", "ignore", "inherit"], env });
  return (Date.now() - t0) / 1000;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { build: { type: "boolean", default: false }, cold: { type: "boolean", default: false } },
  });
  if (values.build) report({ bench: "image", build: "warm", seconds: +timedBuild(process.env).toFixed(1) });
  if (values.cold) {
    const cache = mkdtempSync(join(tmpdir(), "gate64-cold-cache-"));
    try {
      // Go modules stay warm (CoreDNS is not what this measures); Debian packages and Node do not.
      execFileSync("cp", ["-a", join(process.env.HOME ?? "/root", ".cache/gate64/go-mod"), cache]);
      report({ bench: "image", build: "cold", seconds: +timedBuild({ ...process.env, GATE64_CACHE: cache }).toFixed(1) });
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }
  const m = JSON.parse(readFileSync("out/x86-64/manifest.json", "utf8")) as {
    sizes: Record<string, number>;
    packages: Record<string, string>;
  };
  report({
    bench: "image",
    rawBytes: statSync("out/x86-64/disk.img").size,
    compressedBytes: statSync("out/x86-64/disk.img.zst").size,
    rootSquashfsBytes: m.sizes.rootSquashfsBytes,
    rootFilesBytes: m.sizes.rootInstalledBytes,
    packages: Object.keys(m.packages).length,
  });
}
