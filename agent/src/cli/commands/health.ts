// gate64 health [--watch]: run the probes now (and again every few seconds with --watch).
import { type CommandContext, parseFlags, switchFlag } from "../command.js";
import { ask, statusColour } from "../device.js";
import { EXIT } from "../errors.js";

export const usage = "usage: gate64 health [--watch] [--json]   run the probes now (every 5 s with --watch)";

export async function run({ args, out }: CommandContext): Promise<number> {
  const watch = parseFlags(args, { watch: switchFlag }, usage).flags.watch === true;
  for (;;) {
    const h = await ask({ cmd: "health" });
    if (out.json) out.data(h);
    else {
      out.print(`${h.checkedAt}  ${statusColour(h.status)}`);
      for (const p of h.probes) out.print(`  ${statusColour(p.status).padEnd(8)} ${p.name.padEnd(12)} ${p.detail} (${p.durationMs} ms)`);
    }
    if (!watch) return h.status === "failed" ? EXIT.failure : EXIT.ok;
    await new Promise((r) => setTimeout(r, 5000));
  }
}
