// What the box could not send while the broker was away, bounded. Retained topics keep only
// their newest message (the state is what matters, not its history); other messages are kept
// in order and the oldest is dropped first when the box is full.
export interface Outgoing {
  topic: string;
  payload: string | Buffer;
  retain: boolean;
  properties?: Record<string, unknown>;
}

export class Outbox {
  private readonly retained = new Map<string, Outgoing>();
  private readonly ordered: Outgoing[] = [];
  dropped = 0;

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.retained.size + this.ordered.length;
  }

  put(msg: Outgoing): void {
    if (msg.retain) {
      this.retained.delete(msg.topic);
      this.retained.set(msg.topic, msg);
    } else {
      this.ordered.push(msg);
    }
    while (this.size > this.limit) {
      if (this.ordered.length > 0) this.ordered.shift();
      else this.retained.delete(this.retained.keys().next().value as string);
      this.dropped++;
    }
  }

  /** Everything queued, retained first, and empties the box. */
  drain(): Outgoing[] {
    const all = [...this.retained.values(), ...this.ordered];
    this.retained.clear();
    this.ordered.length = 0;
    return all;
  }
}

/** Full-jitter exponential backoff (ms) for reconnect attempt n (0-based). */
export function backoffMs(attempt: number, random: number, baseMs = 1000, capMs = 15_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
  return Math.max(500, Math.floor(random * ceiling));
}
