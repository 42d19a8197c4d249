// gate64 provision: run at boot by gate64-provision.service (see docs/image.md).
import { provision } from "../../provision/provision.js";
import { realSystem } from "../../system/real.js";
import { type CommandContext, parseFlags } from "../command.js";
import { EXIT } from "../errors.js";

export const usage = "usage: gate64 provision [--json]   take /efi/gate64/provision.json (gate64-provision.service runs it at boot)";

export async function run({ args, out }: CommandContext): Promise<number> {
  parseFlags(args, {}, usage);
  const report = await provision(realSystem);
  if (out.json) out.data(report);
  else {
    out.print(
      `gate64: device ${report.deviceId}, console login ${report.consoleLogin}${report.provisioned ? ", provisioned from the EFI partition" : ""}`,
    );
    if (report.reset) out.print(`gate64: factory reset (${report.reset.mode}): removed ${report.reset.removed.join(", ") || "nothing"}`);
    for (const p of report.problems) out.error(`gate64: provisioning: ${p}`);
  }
  return report.problems.length > 0 ? EXIT.invalid : EXIT.ok;
}
