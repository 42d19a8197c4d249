// Remote shell sessions over MQTT, on node-pty. Off unless mqtt.remoteShell.enabled; at most
// maxSessions at once; a session with no input or output for idleTimeoutSec is closed. Every
// open and close is logged on the box and shows in the state topic.
import { randomBytes } from "node:crypto";
import type { IPty } from "@lydell/node-pty";

export interface ShellOptions {
  enabled: boolean;
  idleTimeoutSec: number;
  maxSessions: number;
  /** The program and arguments to run in the terminal. */
  command?: [string, ...string[]];
}

export interface ShellSession {
  session: string;
  by: string;
  openedAt: string;
}

interface Live extends ShellSession {
  pty: IPty;
  idle: NodeJS.Timeout;
}

export type ShellOpen = { ok: true; session: ShellSession } | { ok: false; code: "disabled" | "busy" | "failed"; message: string };

export class ShellSessions {
  private readonly live = new Map<string, Live>();

  constructor(
    private readonly opts: ShellOptions,
    private readonly events: {
      output: (session: string, data: Buffer) => void;
      closed: (session: string, reason: string) => void;
      log: (line: string) => void;
    },
  ) {}

  list(): ShellSession[] {
    return [...this.live.values()].map(({ session, by, openedAt }) => ({ session, by, openedAt }));
  }

  async open(by: string, cols: number, rows: number, now: number): Promise<ShellOpen> {
    if (!this.opts.enabled) return { ok: false, code: "disabled", message: "remote shell is disabled (mqtt.remoteShell.enabled)" };
    if (this.live.size >= this.opts.maxSessions)
      return {
        ok: false,
        code: "busy",
        message: `${this.live.size} session(s) open, mqtt.remoteShell.maxSessions is ${this.opts.maxSessions}`,
      };
    let pty: IPty;
    try {
      // Loaded on first use: the native addon costs memory and is not needed by most boxes.
      const nodePty = await import("@lydell/node-pty");
      const [file, ...args] = this.opts.command ?? ["/bin/bash", "--login"];
      pty = nodePty.spawn(file, args, {
        name: "xterm-256color",
        cols,
        rows,
        cwd: "/",
        env: { ...process.env, TERM: "xterm-256color" } as Record<string, string>,
      });
    } catch (err) {
      return { ok: false, code: "failed", message: `cannot start a terminal: ${(err as Error).message}` };
    }
    const session = randomBytes(6).toString("hex");
    const s: Live = { session, by, openedAt: new Date(now).toISOString(), pty, idle: this.idleTimer(session) };
    this.live.set(session, s);
    pty.onData((d) => {
      this.touch(session);
      this.events.output(session, Buffer.from(d, "utf8"));
    });
    pty.onExit(({ exitCode }) => this.finish(session, `shell exited with ${exitCode}`));
    this.events.log(`shell: session ${session} opened by ${by} (${cols}x${rows})`);
    return { ok: true, session: { session, by, openedAt: s.openedAt } };
  }

  input(session: string, data: Buffer): boolean {
    const s = this.live.get(session);
    if (s === undefined) return false;
    this.touch(session);
    s.pty.write(data.toString("utf8"));
    return true;
  }

  resize(session: string, cols: number, rows: number): boolean {
    const s = this.live.get(session);
    if (s === undefined) return false;
    s.pty.resize(cols, rows);
    return true;
  }

  close(session: string, reason: string): boolean {
    const s = this.live.get(session);
    if (s === undefined) return false;
    this.finish(session, reason);
    s.pty.kill();
    return true;
  }

  closeAll(reason: string): void {
    for (const id of [...this.live.keys()]) this.close(id, reason);
  }

  private idleTimer(session: string): NodeJS.Timeout {
    const t = setTimeout(() => this.close(session, `idle for ${this.opts.idleTimeoutSec} s`), this.opts.idleTimeoutSec * 1000);
    t.unref();
    return t;
  }

  private touch(session: string): void {
    const s = this.live.get(session);
    if (s === undefined) return;
    clearTimeout(s.idle);
    s.idle = this.idleTimer(session);
  }

  private finish(session: string, reason: string): void {
    const s = this.live.get(session);
    if (s === undefined) return;
    clearTimeout(s.idle);
    this.live.delete(session);
    this.events.log(`shell: session ${session} of ${s.by} closed: ${reason}`);
    this.events.closed(session, reason);
  }
}
