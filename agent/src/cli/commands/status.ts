// gate64 status: what this box runs and how it is. Without flags, the device's `gate64` wrapper
// prints the same text from the agent's status file without starting Node (daemon/status-file.ts).

import { statusLines } from "../../device/status-text.js";
import { type CommandContext, parseFlags } from "../command.js";
import { ask } from "../device.js";
import { EXIT } from "../errors.js";
import { colour } from "../output.js";

export const usage = "usage: gate64 status [--json]   device, firmware, revision, health and each probe";

export async function run({ args, out }: CommandContext): Promise<number> {
  parseFlags(args, {}, usage);
  const s = await ask({ cmd: "status" });
  if (out.json) {
    out.data(s);
    return EXIT.ok;
  }
  for (const line of statusLines(s, colour, String(s.uptimeSec))) out.print(line);
  return s.health === "failed" ? EXIT.failure : EXIT.ok;
}
