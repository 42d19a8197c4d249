// An update attempt as the box remembers it on /data (it outlives the reboot into the new slot and
// the fall back to the old one) and reports it: the phases, and what a boot makes of a record
// that the previous boot left behind. Pure: no I/O here.
import { z } from "zod";

export const UPDATE_PHASES = ["downloading", "installing", "rebooting", "verifying", "done", "failed", "rolled-back"] as const;
export type UpdatePhase = (typeof UPDATE_PHASES)[number];
/** Phases in which another install (or a config change awaiting confirmation) is refused. */
export const BUSY_PHASES: readonly UpdatePhase[] = ["downloading", "installing", "rebooting", "verifying"];

const timestamp = z.string().max(40);
const SlotSchema = z.enum(["a", "b"]);

export const FailedProbeSchema = z.strictObject({ name: z.string().max(64), detail: z.string().max(512) });

/** The update part of the fleet state message and of `gate64 update status`. */
export const UpdateStatusSchema = z.strictObject({
  phase: z.enum(UPDATE_PHASES),
  percent: z.number().int().min(0).max(100),
  targetVersion: z.string().max(128).nullable(),
  fromVersion: z.string().max(128),
  reason: z.string().max(1024).optional(),
  /** The critical probes that failed the health gate of the bad boot (rolled-back). */
  failedProbes: z.array(FailedProbeSchema).max(32).optional(),
  by: z.string().max(128),
  at: timestamp,
});
export type UpdateStatus = z.infer<typeof UpdateStatusSchema>;

/** What /data/gate64/update/attempt.json holds: the status plus what recovery needs. */
export const AttemptSchema = UpdateStatusSchema.extend({
  fromSlot: SlotSchema,
  targetSlot: SlotSchema,
});
export type Attempt = z.infer<typeof AttemptSchema>;

/** What the health gate leaves on /data when a boot did not prove itself. */
export const GateFailureSchema = z.strictObject({
  slot: SlotSchema,
  version: z.string().max(128),
  at: timestamp,
  failedProbes: z.array(FailedProbeSchema).max(32),
});
export type GateFailure = z.infer<typeof GateFailureSchema>;

export interface BootFacts {
  bootedSlot: "a" | "b";
  bootedVersion: string;
  /** The booted slot's UKI still counts tries: the health gate has not blessed it yet. */
  bootedCounting: boolean;
  /** The gate's record of a failed boot, if any. */
  gateFailure: GateFailure | null;
}

/**
 * What an attempt record means after a (re)boot. A record in downloading or installing was cut
 * short (power or agent) unless the box booted the target slot anyway; rebooting or verifying
 * is done once the new slot is blessed, rolled back when the old slot booted again.
 */
export function afterBoot(a: Attempt, f: BootFacts, now: string): Attempt {
  if (!(BUSY_PHASES as readonly string[]).includes(a.phase)) return a;
  const onTarget = f.bootedSlot === a.targetSlot && f.bootedSlot !== a.fromSlot;
  if (onTarget) {
    if (f.bootedCounting) return { ...a, phase: "verifying", percent: 100, at: now };
    return { ...a, phase: "done", percent: 100, reason: undefined, at: now };
  }
  if (a.phase === "downloading" || a.phase === "installing")
    return {
      ...a,
      phase: "failed",
      reason: `interrupted while ${a.phase} (power loss or agent restart); slot ${a.fromSlot} kept`,
      at: now,
    };
  const failure = f.gateFailure !== null && f.gateFailure.slot === a.targetSlot ? f.gateFailure : null;
  return {
    ...a,
    phase: "rolled-back",
    reason: failure
      ? `version ${a.targetVersion} failed its health gate on slot ${a.targetSlot}: ${failure.failedProbes.map((p) => p.name).join(", ") || "no report"}; back on slot ${f.bootedSlot} (${f.bootedVersion})`
      : `version ${a.targetVersion} never completed a boot on slot ${a.targetSlot}; back on slot ${f.bootedSlot} (${f.bootedVersion})`,
    ...(failure ? { failedProbes: failure.failedProbes } : {}),
    at: now,
  };
}

/** The status part of a record (what is reported). */
export const statusOf = ({ fromSlot: _f, targetSlot: _t, ...s }: Attempt): UpdateStatus => s;

/** A bundle larger than this is refused while downloading (the x86-64 bundle is about 79 MB). */
export const MAX_BUNDLE_BYTES = 1024 * 1024 * 1024;

/** What the fleet command update.install and `gate64 update install` ask for. */
export const InstallRequestSchema = z.strictObject({
  /** http(s):// URL, or a path on the box (console: a USB stick). */
  url: z.string().min(1).max(2048),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "64 lowercase hex digits")
    .optional(),
  size: z.number().int().min(1).max(MAX_BUNDLE_BYTES).optional(),
  allowDowngrade: z.boolean().default(false),
});
export type InstallRequest = z.infer<typeof InstallRequestSchema>;
