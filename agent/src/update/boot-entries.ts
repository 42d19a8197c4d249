// The slots as systemd-boot sees them: one UKI per slot on the ESP, named
// gate64-<generation>-<slot>[+<left>[-<done>]].efi (docs/updates.md#boot-entries). systemd-boot
// puts entries without tries left last and otherwise boots the highest name, so the primary slot
// is the one with the highest generation that still has tries (or none counted: blessed). These
// functions are pure: they read names and say which renames to make.

export type Slot = "a" | "b";
export const SLOTS: readonly Slot[] = ["a", "b"];
export const otherSlot = (s: Slot): Slot => (s === "a" ? "b" : "a");

export interface BootEntry {
  name: string;
  generation: number;
  slot: Slot;
  /** Tries left; null when the entry is not counted (blessed, or flashed). */
  left: number | null;
  done: number | null;
}

const NAME = /^gate64-(\d{1,9})-([ab])(?:\+(\d+)(?:-(\d+))?)?\.efi$/;

export function parseEntry(name: string): BootEntry | null {
  const m = NAME.exec(name);
  if (!m) return null;
  return {
    name,
    generation: Number(m[1]),
    slot: m[2] as Slot,
    left: m[3] === undefined ? null : Number(m[3]),
    done: m[4] === undefined ? null : Number(m[4]),
  };
}

export const entryName = (e: Omit<BootEntry, "name">): string =>
  `gate64-${e.generation}-${e.slot}${e.left === null ? "" : `+${e.left}${e.done === null ? "" : `-${e.done}`}`}.efi`;

export function parseEntries(names: readonly string[]): BootEntry[] {
  return names.map(parseEntry).filter((e): e is BootEntry => e !== null);
}

/** An entry systemd-boot would still pick by itself: not out of tries. */
export const bootable = (e: BootEntry): boolean => e.left !== 0;

/** Entries in systemd-boot's order: bootable first, then the highest generation. */
export function bootOrder(entries: readonly BootEntry[]): BootEntry[] {
  return [...entries].sort((x, y) => Number(bootable(y)) - Number(bootable(x)) || y.generation - x.generation);
}

export const entryOf = (entries: readonly BootEntry[], slot: Slot): BootEntry | undefined =>
  bootOrder(entries).find((e) => e.slot === slot);

export function primary(entries: readonly BootEntry[]): Slot | null {
  const first = bootOrder(entries)[0];
  return first && bootable(first) ? first.slot : null;
}

export function state(entries: readonly BootEntry[], slot: Slot): "good" | "bad" {
  const e = entryOf(entries, slot);
  return e && bootable(e) ? "good" : "bad";
}

export type Rename = { from: string; to: string };

/** Makes `slot` the one booted next, with `tries` tries to prove itself. */
export function setPrimary(entries: readonly BootEntry[], slot: Slot, tries: number): Rename[] {
  const e = entryOf(entries, slot);
  if (!e) throw new Error(`slot ${slot} has no UKI on the ESP`);
  const generation = Math.max(0, ...entries.map((x) => x.generation)) + 1;
  return [{ from: e.name, to: entryName({ generation, slot, left: tries, done: null }) }];
}

/** good: blessed (the counter goes); bad: no tries left, so systemd-boot passes it over. */
export function setState(entries: readonly BootEntry[], slot: Slot, want: "good" | "bad"): Rename[] {
  const e = entryOf(entries, slot);
  if (!e) throw new Error(`slot ${slot} has no UKI on the ESP`);
  const to = entryName(want === "good" ? { ...e, left: null, done: null } : { ...e, left: 0, done: e.done ?? 0 });
  return to === e.name ? [] : [{ from: e.name, to }];
}

/** Where an installed UKI first lands: generation 0, no tries left, so never booted by itself. */
export const stagedName = (slot: Slot): string => entryName({ generation: 0, slot, left: 0, done: 0 });
