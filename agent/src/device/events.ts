// A typed event bus between the agent's modules. A failing listener is logged with its origin
// and never breaks the emitter.
import type { ApplyResult } from "../apply/applier.js";
import type { HealthReport } from "../observe/health.js";
import type { UpdateStatus } from "../update/attempt.js";

export interface AgentEvents {
  /** Every apply, confirm or rollback that changed something (or was refused). */
  applied: ApplyResult;
  health: HealthReport;
  /** A firmware update moved on (phase or progress). */
  update: UpdateStatus;
}

type Listener<K extends keyof AgentEvents> = (payload: AgentEvents[K]) => void | Promise<void>;

export class EventBus {
  private readonly listeners = new Map<keyof AgentEvents, { origin: string; fn: Listener<never> }[]>();

  constructor(private readonly log: (line: string) => void) {}

  /** Adds a listener; the result removes it again. */
  on<K extends keyof AgentEvents>(event: K, origin: string, fn: Listener<K>): () => void {
    const entry = { origin, fn: fn as Listener<never> };
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), entry]);
    return () =>
      this.listeners.set(
        event,
        (this.listeners.get(event) ?? []).filter((e) => e !== entry),
      );
  }

  emit<K extends keyof AgentEvents>(event: K, payload: AgentEvents[K]): void {
    for (const { origin, fn } of this.listeners.get(event) ?? []) {
      Promise.resolve()
        .then(() => (fn as Listener<K>)(payload))
        .catch((err: unknown) => this.log(`${origin}: ${String(event)} listener failed: ${String(err)}`));
    }
  }
}
