// An in-memory System for unit tests and the fleet simulator: files in a Map, commands answered
// by handlers the test installs, every command recorded.
import { createHash } from "node:crypto";
import type { DownloadOptions, RunResult, System } from "./system.js";

export type CommandHandler = (args: readonly string[], input?: string) => RunResult | Promise<RunResult>;

export class FakeSystem implements System {
  readonly files = new Map<string, string>();
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

  async remove(path: string): Promise<void> {
    for (const k of [...this.files.keys()]) if (k === path || k.startsWith(`${path}/`)) this.files.delete(k);
    this.links.delete(path);
  }

  async list(dir: string): Promise<string[]> {
    const names = new Set<string>();
    for (const k of this.files.keys()) if (k.startsWith(`${dir}/`)) names.add(k.slice(dir.length + 1).split("/")[0] as string);
    return [...names];
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
