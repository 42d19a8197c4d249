// gate64 fleet cmd DEVICE NAME [JSON-ARGS] [--timeout SEC]: one command, its answer as JSON.
import { COMMAND_NAMES, type CommandName } from "../../../fleet/protocol.js";
import { need } from "../../command.js";
import { UsageError } from "../../errors.js";
import { ask, respond, type Verb } from "./common.js";
import { usage } from "./usage.js";

export const run: Verb = async (op, args, flags, out) => {
  const device = need(args[0], "DEVICE", usage);
  const name = need(args[1], "NAME", usage) as CommandName;
  if (!COMMAND_NAMES.includes(name)) throw new UsageError(`unknown command "${name}" (one of: ${COMMAND_NAMES.join(", ")})`);
  let cmdArgs: unknown = {};
  if (args[2] !== undefined) {
    try {
      cmdArgs = JSON.parse(args[2]);
    } catch (e) {
      throw new UsageError(`JSON-ARGS: ${(e as Error).message}`);
    }
  }
  return respond(out, await ask(op, device, name, cmdArgs, (flags.timeout ?? 120) * 1000));
};
