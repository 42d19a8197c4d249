// Remote shell sessions over MQTT, on node-pty. Off unless mqtt.remoteShell.enabled; at most
// maxSessions at once; a session without input for idleTimeoutSec, or open for maxLifetimeSec,
// is closed (output does not count: `top` would otherwise never time out). Every open and close
// is logged on the box, published as an audit record and shows in the state topic. A terminal
// that prints faster than the broker takes its output is paused until the backlog drains.
import { randomBytes } from "node:crypto";
import type { IPty } from "@lydell/node-pty";
import type { Audit } from "./protocol.js";

export interface ShellOptions {
  enabled: boolean;
  idleTimeoutSec: number;
  maxLifetimeSec: number;
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
  lifetime: NodeJS.Timeout;
  /** Output bytes handed to MQTT and not yet acknowledged. */
  backlog: number;
  paused: boolean;
}

/** Past this backlog the terminal is paused; below LOW_WATER it goes on. */
const HIGH_WATER = 256 * 1024;
const LOW_WATER = 64 * 1024;

export type ShellOpen = { ok: true; session: ShellSession } | { ok: false; code: "disabled" | "busy" | "failed"; message: string };

export class ShellSessions {
  private readonly live = new Map<string, Live>();
  /** Sessions being started (the pty module loads asynchronously): they count against maxSessions. */
  private starting = 0;

  constructor(
    private readonly opts: ShellOptions,
    private readonly events: {
      /** Resolves when the output is delivered (or dropped): the backlog that pauses the terminal. */
      output: (session: string, data: Buffer) => Promise<void> | void;
      closed: (session: string, reason: string) => void;
      audit: (record: Audit) => void;
      log: (line: string) => void;
      now: () => number;
    },
  ) {}

  list(): ShellSession[] {
    return [...this.live.values()].map(({ session, by, openedAt }) => ({ session, by, openedAt }));
  }

  async open(by: string, cols: number, rows: number, now: number): Promise<ShellOpen> {
    if (!this.opts.enabled) return { ok: false, code: "disabled", message: "remote shell is disabled (mqtt.remoteShell.enabled)" };
    if (this.live.size + this.starting >= this.opts.maxSessions)
      return {
        ok: false,
        code: "busy",
        message: `${this.live.size + this.starting} session(s) open, mqtt.remoteShell.maxSessions is ${this.opts.maxSessions}`,
      };
    let pty: IPty;
    this.starting++;
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
    } finally {
      this.starting--;
    }
    const session = randomBytes(6).toString("hex");
    const lifetime = setTimeout(() => this.close(session, `open for ${this.opts.maxLifetimeSec} s`), this.opts.maxLifetimeSec * 1000);
    lifetime.unref();
    const s: Live = {
      session,
      by,
      openedAt: new Date(now).toISOString(),
      pty,
      idle: this.idleTimer(session),
      lifetime,
      backlog: 0,
      paused: false,
    };
    this.live.set(session, s);
    pty.onData((d) => this.output(s, Buffer.from(d, "utf8")));
    pty.onExit(({ exitCode }) => this.finish(session, `shell exited with ${exitCode}`));
    this.events.log(`shell: session ${session} opened by ${by} (${cols}x${rows})`);
    this.events.audit({ event: "opened", session, by, at: s.openedAt });
    return { ok: true, session: { session, by, openedAt: s.openedAt } };
  }

  private output(s: Live, data: Buffer): void {
    s.backlog += data.length;
    if (s.backlog > HIGH_WATER && !s.paused) {
      s.paused = true;
      s.pty.pause();
    }
    void Promise.resolve(this.events.output(s.session, data)).finally(() => {
      s.backlog -= data.length;
      if (s.paused && s.backlog < LOW_WATER && this.live.has(s.session)) {
        s.paused = false;
        s.pty.resume();
      }
    });
  }

  /** Whether a session's terminal is paused for its backlog (tests and state). */
  isPaused(session: string): boolean {
    return this.live.get(session)?.paused ?? false;
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
    clearTimeout(s.lifetime);
    this.live.delete(session);
    this.events.log(`shell: session ${session} of ${s.by} closed: ${reason}`);
    this.events.audit({ event: "closed", session, by: s.by, at: new Date(this.events.now()).toISOString(), reason });
    this.events.closed(session, reason);
  }
}
