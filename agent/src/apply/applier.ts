// Transactional apply. Invariants:
// - One apply, confirm or rollback at a time (an exclusive runner; callers queue).
// - A refused config changes nothing: validation and tool checks run before anything is swapped.
// - config.json is written only after the new revision passed its probes (or was confirmed), so a
//   power cut at any point boots the old or the new configuration, never a mix.
// - A revision that fails to install or to pass its probes within health.applyVerifySec is
//   reverted in place to the running one, and the history says why.
import { createHash } from "node:crypto";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../config/schema.js";
import { formatProblems, type Problem, validateConfig } from "../config/validate.js";
import type { HealthReport } from "../observe/health.js";
import { PATHS } from "../paths.js";
import { type Facts, type Resolved, resolve } from "../render/context.js";
import { type RenderedFiles, RULESET_FILE, renderResolved } from "../render/index.js";
import type { System } from "../system/system.js";
import { execute, StepError } from "./execute.js";
import { type PlanOptions, plan, probesToVerify, readinessProbes, repairable, repairSteps, type Service } from "./plan.js";
import { type Revision, RevisionStore } from "./revisions.js";

export interface ApplierDeps {
  sys: System;
  facts: (config: Config) => Promise<Facts>;
  /** The health probes, only those named in `only` when given (apply/plan.ts probesToVerify). */
  check: (r: Resolved, only?: ReadonlySet<string> | null) => Promise<HealthReport>;
  log: (line: string) => void;
  /** The longest wait between verification rounds (the first is 200 ms, doubling up to this). */
  pollMs?: number;
  /** Told of changes the applier makes on its own (a revision reverted when its confirmation ran out). */
  onChange?: (r: ApplyResult) => void;
}

export interface ApplyMeta {
  by: string;
  message?: string;
  /** Keep the new revision only if confirm() comes within this many seconds. */
  confirmSec?: number;
  /** The revision the change was made from: refused if another change came in between. */
  baseRevision?: number;
}

export interface BootResult {
  services: Service[];
  /** Why putting the configuration into effect failed; the agent runs on and reports it. */
  error?: string;
}

/** Refused inputs are kept in the history only up to this size (a digest stands in for more). */
const MAX_RECORDED_INPUT = 64 * 1024;

function recordable(input: unknown): unknown {
  const text = JSON.stringify(input) ?? "null";
  if (text.length <= MAX_RECORDED_INPUT) return input;
  return { "(omitted)": `${text.length} bytes, sha256 ${createHash("sha256").update(text).digest("hex")}` };
}

/** The same files with the same text (compared as strings, without serialising the renders). */
function sameFiles(a: RenderedFiles, b: RenderedFiles): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((n) => a[n] === b[n]);
}

/** Where a revision's files are staged: `current` links to the one in effect. */
const revDir = (revision: number) => join(PATHS.render, `rev-${revision}`);

/** One step of an apply and its duration: validate, render, stage, install <service>, verify, commit. */
export interface StepTime {
  step: string;
  ms: number;
}

export type ApplyResult =
  | { outcome: "committed"; revision: number; services: Service[]; steps?: StepTime[] }
  | { outcome: "pending"; revision: number; services: Service[]; confirmBy: string; steps?: StepTime[] }
  | { outcome: "reverted"; revision: number; reason: string; steps?: StepTime[] }
  | { outcome: "refused"; problems: Problem[] }
  | { outcome: "unchanged"; revision: number };

