// A configuration that could not be put into effect at boot is tried again while the box runs a
// fallback (an earlier revision or the image default): the failure is often a passing one (`nft
// -f` ran out of its 30 s on a starved TCG vCPU in an arm64 CI run). Each try is an ordinary
// apply of what failed, refused or reverted if it still fails, RETRY_DELAYS_SEC apart. A commit,
// this one's or anyone's, ends the retries (config.json then holds what runs); so does the last
// try, after which the failure stays in health (probe "boot-apply") until a change is committed.
import type { ApplyMeta, ApplyResult } from "../apply/applier.js";
import { formatProblems } from "../config/validate.js";
import type { EventBus } from "../device/events.js";
import type { HealthReport } from "../observe/health.js";
import type { Logger } from "./log.js";
import type { Module } from "./module.js";

/**
 * 30 s after the agent is up, then doubling: 7 tries in about an hour. A try that fails costs
 * the LAN at most the failed services' reload and revert; the tries thin out so that a lasting
 * failure does not keep doing so, nor fill the revision history.
 */
export const RETRY_DELAYS_SEC: readonly number[] = [30, 60, 120, 240, 480, 960, 1920];

interface Failure {
  source: string;
  input: unknown;
  error: string;
}

/** A refused or reverted try, as the probe's detail says it. */
function outcomeText(r: ApplyResult): string {
  if (r.outcome === "refused") return `refused: ${formatProblems(r.problems).replaceAll("\n", "; ")}`;
  if (r.outcome === "reverted") return `reverted: ${r.reason}`;
  return r.outcome;
}

export class BootRetry implements Module {
  readonly id = "boot-retry";
  private failure: Failure | null = null;
  private instead: string | null = null;
  private last: string | null = null;
  private tries = 0;
  private timer: NodeJS.Timeout | undefined;
  private off: (() => void) | null = null;

  constructor(
    private readonly deps: {
      apply: (input: unknown, meta: ApplyMeta) => Promise<ApplyResult>;
      bus: EventBus;
      log: Logger;
      delaysSec?: readonly number[];
    },
  ) {}

  private get delays(): readonly number[] {
    return this.deps.delaysSec ?? RETRY_DELAYS_SEC;
  }

  /** A boot apply failed. The first failure is the one kept: what the box should run. */
  failed(source: string, input: unknown, error: string): void {
    this.failure ??= { source, input, error };
  }

  /** A boot apply succeeded: after a failure, this is the fallback the box runs. */
  booted(source: string): void {
    if (this.failure !== null) this.instead = source;
  }

  /** The probe "boot-apply"'s detail while a boot failure stands; undefined when none does. */
  get detail(): string | undefined {
    const f = this.failure;
    if (f === null) return undefined;
    const parts = [`${f.source}: ${f.error}`];
    if (this.instead !== null) parts.push(`running ${this.instead} instead`);
    if (this.last !== null) parts.push(this.last);
    return parts.join("; ");
  }

  /** A health report with the failed probe "boot-apply" first while a boot failure stands. */
  report(h: HealthReport): HealthReport {
    const detail = this.detail;
    if (detail === undefined) return h;
    const probe = { name: "boot-apply", status: "failed" as const, detail, durationMs: 0 };
    return { ...h, status: "failed", probes: [probe, ...h.probes] };
  }

  private settle(): void {
    this.failure = null;
    this.instead = null;
    this.last = null;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    const delay = this.delays[this.tries];
    if (this.failure === null || delay === undefined) return;
    this.timer = setTimeout(() => void this.attempt(), delay * 1000);
  }

  private async attempt(): Promise<void> {
    const f = this.failure;
    if (f === null) return;
    const n = ++this.tries;
    const of = this.delays.length;
    this.deps.log(`boot retry ${n} of ${of}: applying ${f.source} again`);
    let outcome: string;
    try {
      const r = await this.deps.apply(f.input, { by: "gate64-agent", message: `boot retry ${n} of ${of}: ${f.source}` });
      // Unchanged: the fallback that runs is the same configuration, now fully in effect.
      if (r.outcome === "committed" || r.outcome === "unchanged") {
        this.deps.log(`boot retry ${n} of ${of}: ${f.source} is in effect (revision ${r.revision})`);
        this.settle();
        return;
      }
      outcome = outcomeText(r);
    } catch (e) {
      outcome = `failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (this.failure !== f) return; // a change committed meanwhile
    const more = n < of ? `next in ${this.delays[n]} s` : "no more tries until a change is committed";
    this.last = `try ${n} of ${of} ${outcome} (${more})`;
    this.deps.log.warn(`boot retry ${n} of ${of}: ${f.source} ${outcome}; ${more}`);
    this.schedule();
  }

  async start(): Promise<void> {
    this.off = this.deps.bus.on("applied", this.id, (r) => {
      if (r.outcome === "committed") this.settle();
    });
    this.schedule();
  }

  async stop(): Promise<void> {
    this.off?.();
    clearTimeout(this.timer);
  }
}
