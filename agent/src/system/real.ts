// System on a real Linux machine.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, statfs, symlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { httpResponse } from "./http-get.js";
import { type DownloadOptions, DownloadTooLarge, type RunResult, type System } from "./system.js";

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A read's result, or null for a file that does not exist. */
async function orNull<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
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
      if (opts.onLine && child.stdout) createInterface({ input: child.stdout }).on("line", opts.onLine);
    });
  },
  readFile(path) {
    return orNull(readFile(path, "utf8"));
  },
  readBytes(path) {
    return orNull(readFile(path));
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
  async writeKernelFile(path, data) {
    await writeFile(path, data, { flag: "r+" });
  },
  async remove(path) {
    await rm(path, { recursive: true, force: true });
  },
  async rename(from, to) {
    await rename(from, to);
    await fsyncDir(dirname(to));
  },
  async download(url, dest, opts) {
    return download(url, dest, opts);
  },
  async list(dir) {
    try {
      return await readdir(dir);
    } catch {
      return [];
    }
  },
  async freeBytes(path) {
    const s = await statfs(path);
    return s.bavail * s.bsize;
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

async function download(url: string, dest: string, opts: DownloadOptions): Promise<{ bytes: number; sha256: string }> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    return await streamTo(url, dest, signal, opts);
  } catch (e) {
    if (signal.aborted) throw new Error(`${url}: not complete in ${opts.timeoutMs} ms`);
    throw e;
  }
}

async function streamTo(url: string, dest: string, signal: AbortSignal, opts: DownloadOptions): Promise<{ bytes: number; sha256: string }> {
  const res = await httpResponse(url, signal);
  const length = Number(res.headers["content-length"] ?? Number.NaN);
  if (length > opts.maxBytes) {
    res.destroy();
    throw new DownloadTooLarge(opts.maxBytes, length);
  }
  await mkdir(dirname(dest), { recursive: true });
  const hash = createHash("sha256");
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > opts.maxBytes) return done(new DownloadTooLarge(opts.maxBytes, null));
      hash.update(chunk);
      opts.onBytes?.(bytes);
      done(null, chunk);
    },
  });
  const out = createWriteStream(dest, { mode: 0o600 });
  await pipeline(res, count, out);
  const fh = await open(dest, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { bytes, sha256: hash.digest("hex") };
}