/** What a repair did: the services it reloaded, and the failed probes that passed when probed again. */
export interface RepairResult {
  services: Service[];
  passedAgain: string[];
}

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
  /**
   * The files under current/ are not all in effect: a boot apply or a revert failed part-way,
   * and nothing has been committed since. The next boot or apply then installs every service,
   * not only those whose files changed.
   */
  private partial = false;

  constructor(private readonly deps: ApplierDeps) {
    this.revisions = new RevisionStore(deps.sys, deps.log);
  }

  /** Runs one operation at a time, in call order. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Renders a revision; the renderers whose part of it is the same as in `earlier` reuse its files. */
  private async render(config: Config, input: unknown, revision: number, earlier: Running | null = null): Promise<Running> {
    const facts = await this.deps.facts(config);
    const resolved = resolve(config, facts);
    return { revision, config, input, files: renderResolved(resolved, earlier), resolved };
  }

  /**
   * Writes a revision's files into its directory. `inPlace`: the revision may be the one in effect
   * (a boot, a revert), whose files its services read (CoreDNS's Corefile at a restart): each file
   * is replaced atomically and none goes missing. One revision's files have the same names (they
   * come from its config); another revision's directory is made afresh.
   */
  private async stage(r: Running, inPlace = false): Promise<string> {
    const dir = revDir(r.revision);
    if (!inPlace) await this.deps.sys.remove(dir);
    // At once: each atomic write is a handful of file system calls, and a dozen files one after
    // the other took about 200 ms on the TCG lab VM.
    await Promise.all(Object.entries(r.files).map(([rel, text]) => this.deps.sys.writeFileAtomic(join(dir, rel), text)));
    return dir;
  }

  /** Puts a staged revision into effect (atomic symlink swap, reload what changed). */
  private async activate(
    next: Running,
    dir: string,
    prev: RenderedFiles | null,
    opts: PlanOptions = {},
    onDone?: (s: Service) => void,
  ): Promise<Service[]> {
    await this.deps.sys.swapSymlink(`rev-${next.revision}`, PATHS.current);
    return execute(this.deps.sys, next.config, dir, next.files, plan(prev, next.files, opts), onDone);
  }

  /**
   * The files last put into effect, by this boot's agent or an earlier one (they are kept on /data:
   * after a reboot systemd started the datapath from them, gate64-datapath.service and CoreDNS).
   */
  private async filesInEffect(names: string[]): Promise<RenderedFiles | null> {
    const out: RenderedFiles = {};
    for (const rel of names) {
      const text = await this.deps.sys.readFile(join(PATHS.current, rel));
      if (text !== null) out[rel] = text;
    }
    return Object.keys(out).length > 0 ? out : null;
  }

  /**
   * Which revision config.json holds: the newest record with the same config. A record that was
   * still pending when config.json was written (a power cut between the two writes) is committed.
   * Pending records whose confirmation an agent restart interrupted are reverted: config.json never
   * held them. Only the newest record can be pending (an apply refuses to start while one awaits
   * confirmation, and saves nothing then) and each boot settles it, so the records are read from
   * the newest down and the reading stops at config.json's own: on the lab VM reading all of 98
   * took a reboot's boot apply 0.2-0.6 s.
   */
  private async reconcile(input: unknown): Promise<number> {
    const same = JSON.stringify(input);
    let match: Revision | undefined;
    let committed: Revision | undefined;
    for await (const r of this.revisions.newestFirst()) {
      const holds = match === undefined && r.outcome !== "refused" && JSON.stringify(r.config) === same;
      if (holds) match = r;
      if (r.outcome === "pending") {
        if (holds) await this.revisions.save({ ...r, outcome: "committed", reason: "config.json holds it (written before the record)" });
        else await this.revisions.save({ ...r, outcome: "reverted", reason: "the agent restarted before it was confirmed" });
      } else if (match !== undefined) break;
      else if (r.outcome === "committed") committed ??= r;
    }
    return match?.revision ?? committed?.revision ?? 0;
  }

  /**
   * At boot: run config.json (or the image default) as it is; no verification window. What an
   * earlier run of the agent left in effect is kept where it already matches: an agent restart or
   * a reboot recreates no Jool instance, restarts no CoreDNS and reconfigures no interface that is
   * unchanged; after a reboot, the ruleset gate64-datapath.service loaded is not loaded again.
   * An install failure does not throw: the agent must stay reachable to be fixed.
   */
  boot(config: Config, input: unknown): Promise<BootResult> {
    return this.exclusive(async () => {
      const next = await this.render(config, input, await this.reconcile(input));
      const inEffect = this.partial ? null : await this.filesInEffect(Object.keys(next.files));
      this.running = next;
      try {
        const services = await this.activate(next, await this.stage(next, true), inEffect, { boot: true });
        // The first health round comes right after: it would find a CoreDNS that is still starting
        // (restarted here, or started by systemd from the kept files) and wait out a whole interval
        // (30 s) for the next round.
        await this.untilReady(next, [...services, "coredns"]);
        this.partial = false;
        return { services };
      } catch (err) {
        this.partial = true;
        return { services: [], error: (err as Error).message };
      } finally {
        // Said once: by the next agent start an apply may have loaded another ruleset.
        await this.deps.sys.remove(PATHS.datapathRuleset);
      }
    });
  }

  /**
   * Renders the running revision again with the system's facts as they are now (the WAN's DHCP
   * address) and puts what changed into effect: pool4 and the translator's guard follow the WAN
   * without a new revision. Returns the services touched (none when nothing changed).
   */
  refresh(): Promise<Service[]> {
    return this.exclusive(async () => {
      const r = this.running;
      if (r === null) return [];
      const next = await this.render(r.config, r.input, r.revision, r);
      if (sameFiles(next.files, r.files)) return [];
      const dir = revDir(r.revision);
      for (const [rel, text] of Object.entries(next.files))
        if (r.files[rel] !== text) await this.deps.sys.writeFileAtomic(join(dir, rel), text);
      const services = await execute(this.deps.sys, next.config, dir, next.files, plan(r.files, next.files));
      this.running = next;
      if (this.pending?.running === r) this.pending.running = next;
      return services;
    });
  }

  /**
   * Reloads what the failed probes found broken in the running revision, between applies, and
   * waits for the restarted services' readiness (at most health.applyVerifySec). The round that
   * failed them ran outside this queue, maybe beside an apply that has since put a new revision
   * into effect (a CoreDNS reloaded under the round's coredns probe): the repairable ones are
   * probed again here first, and only what still fails is reloaded.
   */
  repair(failedProbes: readonly string[]): Promise<RepairResult> {
    return this.exclusive(async () => {
      const r = this.running;
      const suspects = repairable(failedProbes);
      if (r === null || suspects.length === 0) return { services: [], passedAgain: [] };
      const again = await this.deps.check(r.resolved, new Set(suspects));
      const still = new Set(again.probes.filter((p) => p.status !== "ok").map((p) => p.name));
      const services = await execute(this.deps.sys, r.config, revDir(r.revision), r.files, repairSteps([...still], r.files));
      await this.untilReady(r, services);
      return { services, passedAgain: suspects.filter((p) => !still.has(p)) };
    });
  }

  /**
   * Tools' own checks on the staged files that differ from those in effect, before anything is
   * swapped (a file in effect passed them; `nft -c` took 109-266 ms on the TCG lab VM).
   */
  private async toolChecks(files: RenderedFiles, dir: string, inEffect: RenderedFiles): Promise<Problem[]> {
    const problems: Problem[] = [];
    if (files[RULESET_FILE] !== undefined && files[RULESET_FILE] !== inEffect[RULESET_FILE]) {
      const r = await this.deps.sys.run("nft", ["-c", "-f", join(dir, RULESET_FILE)]);
      if (r.code !== 0) problems.push({ path: "firewall", message: `nft refused the ruleset: ${r.stderr.trim().slice(0, 300)}` });
    }
    return problems;
  }

  /** When a change's verification window closes: health.applyVerifySec from now. */
  private verifyDeadline(r: Running): number {
    return this.deps.sys.now() + r.config.health.applyVerifySec * 1000;
  }

  /** Polls the readiness probes of the (re)started services every 50 ms until they pass or `until`. */
  private async untilReady(r: Running, services: readonly Service[], until = this.verifyDeadline(r)): Promise<void> {
    const ready = readinessProbes(services);
    if (ready.size > 0)
      while ((await this.deps.check(r.resolved, ready)).status === "failed" && this.deps.sys.now() < until) await sleep(50);
  }

  /**
   * Re-runs the probes the reloaded services can break (plus NAT64) until they pass or the window
   * closes; returns the failure, if any. The restarted services' readiness comes first; after a
   * failed round the next comes soon and the waits grow.
   */
  private async verify(r: Running, services: readonly Service[]): Promise<string | null> {
    const until = this.verifyDeadline(r);
    const only = probesToVerify(services);
    let last: HealthReport | null = null;
    await this.untilReady(r, services, until);
    const failedProbes = (h: HealthReport, timed = false) =>
      h.probes
        .filter((p) => p.status === "failed")
        .map((p) => `${p.name}: ${p.detail}${timed ? ` (${p.durationMs} ms)` : ""}`)
        .join("; ");
    for (let wait = 200; ; wait *= 2) {
      last = await this.deps.check(r.resolved, only);
      if (last.status !== "failed") return null;
      if (this.deps.sys.now() >= until) break;
      // Each failed round is logged: a change that verifies late says why it took long.
      this.deps.log(`apply: revision ${r.revision} not verified yet: ${failedProbes(last, true)}`);
      await sleep(Math.min(wait, this.deps.pollMs ?? 1000));
    }
    return `probes failed for ${r.config.health.applyVerifySec} s: ${failedProbes(last)}`;
  }

  private async revert(
    failed: Running,
    before: Running,
    record: Revision,
    reason: string,
    only: ReadonlySet<Service> | null = null,
  ): Promise<Extract<ApplyResult, { outcome: "reverted" }>> {
    this.deps.log(`apply: reverting revision ${failed.revision} to ${before.revision}: ${reason}`);
    // Rendered again: the WAN address may have changed since the previous revision was rendered.
    const previous = await this.render(before.config, before.input, before.revision, before);
    try {
      await this.deps.sys.swapSymlink(`rev-${previous.revision}`, PATHS.current);
      const steps = plan(failed.files, previous.files).filter((s) => only === null || only.has(s.service));
      await execute(this.deps.sys, previous.config, await this.stage(previous, true), previous.files, steps);
    } catch (err) {
      // The old files are in place; the health loop keeps repairing what did not come back.
      this.deps.log(`apply: revert of ${failed.revision} incomplete: ${(err as Error).message}`);
      this.partial = true;
    }
    this.running = previous;
    await this.revisions.save({ ...record, outcome: "reverted", reason });
    return { outcome: "reverted", revision: failed.revision, reason };
  }

  /** config.json first, then the record: boot matches config.json to its record (reconcile). */
  private async commit(r: Running, record: Revision): Promise<void> {
    await this.deps.sys.writeFileAtomic(PATHS.config, `${JSON.stringify(r.input, null, 2)}\n`, 0o600);
    await this.revisions.save({ ...record, outcome: "committed" });
    this.running = r;
    this.partial = false;
    await this.prune();
  }

  /** Keeps system.keepRevisions records and only the staged directories still in use. */
  private async prune(): Promise<void> {
    const keep = this.running?.config.system.keepRevisions ?? 100;
    await this.revisions.prune(keep);
    const inUse = new Set([this.running?.revision, this.pending?.previous.revision].map((n) => `rev-${n}`));
    for (const name of await this.deps.sys.list(PATHS.render))
      if (/^rev-\d+$/.test(name) && !inUse.has(name)) await this.deps.sys.remove(join(PATHS.render, name));
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
    if (meta.baseRevision !== undefined && meta.baseRevision !== previous.revision)
      return {
        outcome: "refused",
        problems: [
          {
            path: "(apply)",
            message: `the box runs revision ${previous.revision}, not ${meta.baseRevision} that this change was made from: read it again`,
          },
        ],
      };
    const steps: StepTime[] = [];
    let mark = this.deps.sys.now();
    const lap = (step: string) => {
      const now = this.deps.sys.now();
      steps.push({ step, ms: now - mark });
      mark = now;
    };
    const v = validateConfig(input);
    lap("validate");
    const revision = await this.revisions.next();
    const record: Revision = {
      revision,
      at: new Date(this.deps.sys.now()).toISOString(),
      by: meta.by,
      ...(meta.message === undefined ? {} : { message: meta.message }),
      outcome: "refused",
      config: v.ok ? input : recordable(input),
    };
    if (!v.ok) {
      await this.revisions.save({ ...record, reason: formatProblems(v.problems) });
      return { outcome: "refused", problems: v.problems };
    }
    const next = await this.render(v.config, input, revision, previous);
    lap("render");
    // Unchanged only when the config itself is: fields that render no file (mqtt, health, ...)
    // are still committed, and each feature reacts to its own section.
    if (
      meta.confirmSec === undefined &&
      !this.partial &&
      sameFiles(next.files, previous.files) &&
      JSON.stringify(next.config) === JSON.stringify(previous.config)
    )
      return { outcome: "unchanged", revision: previous.revision };
    const dir = await this.stage(next);
    const inEffect = this.partial ? null : previous.files;
    const problems = await this.toolChecks(next.files, dir, inEffect ?? {});
    lap("stage");
    if (problems.length > 0) {
      await this.revisions.save({ ...record, reason: formatProblems(problems) });
      return { outcome: "refused", problems };
    }

    let services: Service[];
    // What the install touched: a failed one is reverted there only (the failing step's service
    // included, which may have got part-way), not in the services it never reached.
    const touched = new Set<Service>();
    try {
      services = await this.activate(next, dir, inEffect, {}, (s) => {
        touched.add(s);
        lap(`install ${s}`);
      });
    } catch (err) {
      // A failure outside a service's step (the symlink swap, a file write) may have touched any.
      if (err instanceof StepError) touched.add(err.service);
      const only = err instanceof StepError ? touched : null;
      return { ...(await this.revert(next, previous, record, `install failed: ${(err as Error).message}`, only)), steps };
    }
    const failure = await this.verify(next, services);
    lap("verify");
    if (failure !== null) return { ...(await this.revert(next, previous, record, failure)), steps };

    if (meta.confirmSec !== undefined) {
      const confirmBy = new Date(this.deps.sys.now() + meta.confirmSec * 1000).toISOString();
      const pendingRecord: Revision = { ...record, outcome: "pending", reason: `awaiting confirmation by ${confirmBy}` };
      await this.revisions.save(pendingRecord);
      this.running = next;
      const timer = setTimeout(() => {
        void this.exclusive(async () => {
          const p = this.pending;
          if (p?.timer !== timer) return;
          this.pending = null;
          const r = await this.revert(p.running, previous, pendingRecord, `not confirmed within ${meta.confirmSec} s`);
          this.deps.onChange?.(r);
        });
      }, meta.confirmSec * 1000);
      this.pending = { running: next, previous, timer, record: pendingRecord };
      return { outcome: "pending", revision, services, confirmBy, steps };
    }
    await this.commit(next, record);
    lap("commit");
    return { outcome: "committed", revision, services, steps };
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
