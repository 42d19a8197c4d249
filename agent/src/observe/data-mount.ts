// /data as mounted: the data partition, or memory in its place when the partition did not mount
// at boot (gate64-data-fallback.service, docs/operations.md#when-data-does-not-mount).
import { PATHS } from "../paths.js";
import type { System } from "../system/system.js";

export const DATA_IN_MEMORY = "/data is in memory: its partition did not mount at boot";

/** The mount at /data (the last one, if several), or null when nothing is mounted there. */
export async function dataMount(sys: System): Promise<{ source: string; fstype: string; inMemory: boolean } | null> {
  // The mount table names mount points as they are, not under GATE64_ROOT.
  const line = ((await sys.readFile(PATHS.mounts)) ?? "")
    .split("\n")
    .filter((l) => l.split(" ")[1] === "/data")
    .at(-1);
  const [source, , fstype] = line?.split(" ") ?? [];
  if (source === undefined || fstype === undefined) return null;
  return { source, fstype, inMemory: fstype === "tmpfs" };
}
