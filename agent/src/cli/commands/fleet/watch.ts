// gate64 fleet watch [DEVICE] [--telemetry] [--share NAME]: a line per change until interrupted.
import { clean } from "../../../lib/terminal.js";
import { EXIT } from "../../errors.js";
import type { Verb } from "./common.js";

function summary(kind: string, v: unknown): string {
  const o = v as Record<string, unknown>;
  switch (kind) {
    case "availability":
      return String(v);
    case "state": {
      const u = o.update as { phase: string; percent: number; targetVersion: string | null; reason?: string } | null | undefined;
      const update = u ? ` update ${u.phase} ${u.percent}% to ${u.targetVersion ?? "?"}${u.reason ? ` (${u.reason})` : ""}` : "";
      return `revision ${o.revision} desired ${o.desiredRevision} health ${o.health} firmware ${o.firmware} slot ${o.slot ?? "-"}${update}`;
    }
    case "health":
      return String(o.status);
    case "reported":
      return `desired ${o.desiredRevision} ${o.status}${o.reason ? ` (${o.reason})` : ""}`;
    default:
      return JSON.stringify(v);
  }
}

export const run: Verb = async (op, args, flags, out) => {
  const device = args[0];
  await op.watch(
    (e) => {
      if (out.json) process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), ...e })}\n`);
      else out.print(clean(`${new Date().toISOString()} ${e.device.padEnd(16)} ${e.kind.padEnd(12)} ${summary(e.kind, e.value)}`));
    },
    { ...(device ? { device } : {}), ...(flags.share ? { share: flags.share } : {}), telemetry: flags.telemetry ?? false },
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
    op.client.once("close", resolve);
  });
  return EXIT.ok;
};
