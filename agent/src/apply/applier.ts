// Transactional apply. Invariants:
// - One apply, confirm or rollback at a time (an exclusive runner; callers queue).
// - A refused config changes nothing: validation and tool checks run before anything is swapped.
// - config.json is written only after the new revision passed its probes (or was confirmed), so a
//   power cut at any point boots the old or the new configuration, never a mix.
// - A revision that fails to install or to pass its probes within health.applyVerifySec is
//   reverted in place to the running one, and the history says why.
import { join } from "node:path";
import type { Config } from "../config/schema.js";
import { formatProblems, type Problem, validateConfig } from "../config/validate.js";
import type { HealthReport } from "../daemon/health.js";
import { install, type Service } from "../daemon/install.js";
import { PATHS } from "../paths.js";
import { type Facts, type Resolved, resolve } from "../render/context.js";
import { type RenderedFiles, renderAll } from "../render/index.js";
import type { System } from "../system/system.js";
import { type Revision, RevisionStore } from "./revisions.js";

export interface ApplierDeps {
  sys: System;
  facts: (config: Config) => Promise<Facts>;
  check: (r: Resolved) => Promise<HealthReport>;
  log: (line: string) => void;
  /** How often to re-run the probes while verifying. */
  pollMs?: number;
}

export interface ApplyMeta {
  by: string;
  message?: string;
  /** Keep the new revision only if confirm() comes within this many seconds. */
  confirmSec?: number;
}

export type ApplyResult =
  | { outcome: "committed"; revision: number; services: Service[] }
  | { outcome: "pending"; revision: number; services: Service[]; confirmBy: string }
  | { outcome: "reverted"; revision: number; reason: string }
  | { outcome: "refused"; problems: Problem[] }
  | { outcome: "unchanged"; revision: number };

export interface Running {
  revision: number;
  config: Config;
  input: unknown;
  files: RenderedFiles;
  resolved: Resolved;
}

