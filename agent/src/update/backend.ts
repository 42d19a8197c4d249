// RAUC's custom bootloader backend and pre-install handler (etc/rauc/system.conf): RAUC's slot
// states mapped onto systemd-boot's boot counting on UKI names (boot-entries.ts).
// docs/updates.md#boot-entries says how the names move during an install.
import { PATHS } from "../paths.js";
import type { System } from "../system/system.js";
import { primary, type Slot, setPrimary, setState, stagedName, state } from "./boot-entries.js";
import { applyRenames, bootedSlot, espEntries, strayFiles } from "./box.js";
import { ukiForSlot } from "./uki.js";

/** Tries a newly installed slot gets to pass its health gate before systemd-boot gives up on it. */
export const NEW_SLOT_TRIES = 2;

const slotArg = (v: string | undefined): Slot => {
  if (v === "a" || v === "b") return v;
  throw new Error(`slot: expected a or b, got ${v ?? "nothing"}`);
};

/** One call of the backend; the result is what RAUC reads on stdout. */
export async function bootBackend(sys: System, args: readonly string[]): Promise<string> {
  const entries = await espEntries(sys);
  switch (args[0]) {
    case "get-primary": {
      const p = primary(entries);
      if (p === null) throw new Error("no slot has a bootable UKI");
      return p;
    }
    case "get-current":
      return bootedSlot(sys);
    case "get-state":
      return state(entries, slotArg(args[1]));
    case "set-primary":
      await applyRenames(sys, setPrimary(entries, slotArg(args[1]), NEW_SLOT_TRIES));
      return "";
    case "set-state": {
      const want = args[2];
      if (want !== "good" && want !== "bad") throw new Error(`state: expected good or bad, got ${want ?? "nothing"}`);
      await applyRenames(sys, setState(entries, slotArg(args[1]), want));
      return "";
    }
    default:
      throw new Error(`unknown backend call ${args[0] ?? "(none)"}`);
  }
}

/** The bundle's one UKI (made for slot a: uki.ts); scripts/build-bundle puts it there. */
export const BUNDLE_UKI = "uki.efi";

/**
 * Before RAUC writes a slot: the bundle's UKI, made to boot that slot, goes onto the ESP under a
 * name with no tries left (never booted by itself) in place of the slot's old UKIs and of any
 * partial copy a power cut left. RAUC's set-primary makes it bootable once the root is written.
 */
export async function preInstall(sys: System, env: NodeJS.ProcessEnv): Promise<string[]> {
  const mount = env.RAUC_BUNDLE_MOUNT_POINT;
  if (!mount) throw new Error("RAUC_BUNDLE_MOUNT_POINT is not set (run by RAUC only)");
  const booted = await bootedSlot(sys);
  const staged: string[] = [];
  for (const i of (env.RAUC_TARGET_SLOTS ?? "").split(/\s+/).filter(Boolean)) {
    const name = env[`RAUC_SLOT_BOOTNAME_${i}`];
    if (name === undefined || name === "") continue;
    const slot = slotArg(name);
    if (slot === booted) throw new Error(`refusing to touch the booted slot ${slot}`);
    const uki = await sys.readBytes(`${mount}/${BUNDLE_UKI}`);
    if (uki === null) throw new Error(`the bundle has no ${BUNDLE_UKI}`);
    const forSlot = ukiForSlot(uki, slot);
    const old = (await espEntries(sys)).filter((x) => x.slot === slot).map((x) => x.name);
    for (const name of [...old, ...(await strayFiles(sys))]) await sys.remove(`${PATHS.espLinux}/${name}`);
    await sys.writeFileAtomic(`${PATHS.espLinux}/${stagedName(slot)}`, forSlot);
    staged.push(stagedName(slot));
  }
  return staged;
}
