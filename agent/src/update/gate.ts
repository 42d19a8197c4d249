// The boot health gate (gate64-boot-check.service, ordered before boot-complete.target): a slot
// that boots with tries counted is blessed by systemd-bless-boot only after the agent reports a
// health round in which every critical probe passed. Otherwise the failed probes are kept on
// /data for the slot that boots next, and the box reboots to use up the try, but only when
// another slot is there to fall back to.
import type { HealthReport } from "../observe/health.js";
import { PATHS } from "../paths.js";
import type { System } from "../system/system.js";
import type { GateFailure } from "./attempt.js";
import { bootable, entryOf, otherSlot } from "./boot-entries.js";
import { bootedSlot, espEntries } from "./box.js";

export const GATE_FAILURE = "failed-boot.json";

export interface GateOptions {
  /** A health round now (through the control socket); throws while the agent is not up. */
  health: () => Promise<HealthReport>;
  version: string;
  timeoutMs: number;
  intervalMs: number;
  log: (line: string) => void;
}

export type GateResult = "not-counting" | "passed" | "failed" | "failed-no-fallback";

export async function runGate(sys: System, o: GateOptions): Promise<GateResult> {
  const slot = await bootedSlot(sys);
  const entries = await espEntries(sys);
  const mine = entryOf(entries, slot);
  if (mine === undefined || mine.left === null) return "not-counting";
  let last: HealthReport | null = null;
  let lastError = "";
  for (const until = sys.now() + o.timeoutMs; sys.now() < until; ) {
    try {
      last = await o.health();
      if (last.status !== "failed") {
        o.log(`slot ${slot} (${o.version}) passed its health gate: ${last.probes.map((p) => p.name).join(", ")}`);
        return "passed";
      }
    } catch (e) {
      lastError = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
  const failedProbes = last
    ? last.probes.filter((p) => p.status === "failed").map((p) => ({ name: p.name, detail: p.detail.slice(0, 512) }))
    : [{ name: "agent", detail: `no health report: ${lastError}`.slice(0, 512) }];
  const failure: GateFailure = { slot, version: o.version, at: new Date(sys.now()).toISOString(), failedProbes };
  await sys.writeFileAtomic(`${PATHS.updateDir}/${GATE_FAILURE}`, JSON.stringify(failure));
  o.log(`slot ${slot} (${o.version}) failed its health gate: ${failedProbes.map((p) => `${p.name}: ${p.detail}`).join("; ")}`);
  const fallback = entryOf(entries, otherSlot(slot));
  if (fallback === undefined || !bootable(fallback)) return "failed-no-fallback";
  await sys.run("systemctl", ["reboot", "--no-block"]);
  return "failed";
}
