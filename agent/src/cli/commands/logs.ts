// gate64 logs [agent|coredns|jool|network|provision] [-f]: the journal of the box's services.
import { spawnSync } from "node:child_process";
import { journalArgs, LOG_UNITS } from "../../daemon/journal.js";
import { EXIT, UsageError } from "../errors.js";
import type { CommandContext } from "../main.js";

export async function run({ args }: CommandContext): Promise<number> {
  const follow = args.includes("-f");
  const name = args.find((a) => !a.startsWith("-"));
  const units =
    name === undefined
      ? [...LOG_UNITS.agent, ...LOG_UNITS.coredns, ...LOG_UNITS.provision]
      : (LOG_UNITS as Record<string, readonly string[]>)[name];
  if (units === undefined) throw new UsageError(`unknown service "${name}" (one of: ${Object.keys(LOG_UNITS).join(", ")})`);
  const r = spawnSync("journalctl", journalArgs(units, 200, follow), { stdio: "inherit" });
  return r.status === 0 ? EXIT.ok : EXIT.failure;
}
