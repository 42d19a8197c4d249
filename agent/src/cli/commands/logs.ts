// gate64 logs [agent|coredns|jool|network|provision] [-f]: the journal of the box's services.
import { spawnSync } from "node:child_process";
import { EXIT, UsageError } from "../errors.js";
import type { CommandContext } from "../main.js";

const UNITS: Record<string, string[]> = {
  agent: ["gate64-agent.service"],
  coredns: ["coredns.service"],
  network: ["systemd-networkd.service", "systemd-resolved.service"],
  provision: ["gate64-provision.service"],
  jool: ["gate64-agent.service", "--dmesg"],
};

export async function run({ args }: CommandContext): Promise<number> {
  const follow = args.includes("-f");
  const name = args.find((a) => !a.startsWith("-"));
  const units = name === undefined ? [...(UNITS.agent ?? []), ...(UNITS.coredns ?? []), ...(UNITS.provision ?? [])] : UNITS[name];
  if (units === undefined) throw new UsageError(`unknown service "${name}" (one of: ${Object.keys(UNITS).join(", ")})`);
  const jargs = ["--no-pager", "-b", "-n", "200", ...(follow ? ["-f"] : [])];
  for (const u of units) jargs.push(u.startsWith("--") ? u : "-u", ...(u.startsWith("--") ? [] : [u]));
  const r = spawnSync("journalctl", jargs, { stdio: "inherit" });
  return r.status === 0 ? EXIT.ok : EXIT.failure;
}
