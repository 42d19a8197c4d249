// Network namespaces and daemons that a test creates itself and removes again. Names carry the
// test process's pid so parallel or leftover runs never collide; processes are ended by PID.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";

export function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: "utf8", ...(input === undefined ? {} : { input }), stdio: ["pipe", "pipe", "pipe"] });
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export class Namespace {
  private constructor(readonly name: string) {}

  static create(label: string): Namespace {
    const name = `g64-${label}-${process.pid}`;
    sh("ip", ["netns", "add", name]);
    const ns = new Namespace(name);
    ns.ip("link", "set", "lo", "up");
    return ns;
  }

  ip(...args: string[]): string {
    return sh("ip", ["-n", this.name, ...args]);
  }

  exec(cmd: string, args: string[], input?: string): string {
    return sh("ip", ["netns", "exec", this.name, cmd, ...args], input);
  }

  /** Starts a long-running process inside the namespace; it is ended by destroy(). */
  spawn(cmd: string, args: string[], opts: { log?: (line: string) => void } = {}): Daemon {
    const child = spawn("ip", ["netns", "exec", this.name, cmd, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const d = new Daemon(cmd, child);
    if (opts.log) {
      child.stdout?.setEncoding("utf8").on("data", (s: string) => opts.log?.(s));
      child.stderr?.setEncoding("utf8").on("data", (s: string) => opts.log?.(s));
    } else {
      child.stdout?.resume();
      child.stderr?.setEncoding("utf8").on("data", (s: string) => d.stderr.push(s));
    }
    this.daemons.push(d);
    return d;
  }

  private readonly daemons: Daemon[] = [];

  async destroy(): Promise<void> {
    await Promise.all(this.daemons.map((d) => d.stop()));
    try {
      sh("ip", ["netns", "del", this.name]);
    } catch {
      // already gone
    }
  }
}

export class Daemon {
  readonly stderr: string[] = [];
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {}

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    const exited = once(this.child, "exit");
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/** A veth pair between two namespaces. */
export function link(a: Namespace, aName: string, b: Namespace, bName: string): void {
  sh("ip", [
    "link",
    "add",
    `${aName}-${process.pid}`.slice(0, 15),
    "netns",
    a.name,
    "type",
    "veth",
    "peer",
    "name",
    `${bName}-${process.pid}`.slice(0, 15),
    "netns",
    b.name,
  ]);
  a.ip("link", "set", `${aName}-${process.pid}`.slice(0, 15), "name", aName);
  b.ip("link", "set", `${bName}-${process.pid}`.slice(0, 15), "name", bName);
  a.ip("link", "set", aName, "up");
  b.ip("link", "set", bName, "up");
}

/** Polls `check` every 100 ms until it holds; `what` (or what it returns, read at the timeout)
 * names the wait in the error. */
export async function waitFor(what: string | (() => string), check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
