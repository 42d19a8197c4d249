// gate64 factory-reset [--full] [--yes]: wipe /data at the next boot and reboot now.
import { createInterface } from "node:readline/promises";
import { type CommandContext, parseFlags, switchFlag } from "../command.js";
import { ask, who } from "../device.js";
import { CliError, EXIT } from "../errors.js";

export const usage = `usage: gate64 factory-reset [--full] [--yes]
  reboots and, before the agent starts, puts /data back to the provisioned state: identity,
  console and broker credentials and the provisioned configuration are kept; revisions, fleet
  state and update records go. --full wipes all of /data (the box comes back unprovisioned).
  Asks for the device id unless --yes.`;

export async function run({ args, out }: CommandContext): Promise<number> {
  const { flags } = parseFlags(args, { full: switchFlag, yes: switchFlag }, usage);
  const mode = flags.full ? "full" : "provisioned";
  if (flags.yes !== true) {
    if (!process.stdin.isTTY) throw new CliError("not on a terminal: confirm with --yes", EXIT.usage);
    const { deviceId } = await ask({ cmd: "status" });
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = (await rl.question(`factory reset (${mode}) of ${deviceId}: type its device id to go on: `)).trim();
    rl.close();
    if (answer !== deviceId) throw new CliError("not confirmed: nothing changed", EXIT.failure);
  }
  const r = await ask({ cmd: "factory-reset", mode, by: who() });
  out.print(`factory reset (${r.resetting}) at the next boot; rebooting`);
  return EXIT.ok;
}
