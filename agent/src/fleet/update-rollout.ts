// A firmware update across boxes, staged like a config rollout: canaries first, then batches.
// Each box gets the command update.install (URL, size, SHA-256; the bundle travels over HTTP),
// then the wave waits until every box's retained state says the update ended: done on the new
// version, or failed / rolled-back, which stops the rollout before the next wave.
import { type UpdateStatus, UpdateStatusSchema } from "../update/attempt.js";
import type { Operator } from "./operator.js";
import { isOnline, type State } from "./protocol.js";
import { planRollout } from "./rollout.js";

export interface UpdateRolloutOptions {
  devices: readonly string[];
  url: string;
  sha256: string;
  size: number;
  allowDowngrade: boolean;
  canary: number;
  batch: number;
  /** Per wave: download, install, reboot and the new slot's health gate. */
  timeoutMs: number;
  onEvent?: (line: string) => void;
}

export interface UpdateRolloutResult {
  done: { device: string; version: string }[];
  offline: string[];
  failed?: { device: string; wave: number; phase: string; reason: string };
}

const TERMINAL = ["done", "failed", "rolled-back"];

/** Where a box's update stands, as far as this rollout is concerned (pure, for the tests). */
export function updateOutcome(s: State | undefined, since: string): { ended: boolean; ok: boolean; phase: string; reason: string } {
  const u: UpdateStatus | null | undefined = s?.update;
  if (!u || u.at < since) return { ended: false, ok: false, phase: "waiting", reason: "" };
  const ended = TERMINAL.includes(u.phase);
  const ok = u.phase === "done" && s?.firmware === u.targetVersion;
  return { ended, ok, phase: u.phase, reason: u.reason ?? "" };
}

/**
 * From when a box's update news counts: the time in the status the box accepted the command
 * with, on its own clock, which its later states also carry; the operator's clock only when the
 * answer holds no status. A box whose clock runs behind the operator's would otherwise have its
 * refusal, seconds later, taken for older news and waited on until the timeout.
 */
export function acceptedSince(result: unknown, operatorNow: string): string {
  const accepted = UpdateStatusSchema.safeParse(result);
  return accepted.success ? accepted.data.at : operatorNow;
}

export async function updateRollout(op: Operator, o: UpdateRolloutOptions): Promise<UpdateRolloutResult> {
  const say = o.onEvent ?? (() => undefined);
  const views = await op.inventory();
  const online = o.devices.filter((d) => isOnline(views.get(d)?.availability));
  const offline = o.devices.filter((d) => !isOnline(views.get(d)?.availability));
  const waves = planRollout(online, o.canary, o.batch);
  say(`update to ${o.url} (${o.size} bytes): ${online.length} online in ${waves.length} wave(s), ${offline.length} offline (not updated)`);
  const done: UpdateRolloutResult["done"] = [];
  const latest = new Map<string, State>();
  const stop = await op.watch((e) => {
    if (e.kind === "state" && e.value) latest.set(e.device, e.value as State);
  });
  try {
    const since = new Map<string, string>();
    for (const [i, wave] of waves.entries()) {
      for (const d of wave) {
        const asked = new Date().toISOString();
        const r = await op.request(
          d,
          "update.install",
          { url: o.url, sha256: o.sha256, size: o.size, allowDowngrade: o.allowDowngrade },
          30_000,
        );
        if (!r.ok) {
          say(`wave ${i + 1}: ${d} refused: ${r.error.message}; stopping`);
          return { done, offline, failed: { device: d, wave: i + 1, phase: "refused", reason: r.error.message } };
        }
        since.set(d, acceptedSince(r.result, asked));
        say(`wave ${i + 1}: ${d} accepted`);
      }
      const shown = new Map<string, string>();
      for (const until = Date.now() + o.timeoutMs; ; ) {
        const outcomes = wave.map((d) => [d, updateOutcome(latest.get(d), since.get(d) ?? "")] as const);
        for (const [d, oc] of outcomes) {
          const u = latest.get(d)?.update;
          const line = `${oc.phase}${u && !oc.ended ? ` ${u.percent}%` : ""}`;
          if (u && oc.phase !== "waiting" && shown.get(d) !== line) {
            shown.set(d, line);
            say(`  ${d}: ${line}${oc.reason ? ` (${oc.reason})` : ""}`);
          }
        }
        const bad = outcomes.find(([, oc]) => oc.ended && !oc.ok);
        if (bad) {
          say(`wave ${i + 1}: ${bad[0]} ${bad[1].phase}; stopping`);
          return { done, offline, failed: { device: bad[0], wave: i + 1, phase: bad[1].phase, reason: bad[1].reason } };
        }
        if (outcomes.every(([, oc]) => oc.ok)) break;
        if (Date.now() > until) {
          const late = outcomes.find(([, oc]) => !oc.ok);
          const phase = late?.[1].phase ?? "silent";
          return { done, offline, failed: { device: late?.[0] ?? "?", wave: i + 1, phase, reason: `not done within ${o.timeoutMs} ms` } };
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      for (const d of wave) done.push({ device: d, version: latest.get(d)?.firmware ?? "?" });
      say(`wave ${i + 1}/${waves.length}: ${wave.length} updated (${done.length}/${online.length})`);
    }
    return { done, offline };
  } finally {
    await stop();
  }
}
