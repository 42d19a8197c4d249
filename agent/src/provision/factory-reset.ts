// Factory reset: /data back to the provisioned state (identity, console credential, broker
// credentials and the provisioned configuration kept) or, with "full", to the unprovisioned one.
// Asked for by `gate64 factory-reset`, the fleet command or a file gate64/factory-reset on the
// ESP (for a box nobody can log into); carried out at the next boot by gate64-provision.service,
// before the agent starts, so nothing is holding the files.
import { PATHS } from "../paths.js";
import type { System } from "../system/system.js";

export type ResetMode = "provisioned" | "full";
export const RESET_REQUEST = "factory-reset";
/** The configuration provision.json brought, restored by a reset. */
export const PROVISIONED_CONFIG = "provisioned-config.json";

/** timesyncd's record of the last known time: the box's clock, not its settings (docs/operations.md#the-clock). */
const CLOCK_STATE = "timesync";

/** What survives a reset in /data/gate64 (file names), by mode. */
export function kept(mode: ResetMode): string[] {
  return mode === "full" ? [CLOCK_STATE] : [CLOCK_STATE, "identity.json", "console.hash", "mqtt", PROVISIONED_CONFIG];
}

export const parseMode = (text: string): ResetMode => (text.trim() === "full" ? "full" : "provisioned");

const espFile = () => PATHS.provision.replace(/provision\.json$/, RESET_REQUEST);

/**
 * Asks for a reset at the next boot: in /data, or on the ESP when /data is memory (its partition
 * did not mount), where the request outlives the reboot and tells gate64-data-fallback.service to
 * make the partition's filesystem anew if it still cannot be repaired.
 */
export async function requestReset(sys: System, mode: ResetMode, where: "data" | "esp" = "data"): Promise<void> {
  await sys.writeFileAtomic(where === "esp" ? espFile() : `${PATHS.data}/${RESET_REQUEST}`, `${mode}\n`, 0o600);
}

/** Carries out a pending request (from /data or the ESP); returns what was done, or null. */
export async function performReset(sys: System): Promise<{ mode: ResetMode; removed: string[] } | null> {
  const text = (await sys.readFile(`${PATHS.data}/${RESET_REQUEST}`)) ?? (await sys.readFile(espFile()));
  if (text === null) return null;
  const mode = parseMode(text);
  const keep = new Set(kept(mode));
  const removed: string[] = [];
  for (const name of await sys.list(PATHS.data)) {
    if (keep.has(name)) continue;
    await sys.remove(`${PATHS.data}/${name}`);
    removed.push(name);
  }
  // RAUC's own state (its status file) goes with the rest; the slots themselves are untouched.
  await sys.remove(PATHS.data.replace(/gate64$/, "rauc"));
  const provisioned = await sys.readFile(`${PATHS.data}/${PROVISIONED_CONFIG}`);
  if (provisioned !== null) await sys.writeFileAtomic(PATHS.config, provisioned, 0o600);
  await sys.remove(espFile());
  return { mode, removed: removed.sort() };
}
