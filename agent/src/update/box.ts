// What the box says about its slots: the booted one (the UKI's rauc.slot=), the UKIs on the ESP,
// RAUC's compatible string. Reads through the system interface only.
import { PATHS } from "../paths.js";
import type { System } from "../system/system.js";
import { type BootEntry, parseEntries, parseEntry, type Slot } from "./boot-entries.js";

export async function bootedSlot(sys: System): Promise<Slot> {
  const cmdline = (await sys.readFile(PATHS.cmdline)) ?? "";
  const m = /(?:^|\s)rauc\.slot=([ab])(?:\s|$)/.exec(cmdline);
  if (!m) throw new Error(`${PATHS.cmdline} names no slot (rauc.slot=a|b)`);
  return m[1] as Slot;
}

export async function espEntries(sys: System): Promise<BootEntry[]> {
  return parseEntries(await sys.list(PATHS.espLinux));
}

/**
 * Files beside the UKIs that are no boot entry: what a power cut left of a UKI being written
 * (writeFileAtomic's temporary file). Only gate64 writes this directory.
 */
export async function strayFiles(sys: System): Promise<string[]> {
  return (await sys.list(PATHS.espLinux)).filter((n) => parseEntry(n) === null);
}

/** RAUC's compatible for this box (gate64-<board>): a bundle for another board is refused. */
export async function compatible(sys: System): Promise<string> {
  const text = (await sys.readFile(PATHS.raucSystemConf)) ?? "";
  const m = /^compatible=(.+)$/m.exec(text);
  if (!m?.[1]) throw new Error(`${PATHS.raucSystemConf} has no compatible=`);
  return m[1].trim();
}

export async function applyRenames(sys: System, renames: readonly { from: string; to: string }[]): Promise<void> {
  for (const r of renames) await sys.rename(`${PATHS.espLinux}/${r.from}`, `${PATHS.espLinux}/${r.to}`);
}
