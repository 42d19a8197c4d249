// gate64 fleet ls [--group G]: every box with availability, health, revisions and firmware.
import type { DeviceView } from "../../../fleet/operator.js";
import { isOnline } from "../../../fleet/protocol.js";
import { clean } from "../../../lib/terminal.js";
import { EXIT } from "../../errors.js";
import type { Verb } from "./common.js";

function row(id: string, v: DeviceView): string[] {
  const s = v.state;
  return [
    id,
    v.availability ?? "-",
    s?.health ?? "-",
    String(s?.revision ?? "-"),
    String(s?.desiredRevision ?? "-"),
    v.reported?.status ?? "-",
    s?.firmware ?? "-",
    s?.slot ?? "-",
    s?.update
      ? `${s.update.phase}${s.update.phase === "downloading" || s.update.phase === "installing" ? ` ${s.update.percent}%` : ""}`
      : "-",
  ].map(clean);
}

export const run: Verb = async (op, _args, flags, out) => {
  const views = [...(await op.inventory())]
    .filter(([, v]) => flags.group === undefined || v.state?.groups.includes(flags.group))
    .filter(([, v]) => flags.version === undefined || v.state?.firmware === flags.version)
    .sort(([a], [b]) => a.localeCompare(b));
  if (out.json) {
    out.data(Object.fromEntries(views));
    return EXIT.ok;
  }
  const rows = [
    ["DEVICE", "AVAILABILITY", "HEALTH", "REVISION", "DESIRED", "REPORTED", "FIRMWARE", "SLOT", "UPDATE"],
    ...views.map(([id, v]) => row(id, v)),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  for (const r of rows)
    out.print(
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    );
  out.print(`${views.length} device(s), ${views.filter(([, v]) => isOnline(v.availability)).length} online`);
  return EXIT.ok;
};