export class Applier {
  readonly revisions: RevisionStore;
  running: Running | null = null;
  private pending: { running: Running; previous: Running; timer: NodeJS.Timeout; record: Revision } | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ApplierDeps) {
    this.revisions = new RevisionStore(deps.sys);
  }

  /** Runs one operation at a time, in call order. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async render(config: Config, input: unknown, revision: number): Promise<Running> {
    const facts = await this.deps.facts(config);
    return { revision, config, input, files: renderAll(config, facts), resolved: resolve(config, facts) };
  }

  private async stage(r: Running): Promise<string> {
    const dir = join(PATHS.run, `rev-${r.revision}`);
    await this.deps.sys.remove(dir);
    for (const [rel, text] of Object.entries(r.files)) await this.deps.sys.writeFileAtomic(join(dir, rel), text);
    return dir;
  }

  /** Puts a rendered revision into effect (staged dir, atomic symlink swap, reload what changed). */
  private async activate(next: Running, prev: Running | null): Promise<Service[]> {
    const dir = await this.stage(next);
    await this.deps.sys.swapSymlink(`rev-${next.revision}`, PATHS.current);
    return install(this.deps.sys, next.config, dir, prev?.files ?? null, next.files);
  }

  /** At boot: run config.json (or the image default) as it is; no verification window. */
  boot(config: Config, input: unknown): Promise<Service[]> {
    return this.exclusive(async () => {
      const current = await this.revisions.current();
      const next = await this.render(config, input, current?.revision ?? 0);
      const services = await this.activate(next, null);
      this.running = next;
      return services;
    });
  }

  /** Tools' own checks on the staged files, before anything is swapped. */
  private async toolChecks(files: RenderedFiles, dir: string): Promise<Problem[]> {
    const problems: Problem[] = [];
    if (files["nftables/gate64.nft"] !== undefined) {
      const r = await this.deps.sys.run("nft", ["-c", "-f", join(dir, "nftables/gate64.nft")]);
      if (r.code !== 0) problems.push({ path: "firewall", message: `nft refused the ruleset: ${r.stderr.trim().slice(0, 300)}` });
    }
    return problems;
  }

  /** Re-runs the probes until they pass or the window closes; returns the failure, if any. */
  private async verify(r: Running): Promise<string | null> {
    const until = this.deps.sys.now() + r.config.health.applyVerifySec * 1000;
    let last: HealthReport | null = null;
    for (;;) {
      last = await this.deps.check(r.resolved);
      if (last.status !== "failed") return null;
      if (this.deps.sys.now() >= until) break;
      await new Promise((res) => setTimeout(res, this.deps.pollMs ?? 1000));
    }
    const failed = last.probes.filter((p) => p.status === "failed").map((p) => `${p.name}: ${p.detail}`);
    return `probes failed for ${r.config.health.applyVerifySec} s: ${failed.join("; ")}`;
  }

  private async revert(failed: Running, previous: Running, record: Revision, reason: string): Promise<ApplyResult> {
    this.deps.log(`apply: reverting revision ${failed.revision} to ${previous.revision}: ${reason}`);
    try {
      await this.deps.sys.swapSymlink(`rev-${previous.revision}`, PATHS.current);
      await install(this.deps.sys, previous.config, join(PATHS.run, `rev-${previous.revision}`), failed.files, previous.files);
    } catch (err) {
      // The old files are in place; the health loop keeps repairing what did not come back.
      this.deps.log(`apply: revert of ${failed.revision} incomplete: ${(err as Error).message}`);
    }
    this.running = previous;
    await this.revisions.save({ ...record, outcome: "reverted", reason });
    return { outcome: "reverted", revision: failed.revision, reason };
  }

  private async commit(r: Running, record: Revision): Promise<void> {
    await this.revisions.save({ ...record, outcome: "committed" });
    await this.deps.sys.writeFileAtomic(PATHS.config, `${JSON.stringify(r.input, null, 2)}\n`, 0o600);
    this.running = r;
  }

  apply(input: unknown, meta: ApplyMeta): Promise<ApplyResult> {
    return this.exclusive(() => this.applyNow(input, meta));
  }

  private async applyNow(input: unknown, meta: ApplyMeta): Promise<ApplyResult> {
    const previous = this.running;
    if (previous === null) throw new Error("the agent has not booted a configuration yet");
    if (this.pending !== null)
      return {
        outcome: "refused",
        problems: [
          {
            path: "(apply)",
            message: `revision ${this.pending.running.revision} awaits confirmation; confirm it or wait for it to revert`,
          },
        ],
      };
    const v = validateConfig(input);
    const revision = await this.revisions.next();
    const record: Revision = {
      revision,
      at: new Date(this.deps.sys.now()).toISOString(),
      by: meta.by,
      ...(meta.message === undefined ? {} : { message: meta.message }),
      outcome: "refused",
      config: input,
    };
    if (!v.ok) {
      await this.revisions.save({ ...record, reason: formatProblems(v.problems) });
      return { outcome: "refused", problems: v.problems };
    }
    const next = await this.render(v.config, input, revision);
    if (JSON.stringify(next.files) === JSON.stringify(previous.files) && meta.confirmSec === undefined)
      return { outcome: "unchanged", revision: previous.revision };
    const problems = await this.toolChecks(next.files, await this.stage(next));
    if (problems.length > 0) {
      await this.revisions.save({ ...record, reason: formatProblems(problems) });
      return { outcome: "refused", problems };
    }

    let services: Service[];
    try {
      services = await this.activate(next, previous);
    } catch (err) {
      return this.revert(next, previous, record, `install failed: ${(err as Error).message}`);
    }
    const failure = await this.verify(next);
    if (failure !== null) return this.revert(next, previous, record, failure);

    if (meta.confirmSec !== undefined) {
      const confirmBy = new Date(this.deps.sys.now() + meta.confirmSec * 1000).toISOString();
      const pendingRecord: Revision = { ...record, outcome: "pending", reason: `awaiting confirmation by ${confirmBy}` };
      await this.revisions.save(pendingRecord);
      this.running = next;
      const timer = setTimeout(() => {
        void this.exclusive(async () => {
          if (this.pending?.running !== next) return;
          this.pending = null;
          await this.revert(next, previous, pendingRecord, `not confirmed within ${meta.confirmSec} s`);
        });
      }, meta.confirmSec * 1000);
      this.pending = { running: next, previous, timer, record: pendingRecord };
      return { outcome: "pending", revision, services, confirmBy };
    }
    await this.commit(next, record);
    return { outcome: "committed", revision, services };
  }

  confirm(by: string): Promise<ApplyResult> {
    return this.exclusive(async () => {
      const p = this.pending;
      if (p === null) return { outcome: "refused", problems: [{ path: "(confirm)", message: "no revision awaits confirmation" }] };
      clearTimeout(p.timer);
      this.pending = null;
      await this.commit(p.running, { ...p.record, reason: `confirmed by ${by}` });
      return { outcome: "committed", revision: p.running.revision, services: [] };
    });
  }

  /** Applies the config of an earlier revision as a new revision. */
  async rollback(n: number, meta: ApplyMeta): Promise<ApplyResult> {
    const r = await this.revisions.get(n);
    if (r === null) return { outcome: "refused", problems: [{ path: "(rollback)", message: `there is no revision ${n}` }] };
    return this.apply(r.config, { ...meta, message: meta.message ?? `rollback to revision ${n}` });
  }

  /** Stops a pending confirmation timer (shutdown). */
  close(): void {
    if (this.pending) clearTimeout(this.pending.timer);
  }

  get awaitingConfirmation(): number | null {
    return this.pending?.running.revision ?? null;
  }
}
