// Desired configuration from the fleet (docs/protocol.md#desired-and-reported-configuration):
// copies arrive on the device topic and on group topics; after a short settle the newest revision
// not yet handled is applied, one at a time, and reported. A console revision awaiting
// confirmation holds it until the confirmation or the revert.
import type { ApplyResult } from "../apply/applier.js";
import type { Device } from "../device/device.js";
import { type CommandError, keepMqtt } from "./commands.js";
import { type Desired, DesiredSchema, parseMessage, type Reported } from "./protocol.js";

export interface DesiredDeps {
  device: Device;
  log: (line: string) => void;
  /** The last desired revision handled, kept across reboots by the caller. */
  handled: () => number;
  setHandled: (revision: number) => Promise<void>;
  /** Publishes the outcome, and the state (its desired revision) with it. */
  report: (r: Omit<Reported, "at">) => void;
}

export function reportOf(r: ApplyResult): Pick<Reported, "status" | "problems" | "reason"> {
  switch (r.outcome) {
    case "committed":
    case "pending":
      return { status: "applied" };
    case "unchanged":
      return { status: "unchanged" };
    case "refused":
      return { status: "refused", problems: r.problems.map((p) => ({ field: `config.${p.path}`, reason: p.message })) };
    case "reverted":
      return { status: "reverted", reason: r.reason };
  }
}

export class DesiredConvergence {
  private readonly candidates = new Map<string, Desired>();
  private busy = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: DesiredDeps) {}

  /** Desired configs are waiting (for the settle delay or a pending console revision). */
  get waiting(): boolean {
    return this.candidates.size > 0;
  }

  /** A retained desired message from `source` ("device" or "group:<name>"). */
  offer(source: string, payload: Buffer): void {
    if (payload.length === 0) return; // cleared by the operator
    const parsed = parseMessage(DesiredSchema, payload);
    if (!parsed.ok) {
      this.deps.report({
        desiredRevision: 0,
        source,
        status: "refused",
        revision: this.deps.device.status().revision,
        problems: [{ field: parsed.field, reason: parsed.reason }],
      });
      return;
    }
    if (parsed.value.revision <= this.deps.handled()) return; // already handled (maybe from the other topic)
    const prev = this.candidates.get(source);
    if (prev === undefined || prev.revision < parsed.value.revision) this.candidates.set(source, parsed.value);
    this.schedule(0);
  }

  schedule(delayMs: number): void {
    if (this.timer !== null || this.busy) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.converge().catch((e: unknown) => this.deps.log(`fleet: desired: ${String(e)}`));
    }, delayMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Applies the newest desired config not yet handled, one at a time; older ones are skipped. */
  private async converge(): Promise<void> {
    const { device } = this.deps;
    this.busy = true;
    try {
      for (;;) {
        let best: [string, Desired] | null = null;
        for (const [source, d] of this.candidates)
          if (d.revision > this.deps.handled() && (best === null || d.revision > best[1].revision)) best = [source, d];
        this.candidates.clear();
        if (best === null) return;
        const [source, desired] = best;
        if (device.status().awaitingConfirmation !== null) {
          this.candidates.set(source, desired);
          this.deps.log(`fleet: desired ${desired.revision} waits for the console's pending revision`);
          return;
        }
        const base = { desiredRevision: desired.revision, source };
        let reported: Omit<Reported, "at">;
        try {
          const r = await device.apply(keepMqtt(device, desired.config), {
            by: `${desired.by} (desired ${desired.revision}, ${source})`,
            ...(desired.message ? { message: desired.message } : {}),
          });
          reported = { ...base, ...reportOf(r), revision: device.status().revision };
        } catch (e) {
          const err = e as CommandError;
          reported = {
            ...base,
            status: "refused",
            revision: device.status().revision,
            problems: [{ field: err.field ?? "config", reason: err.message }],
          };
        }
        await this.deps.setHandled(desired.revision);
        this.deps.report(reported);
      }
    } finally {
      this.busy = false;
    }
  }
}
