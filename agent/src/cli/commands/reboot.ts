// gate64 reboot: ask the agent to reboot the box (it answers first).

import { type CommandContext, parseFlags } from "../command.js";
import { ask, who } from "../device.js";
import { EXIT } from "../errors.js";

export const usage = "usage: gate64 reboot   the agent answers, then the box reboots";

export async function run({ args, out }: CommandContext): Promise<number> {
  parseFlags(args, {}, usage);
  await ask({ cmd: "reboot", by: who() });
  out.print("rebooting");
  return EXIT.ok;
}
