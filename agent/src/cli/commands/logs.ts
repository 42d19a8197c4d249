// gate64 logs [agent|coredns|jool|network|provision] [-f]: the journal of the box's services.
import { spawnSync } from "node:child_process";
import { journalArgs, LOG_UNITS } from "../../observe/journal.js";
import { type CommandContext, parseFlags, switchFlag } from "../command.js";
import { EXIT, UsageError } from "../errors.js";

export const usage = `usage: gate64 logs [${Object.keys(LOG_UNITS).join("|")}] [-f]   the journal of the box's services (-f follows)`;

export async function run({ args }: CommandContext): Promise<number> {
  const { flags, positionals } = parseFlags(args, { f: switchFlag, follow: switchFlag }, usage);
  const follow = flags.f === true || flags.follow === true;
  const name = positionals[0];
  const units =
    name === undefined
      ? [...LOG_UNITS.agent, ...LOG_UNITS.coredns, ...LOG_UNITS.provision]
      : (LOG_UNITS as Record<string, readonly string[]>)[name];
  if (units === undefined) throw new UsageError(`unknown service "${name}" (one of: ${Object.keys(LOG_UNITS).join(", ")})`);
  const r = spawnSync("journalctl", journalArgs(units, 200, follow), { stdio: "inherit" });
  return r.status === 0 ? EXIT.ok : EXIT.failure;
}
