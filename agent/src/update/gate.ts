// The boot health gate (gate64-boot-check.service, ordered before boot-complete.target): a slot
// that boots with tries counted is blessed by systemd-bless-boot only after the agent reports a
// health round in which every critical probe passed. Otherwise the failed probes are kept on
// /data for the slot that boots next, and the box reboots, but only when another slot is there
// to fall back to.
//
// Two ways to fail. A probe that depends only on the firmware and the box (FIRMWARE_PROBES) still
// failing after settleMs, with the agent's boot apply and its repairs done, is evidence that
// another try would fail the same way: the entry is marked bad at once (systemd-bless-boot bad)
// and the box falls back on the next boot. Anything else (the agent never answers, translation
// through the uplink fails) runs to the timeout and spends one try of the boot counter, so a
// slow uplink or a hang gets the retry and a broken firmware costs the LAN one short boot.
import type { HealthReport } from "../observe/health.js";
import { PATHS } from "../paths.js";
import type { System } from "../system/system.js";
import type { GateFailure } from "./attempt.js";
import { bootable, entryOf, otherSlot } from "./boot-entries.js";
import { bootedSlot, espEntries } from "./box.js";

export const GATE_FAILURE = "failed-boot.json";

/**
 * Probes whose failure no uplink, neighbour or timing explains: the agent could not put any
 * configuration into effect ("boot-apply", daemon/main.ts), the translator instance, CoreDNS's
 * own readiness, the LAN address.
 */
export const FIRMWARE_PROBES: ReadonlySet<string> = new Set(["boot-apply", "jool", "coredns", "lan-address"]);

const BLESS_BOOT = "/usr/lib/systemd/systemd-bless-boot";

export interface GateOptions {
  /** A health round now (through the control socket); throws while the agent is not up. */
  health: () => Promise<HealthReport>;
  version: string;
  timeoutMs: number;
  /** How long a firmware probe keeps failing before the slot is judged bad. */
  settleMs: number;
  intervalMs: number;
  log: (line: string) => void;
}

export type GateResult = "not-counting" | "passed" | "failed" | "marked-bad" | "failed-no-fallback";

const failedOf = (h: HealthReport) => h.probes.filter((p) => p.status === "failed");

export async function runGate(sys: System, o: GateOptions): Promise<GateResult> {
  const slot = await bootedSlot(sys);
  const entries = await espEntries(sys);
  const mine = entryOf(entries, slot);
  if (mine === undefined || mine.left === null) return "not-counting";
  let last: HealthReport | null = null;
  let lastError = "";
  let firmwareFailingSince: number | null = null;
  let verdict = false;
  for (const until = sys.now() + o.timeoutMs; sys.now() < until; ) {
    try {
      last = await o.health();
      if (last.status !== "failed") {
        o.log(`slot ${slot} (${o.version}) passed its health gate: ${last.probes.map((p) => p.name).join(", ")}`);
        return "passed";
      }
      const firmware = failedOf(last).some((p) => FIRMWARE_PROBES.has(p.name));
      firmwareFailingSince = firmware ? (firmwareFailingSince ?? sys.now()) : null;
      if (firmwareFailingSince !== null && sys.now() - firmwareFailingSince >= o.settleMs) {
        verdict = true;
        break;
      }
    } catch (e) {
      lastError = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
  const failedProbes = last
    ? failedOf(last).map((p) => ({ name: p.name, detail: p.detail.slice(0, 512) }))
    : [{ name: "agent", detail: `no health report: ${lastError}`.slice(0, 512) }];
  const failure: GateFailure = { slot, version: o.version, at: new Date(sys.now()).toISOString(), failedProbes };
  await sys.writeFileAtomic(`${PATHS.updateDir}/${GATE_FAILURE}`, JSON.stringify(failure));
  o.log(`slot ${slot} (${o.version}) failed its health gate: ${failedProbes.map((p) => `${p.name}: ${p.detail}`).join("; ")}`);
  const fallback = entryOf(entries, otherSlot(slot));
  if (fallback === undefined || !bootable(fallback)) return "failed-no-fallback";
  let marked = false;
  if (verdict) {
    // Should systemd-bless-boot fail, the reboot still spends a try of the counter.
    const r = await sys.run(BLESS_BOOT, ["bad"]);
    marked = r.code === 0;
    o.log(
      marked
        ? `slot ${slot} marked bad: its firmware probes failed for ${o.settleMs / 1000} s, another try would fail the same way`
        : `systemd-bless-boot bad failed (${r.stderr.trim()}): the boot counter decides`,
    );
  }
  await sys.run("systemctl", ["reboot", "--no-block"]);
  return marked ? "marked-bad" : "failed";
}
