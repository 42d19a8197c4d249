// gate64 status: what this box runs and how it is.

import { hardwareLine } from "../../observe/inventory.js";
import { type CommandContext, clean, parseFlags } from "../command.js";
import { ask, statusColour } from "../device.js";
import { EXIT } from "../errors.js";

export const usage = "usage: gate64 status [--json]   device, firmware, revision, health and each probe";

export async function run({ args, out }: CommandContext): Promise<number> {
  parseFlags(args, {}, usage);
  const s = await ask({ cmd: "status" });
  if (out.json) {
    out.data(s);
    return EXIT.ok;
  }
  out.print(`device    ${s.deviceId}   firmware ${clean(s.firmware)} (slot ${s.slot ?? "-"})   up ${s.uptimeSec} s`);
  if (s.update)
    out.print(
      `update    ${s.update.phase} ${clean(s.update.fromVersion)} -> ${clean(s.update.targetVersion ?? "?")}${s.update.reason ? `: ${clean(s.update.reason)}` : ""}`,
    );
  out.print(`config    revision ${s.revision}${s.awaitingConfirmation ? `, revision ${s.awaitingConfirmation} awaits confirmation` : ""}`);
  out.print(`health    ${statusColour(s.health)}`);
  out.print(`LAN       ${s.lan ?? "-"}`);
  out.print(`WAN IPv4  ${s.wanIPv4 ?? "-"}`);
  if (s.inventory) out.print(`hardware  ${clean(hardwareLine(s.inventory))}`);
  for (const p of s.healthReport?.probes ?? []) out.print(`  ${statusColour(p.status).padEnd(8)} ${p.name.padEnd(12)} ${p.detail}`);
  return s.health === "failed" ? EXIT.failure : EXIT.ok;
}
