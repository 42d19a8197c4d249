// System on a real Linux machine.
import { execFile, spawn } from "node:child_process";
import { mkdir, open, readdir, readFile, rename, rm, symlink } from "node:fs/promises";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import type { RunResult, System } from "./system.js";

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export const realSystem: System = {
  run(cmd, args, opts = {}) {
    return new Promise<RunResult>((resolve) => {
      const child = execFile(
        cmd,
        [...args],
        { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024, encoding: "utf8" },
        (err, stdout, stderr) => {
          const code = err
            ? typeof (err as NodeJS.ErrnoException).code === "number"
              ? Number((err as NodeJS.ErrnoException).code)
              : 127
            : 0;
          resolve({ code: err && code === 0 ? 1 : code, stdout, stderr: stderr || (err && !stderr ? err.message : "") });
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  },
  async readFile(path) {
    try {
      return await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  },
  async writeFileAtomic(path, data, mode = 0o644) {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    const fh = await open(tmp, "w", mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await fsyncDir(dirname(path));
  },
  async remove(path) {
    await rm(path, { recursive: true, force: true });
  },
  async list(dir) {
    try {
      return await readdir(dir);
    } catch {
      return [];
    }
  },
  async swapSymlink(target, link) {
    const tmp = `${link}.tmp-${process.pid}`;
    await rm(tmp, { force: true });
    await symlink(target, tmp);
    await rename(tmp, link);
    await fsyncDir(dirname(link));
  },
  watch(cmd, args, onLine) {
    const child = spawn(cmd, [...args], { stdio: ["ignore", "pipe", "ignore"] });
    child.on("error", () => undefined);
    createInterface({ input: child.stdout }).on("line", onLine);
    return () => {
      if (child.exitCode === null) child.kill();
    };
  },
  now: () => Date.now(),
};
