// A staged rollout of one config to a group: the canaries first, then batches, each wave waiting
// for every box to report the revision applied (the box's own apply verified its health) and
// stopping at the first box that refused, reverted or did not answer. When every wave passed,
// the group's retained desired config gets the same revision, so members that were offline
// converge when they come back and online ones (already on it) ignore it.
import type { Operator } from "./operator.js";
import { isOnline, type Reported } from "./protocol.js";

export interface RolloutOptions {
  group: string;
  config: unknown;
  canary: number;
  batch: number;
  /** Per wave. */
  timeoutMs: number;
  revision?: number;
  by?: string;
  onEvent?: (line: string) => void;
}

export interface RolloutResult {
  revision: number;
  done: string[];
  offline: string[];
  failed?: { device: string; wave: number; status: string; reason: string };
}

/** The waves of a rollout: the canaries first, then batches of the rest. */
export function planRollout(devices: readonly string[], canary: number, batch: number): string[][] {
  // A count that is not a whole number (a typo on the command line) must never mean "all at once".
  if (!Number.isInteger(canary) || canary < 0) throw new RangeError(`canary count ${canary} is not a whole number >= 0`);
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch size ${batch} is not a whole number >= 1`);
  const sorted = [...devices].sort();
  const waves: string[][] = [];
  const first = Math.min(canary, sorted.length);
  if (first > 0) waves.push(sorted.slice(0, first));
  for (let i = first; i < sorted.length; i += batch) waves.push(sorted.slice(i, i + batch));
  return waves;
}

export const converged = (r: Reported | undefined, revision: number) =>
  r !== undefined && r.desiredRevision === revision && (r.status === "applied" || r.status === "unchanged");

export async function rollout(op: Operator, o: RolloutOptions): Promise<RolloutResult> {
  const say = o.onEvent ?? (() => undefined);
  const views = await op.inventory();
  const members = [...views].filter(([, v]) => v.state?.groups.includes(o.group));
  const online = members.filter(([, v]) => isOnline(v.availability)).map(([d]) => d);
  const offline = members.filter(([, v]) => !isOnline(v.availability)).map(([d]) => d);
  const revision = o.revision ?? Date.now();
  const waves = planRollout(online, o.canary, o.batch);
  say(`rollout ${revision} to group ${o.group}: ${online.length} online in ${waves.length} wave(s), ${offline.length} offline`);
  const done: string[] = [];
  for (const [i, wave] of waves.entries()) {
    const pending = op.waitReported(wave, revision, o.timeoutMs);
    for (const d of wave) await op.setDesired({ device: d }, o.config, { revision, ...(o.by ? { by: o.by } : {}) });
    const reports = await pending;
    for (const d of wave) {
      const r: Reported | undefined = reports.get(d);
      if (!converged(r, revision)) {
        const reason =
          r === undefined
            ? `no report within ${o.timeoutMs} ms`
            : (r.reason ?? r.problems?.map((p) => `${p.field}: ${p.reason}`).join("; ") ?? "");
        say(`wave ${i + 1}: ${d} ${r?.status ?? "silent"}: ${reason}; stopping`);
        return { revision, done, offline, failed: { device: d, wave: i + 1, status: r?.status ?? "silent", reason } };
      }
      done.push(d);
    }
    say(`wave ${i + 1}/${waves.length}: ${wave.length} applied (${done.length}/${online.length})`);
  }
  await op.setDesired({ group: o.group }, o.config, { revision, ...(o.by ? { by: o.by } : {}) });
  say(`group ${o.group} desired set to revision ${revision} for members that come back later`);
  return { revision, done, offline };
}
