// An in-memory System for unit tests and the fleet simulator: files in a Map, commands answered
// by handlers the test installs, every command recorded.
import { createHash } from "node:crypto";
import type { DownloadOptions, RunResult, System } from "./system.js";

export type CommandHandler = (args: readonly string[], input?: string) => RunResult | Promise<RunResult>;

/**
 * Files by path, with each directory's entries indexed, so that list() and remove() read only
 * what is under a directory instead of every file (the fleet simulator lists and prunes each
 * box's revision history on every one of thousands of applies). Tests use it as a plain Map.
 */
class FileTree extends Map<string, string> {
  /** Directory -> the names in it that hold something: a file, or a directory with entries. */
  private readonly dirs = new Map<string, Set<string>>();

  override set(path: string, data: string): this {
    // Up from the file's own directory until a directory that already has the entry.
    for (let child = path, i = path.lastIndexOf("/"); i >= 0; child = child.slice(0, i), i = i === 0 ? -1 : child.lastIndexOf("/", i - 1)) {
      const dir = child.slice(0, i);
      const entries = this.dirs.get(dir) ?? new Set<string>();
      const name = child.slice(i + 1);
      if (entries.has(name)) break;
      entries.add(name);
      this.dirs.set(dir, entries);
    }
    return super.set(path, data);
  }

  override delete(path: string): boolean {
    if (!super.delete(path)) return false;
    // Up while what is left at a path is empty: neither a file nor a directory with entries.
    for (let p = path; p !== "" && !this.has(p) && !this.dirs.has(p); ) {
      const i = p.lastIndexOf("/");
      if (i < 0) break;
      const dir = p.slice(0, i);
      const entries = this.dirs.get(dir);
      entries?.delete(p.slice(i + 1));
      if (entries?.size !== 0) break;
      this.dirs.delete(dir);
      p = dir;
    }
    return true;
  }

  override clear(): void {
    super.clear();
    this.dirs.clear();
  }

  /** The names directly in dir: files and directories. */
  names(dir: string): string[] {
    return [...(this.dirs.get(dir) ?? [])];
  }

  /** The file at path and every file beneath it. */
  under(path: string): string[] {
    const out = this.has(path) ? [path] : [];
    for (const name of this.names(path)) out.push(...this.under(`${path}/${name}`));
    return out;
  }
}

export class FakeSystem implements System {
  readonly files = new FileTree();
  readonly links = new Map<string, string>();
  readonly commands: string[] = [];
  readonly handlers = new Map<string, CommandHandler>();
  private readonly started = Date.now();
  /** Throw from writeFileAtomic after this many writes (simulates a power cut mid-apply). */
  failWritesAfter: number | null = null;
  private writes = 0;

  /**
   * A fixed epoch that advances with real time, so waits and timeouts in the code under test end.
   * The simulator passes the wall clock: fleet command deadlines are wall-clock times.
   */
  constructor(readonly epoch = 1_700_000_000_000) {}

  async run(cmd: string, args: readonly string[], opts: { input?: string; onLine?: (line: string) => void } = {}): Promise<RunResult> {
    this.commands.push([cmd, ...args].join(" "));
    const h = this.handlers.get(cmd);
    const r = h ? await h(args, opts.input) : { code: 0, stdout: "", stderr: "" };
    for (const line of r.stdout.split("\n")) if (line !== "") opts.onLine?.(line);
    return r;
  }

  async rename(from: string, to: string): Promise<void> {
    const data = this.files.get(from);
    if (data === undefined) throw new Error(`ENOENT: ${from}`);
    this.files.delete(from);
    this.files.set(to, data);
  }

  /** Downloads: URL -> content, installed by the test. */
  readonly urls = new Map<string, string>();

  async download(url: string, dest: string, opts: DownloadOptions): Promise<{ bytes: number; sha256: string }> {
    const body = this.urls.get(url);
    if (body === undefined) throw new Error(`${url}: HTTP 404`);
    if (body.length > opts.maxBytes) throw new Error(`more than ${opts.maxBytes} bytes`);
    opts.onBytes?.(body.length);
    this.files.set(dest, body);
    return { bytes: body.length, sha256: createHash("sha256").update(body).digest("hex") };
  }

  /** Symlinks are recorded in `links` but not followed: tests read files by their real paths. */
  async readFile(path: string): Promise<string | null> {
    return this.files.get(path) ?? null;
  }

  async writeFileAtomic(path: string, data: string): Promise<void> {
    if (this.failWritesAfter !== null && this.writes >= this.failWritesAfter) throw new Error("power cut");
    this.writes++;
    this.files.set(path, data);
  }

  /** Kernel files that do not exist: a write at or under one of these paths fails with ENOENT. */
  readonly absent = new Set<string>();

  async writeKernelFile(path: string, data: string): Promise<void> {
    for (let p = path; p !== ""; p = p.slice(0, Math.max(0, p.lastIndexOf("/"))))
      if (this.absent.has(p)) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    this.files.set(path, data);
  }

  async remove(path: string): Promise<void> {
    for (const k of this.files.under(path)) this.files.delete(k);
    this.links.delete(path);
  }

  async list(dir: string): Promise<string[]> {
    return this.files.names(dir);
  }

  async swapSymlink(target: string, link: string): Promise<void> {
    this.links.set(link, target);
  }

  /** Line callbacks of running watch() commands, by command line: tests call them to emit a line. */
  readonly watchers = new Map<string, (line: string) => void>();

  watch(cmd: string, args: readonly string[], onLine: (line: string) => void): () => void {
    const key = [cmd, ...args].join(" ");
    this.watchers.set(key, onLine);
    return () => this.watchers.delete(key);
  }

  now(): number {
    return this.epoch + (Date.now() - this.started);
  }
}
