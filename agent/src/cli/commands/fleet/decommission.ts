// gate64 fleet decommission DEVICE: the box leaves the fleet; its retained topics are cleared.
import { need } from "../../command.js";
import { EXIT } from "../../errors.js";
import type { Verb } from "./common.js";
import { usage } from "./usage.js";

export const run: Verb = async (op, args, _flags, out) => {
  const d = need(args[0], "DEVICE", usage);
  const r = await op.request(d, "decommission", {}, 10_000).catch(() => null);
  await op.clearRetained(d);
  out.print(r?.ok ? `${d}: left the fleet; retained topics cleared` : `${d}: did not answer (offline?); retained topics cleared`);
  return EXIT.ok;
};
