// An in-memory System for unit tests and the fleet simulator: files in a Map, commands answered
// by handlers the test installs, every command recorded.
import { createHash } from "node:crypto";
import { type DownloadOptions, DownloadTooLarge, type RunResult, type System } from "./system.js";

export type CommandHandler = (args: readonly string[], input?: string) => RunResult | Promise<RunResult>;

/** A path's node: the file there, the directory there, or both (any string is a path). */
interface Node {
  text?: string;
  kids?: Map<string, Node>;
}

/**
 * Files by path, held as a tree of directories: list() and remove() of a directory touch only
 * that directory (the fleet simulator stages, lists and prunes each box's revisions on every one
 * of thousands of applies: a flat map of every path with a directory index took 30 of a simulated
 * apply's ~200 us, the tree 15). The part of a Map's interface that tests use.
 */
class FileTree {
  private readonly root: Node = {};

  /** The nodes from the root down to path's, or null when there is nothing at path. */
  private chain(path: string): Node[] | null {
    const nodes = [this.root];
    for (const name of path.split("/")) {
      const next = (nodes.at(-1) as Node).kids?.get(name);
      if (next === undefined) return null;
      nodes.push(next);
    }
    return nodes;
  }

  private node(path: string): Node | undefined {
    let node: Node | undefined = this.root;
    for (const name of path.split("/")) node = node?.kids?.get(name);
    return node;
  }

  /** Drops the nodes of a chain (one per name, below the root) that hold nothing any more, from its end up. */
  private prune(names: string[], nodes: Node[]): void {
    for (let i = nodes.length - 1; i > 0; i--) {
      const n = nodes[i] as Node;
      if (n.text !== undefined || (n.kids?.size ?? 0) > 0) return;
      (nodes[i - 1] as Node).kids?.delete(names[i - 1] as string);
    }
  }

  get(path: string): string | undefined {
    return this.node(path)?.text;
  }

  has(path: string): boolean {
    return this.get(path) !== undefined;
  }

  set(path: string, data: string): this {
    let node = this.root;
    for (const name of path.split("/")) {
      let next = node.kids?.get(name);
      if (next === undefined) {
        next = {};
        node.kids ??= new Map();
        node.kids.set(name, next);
      }
      node = next;
    }
    node.text = data;
    return this;
  }

  delete(path: string): boolean {
    const nodes = this.chain(path);
    const n = nodes?.at(-1);
    if (nodes === null || n?.text === undefined) return false;
    delete n.text;
    this.prune(path.split("/"), nodes);
    return true;
  }

  /** The file at path and everything beneath it, at once. */
  deleteTree(path: string): void {
    const nodes = this.chain(path);
    if (nodes === null) return;
    const names = path.split("/");
    nodes.pop();
    (nodes.at(-1) as Node).kids?.delete(names.at(-1) as string);
    this.prune(names.slice(0, -1), nodes);
  }

  /** The names directly in dir: files and directories. */
  names(dir: string): string[] {
    return [...(this.node(dir)?.kids?.keys() ?? [])];
  }

  /** The file at path and every file beneath it. */
  under(path: string): string[] {
    const out: string[] = [];
    const walk = (p: string, n: Node) => {
      if (n.text !== undefined) out.push(p);
      for (const [name, kid] of n.kids ?? []) walk(`${p}/${name}`, kid);
    };
    const n = this.node(path);
    if (n !== undefined) walk(path, n);
    return out;
  }

  /** Every file's path. */
  keys(): string[] {
    return [...(this.root.kids?.keys() ?? [])].flatMap((name) => this.under(name));
  }
}

export class FakeSystem implements System {
  readonly files = new FileTree();
  readonly links = new Map<string, string>();
  /** Every command run, oldest first (the newest `keepCommands` of them). */
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
  constructor(
    readonly epoch = 1_700_000_000_000,
    /** The simulator bounds the record: a box that runs for days applies thousands of times. */
    private readonly keepCommands = Number.POSITIVE_INFINITY,
  ) {}

  async run(cmd: string, args: readonly string[], opts: { input?: string; onLine?: (line: string) => void } = {}): Promise<RunResult> {
    this.commands.push([cmd, ...args].join(" "));
    if (this.commands.length > this.keepCommands) this.commands.splice(0, this.commands.length - this.keepCommands);
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
    if (body.length > opts.maxBytes) throw new DownloadTooLarge(opts.maxBytes, body.length);
    opts.onBytes?.(body.length);
    this.files.set(dest, body);
    return { bytes: body.length, sha256: createHash("sha256").update(body).digest("hex") };
  }

  /** Symlinks are recorded in `links` but not followed: tests read files by their real paths. */
  async readFile(path: string): Promise<string | null> {
    return this.files.get(path) ?? null;
  }

  /** Files are text here; bytes are held one character per byte. */
  async readBytes(path: string): Promise<Uint8Array | null> {
    const text = this.files.get(path);
    return text === undefined ? null : Buffer.from(text, "latin1");
  }

  async writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
    if (this.failWritesAfter !== null && this.writes >= this.failWritesAfter) throw new Error("power cut");
    this.writes++;
    this.files.set(path, typeof data === "string" ? data : Buffer.from(data).toString("latin1"));
  }

  /** Kernel files that do not exist: a write at or under one of these paths fails with ENOENT. */
  readonly absent = new Set<string>();

  async writeKernelFile(path: string, data: string): Promise<void> {
    for (let p = path; p !== ""; p = p.slice(0, Math.max(0, p.lastIndexOf("/"))))
      if (this.absent.has(p)) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    this.files.set(path, data);
  }

  async remove(path: string): Promise<void> {
    this.files.deleteTree(path);
    this.links.delete(path);
  }

  async list(dir: string): Promise<string[]> {
    return this.files.names(dir);
  }

  /** What freeBytes answers for every path. */
  free = Number.MAX_SAFE_INTEGER;

  async freeBytes(): Promise<number> {
    return this.free;
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
