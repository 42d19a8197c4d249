// gate64 reboot: ask the agent to reboot the box (it answers first).

import { ask, who } from "../device.js";
import { EXIT } from "../errors.js";
import type { CommandContext } from "../main.js";

export async function run({ out }: CommandContext): Promise<number> {
  await ask({ cmd: "reboot", by: who() });
  out.print("rebooting");
  return EXIT.ok;
}
