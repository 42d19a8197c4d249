// gate64 fleet rollout FILE --group G [--canary N] [--batch M] [--timeout SEC] [--revision N]
import { rollout } from "../../../fleet/rollout.js";
import { clean } from "../../../lib/terminal.js";
import { need } from "../../command.js";
import { EXIT } from "../../errors.js";
import { readConfigFile, type Verb } from "./common.js";
import { usage } from "./usage.js";

export const run: Verb = async (op, args, flags, out) => {
  const r = await rollout(op, {
    group: need(flags.group, "--group", usage),
    config: readConfigFile(args[0]),
    canary: flags.canary,
    batch: flags.batch,
    timeoutMs: (flags.timeout ?? 120) * 1000,
    ...(flags.revision ? { revision: flags.revision } : {}),
    onEvent: (l) => (out.json ? undefined : out.print(clean(l))),
  });
  if (out.json) out.data(r);
  if (r.failed) out.error(clean(`rollout stopped in wave ${r.failed.wave} at ${r.failed.device}: ${r.failed.status}: ${r.failed.reason}`));
  return r.failed ? EXIT.failure : EXIT.ok;
};
