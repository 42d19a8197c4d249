// gate64 fleet config get DEVICE [--revision N] | config set DEVICE|--group G FILE [--wait SEC]
import { isOnline } from "../../../fleet/protocol.js";
import { clean } from "../../../lib/terminal.js";
import { need } from "../../command.js";
import { statusColour } from "../../device.js";
import { EXIT, exitForOutcome, UsageError } from "../../errors.js";
import { ask, readConfigFile, respond, type Verb } from "./common.js";
import { usage } from "./usage.js";

export const run: Verb = async (op, args, flags, out) => {
  const [verb, ...more] = args;
  if (verb === "get")
    return respond(
      out,
      await ask(op, need(more[0], "DEVICE", usage), "config.get", flags.revision ? { revision: flags.revision } : {}, 15_000),
    );
  if (verb !== "set") throw new UsageError(`fleet config get|set ...\n\n${usage}`);
  const [target, file] = flags.group ? [undefined, more[0]] : [need(more[0], "DEVICE (or --group G)", usage), more[1]];
  const config = readConfigFile(file);
  let members: string[];
  if (flags.group) {
    members = [...(await op.inventory())]
      .filter(([, v]) => v.state?.groups.includes(flags.group as string) && isOnline(v.availability))
      .map(([d]) => d);
  } else members = [target as string];
  const revision = flags.revision ?? Date.now();
  const reports = op.waitReported(members, revision, flags.wait * 1000, (d, r) => {
    if (out.json) return;
    const ok = r.status === "applied" || r.status === "unchanged";
    const detail = `${r.status}${r.reason ? ` (${r.reason})` : ""}${r.problems ? ` ${r.problems.map((p) => `${p.field}: ${p.reason}`).join("; ")}` : ""}`;
    out.print(`${clean(d)}: ${statusColour(ok ? "ok" : "failed")} ${clean(detail)}`);
  });
  await op.setDesired(flags.group ? { group: flags.group } : { device: target as string }, config, { revision });
  if (!out.json)
    out.print(`desired revision ${revision} published to ${flags.group ? `group ${flags.group} (${members.length} online)` : target}`);
  const got = await reports;
  if (out.json) out.data({ revision, reports: Object.fromEntries(got) });
  const missing = members.filter((m) => !got.has(m));
  if (missing.length > 0) out.error(`no report within ${flags.wait} s from: ${missing.join(", ")}`);
  // The same table as the console: refused 1, reverted 3, no answer 4.
  const worst = Math.max(EXIT.ok, ...[...got.values()].map((r) => exitForOutcome(r.status)));
  return worst !== EXIT.ok ? worst : missing.length > 0 ? EXIT.unavailable : EXIT.ok;
};
