// `gate64 status` as a person reads it: printed by the console CLI from the agent's reply, and
// kept by the agent in /run/gate64 for the CLI's shell fast path (daemon/status-file.ts).

import { clean, type Paint, paintStatus } from "../lib/terminal.js";
import { hardwareLine } from "../observe/inventory.js";
import type { DeviceStatus } from "./replies.js";

/** The lines of `gate64 status`; `uptime` is printed as given (the status file fills it in later). */
export function statusLines(s: DeviceStatus, paint: Paint, uptime: string): string[] {
  const word = (w: string) => paintStatus(paint, w);
  const u = s.update;
  return [
    `device    ${s.deviceId}   firmware ${clean(s.firmware)} (slot ${s.slot ?? "-"})   up ${uptime} s`,
    ...(u
      ? [`update    ${u.phase} ${clean(u.fromVersion)} -> ${clean(u.targetVersion ?? "?")}${u.reason ? `: ${clean(u.reason)}` : ""}`]
      : []),
    `config    revision ${s.revision}${s.awaitingConfirmation ? `, revision ${s.awaitingConfirmation} awaits confirmation` : ""}`,
    `health    ${word(s.health)}`,
    `LAN       ${s.lan ?? "-"}`,
    `WAN IPv4  ${s.wanIPv4 ?? "-"}`,
    ...(s.inventory ? [`hardware  ${clean(hardwareLine(s.inventory))}`] : []),
    ...(s.healthReport?.probes ?? []).map((p) => `  ${word(p.status).padEnd(8)} ${p.name.padEnd(12)} ${p.detail}`),
  ];
}
