// gate64 fleet status DEVICE: one box's state, last report and health probes.

import { clean } from "../../../lib/terminal.js";
import { hardwareLine } from "../../../observe/inventory.js";
import { need } from "../../command.js";
import { statusColour } from "../../device.js";
import { CliError, EXIT } from "../../errors.js";
import type { Verb } from "./common.js";
import { usage } from "./usage.js";

export const run: Verb = async (op, args, _flags, out) => {
  const device = need(args[0], "DEVICE", usage);
  const v = (await op.inventory({ device })).get(device);
  if (v === undefined) throw new CliError(`${device}: nothing retained on the broker (unknown or decommissioned)`, EXIT.failure);
  if (out.json) {
    out.data(v);
    return EXIT.ok;
  }
  const s = v.state;
  const line = (text: string) => out.print(clean(text));
  line(`device     ${device}   ${v.availability ?? "-"}   firmware ${s?.firmware ?? "-"}   booted ${s?.bootedAt ?? "-"}`);
  line(
    `config     revision ${s?.revision ?? "-"}, desired ${s?.desiredRevision ?? "-"}${s?.awaitingConfirmation ? `, ${s.awaitingConfirmation} awaits confirmation` : ""}`,
  );
  if (v.reported)
    line(
      `reported   desired ${v.reported.desiredRevision} from ${v.reported.source}: ${v.reported.status}${v.reported.reason ? ` (${v.reported.reason})` : ""}`,
    );
  line(`addresses  LAN ${s?.addresses.lan ?? "-"}   WAN ${s?.addresses.wanIPv4 ?? "-"}`);
  if (v.inventory) line(`hardware   ${hardwareLine(v.inventory)}`);
  line(`shell      ${s?.shell.enabled ? `enabled, ${s.shell.sessions.length} session(s)` : "disabled"}`);
  out.print(`health     ${statusColour(clean(v.health?.status ?? "unknown"))} at ${clean(v.health?.checkedAt ?? "-")}`);
  for (const p of v.health?.probes ?? [])
    out.print(`  ${statusColour(clean(p.status)).padEnd(8)} ${clean(p.name).padEnd(12)} ${clean(p.detail)}`);
  return v.health?.status === "failed" ? EXIT.failure : EXIT.ok;
};
