// What the dashboard's server sends its page: shared by server (model.ts) and page
// (agent/web/dashboard), so this file imports nothing.

/** One line of the fleet table: what an operator scans for. */
export interface Row {
  id: string;
  availability: string;
  online: boolean;
  health: string;
  /** The first failing probe, named with its detail (or null). */
  failing: string | null;
  firmware: string | null;
  slot: string | null;
  revision: number | null;
  desiredRevision: number | null;
  /** Running what was last desired: reported applied/unchanged for the desired revision (null: nothing desired). */
  converged: boolean | null;
  update: string | null;
  groups: string[];
  /** When the box was last heard from (any message), ISO time. */
  lastSeen: string | null;
}

/** A telemetry sample reduced to the charted figures, rates already taken between samples. */
export interface Point {
  t: number;
  nat64Sessions: number | null;
  pool4UsePercent: number | null;
  rxBitsPerSec: number | null;
  txBitsPerSec: number | null;
  dnsQueriesPerSec: number | null;
  memAvailableBytes: number | null;
}
