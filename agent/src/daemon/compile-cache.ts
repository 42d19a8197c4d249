// Node's compile caches on /data. Node names its cache directory by a hash of its version and V8's
// flags, so a firmware with another Node would leave the old one behind at every update (a few MB
// each, on the partition an update needs room on). The agent's unit and the gate64 wrapper put
// the cache in a directory named for the firmware's version; the agent removes every other.
import { basename, dirname, join } from "node:path";
import { PATHS } from "../paths.js";
import type { System } from "../system/system.js";

/**
 * Removes the entries of PATHS.nodeCache other than `current` (the running Node's
 * NODE_COMPILE_CACHE); returns their names. Removes nothing unless `current` is one of them: a
 * Node started with another cache, or none, cannot tell which directory is in use.
 */
export async function pruneCompileCaches(sys: System, current: string | undefined): Promise<string[]> {
  if (!current || dirname(current) !== PATHS.nodeCache) return [];
  const own = basename(current);
  const stale = (await sys.list(PATHS.nodeCache)).filter((name) => name !== own).sort();
  for (const name of stale) await sys.remove(join(PATHS.nodeCache, name));
  return stale;
}
