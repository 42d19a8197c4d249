// Which journal each of the box's services writes to; the console's `gate64 logs` and the fleet's
// logs.tail command read the same units.
export const LOG_UNITS = {
  agent: ["gate64-agent.service"],
  coredns: ["coredns.service"],
  network: ["systemd-networkd.service", "systemd-resolved.service"],
  provision: ["gate64-provision.service"],
  jool: ["gate64-agent.service", "--dmesg"],
  /** RAUC installing, the boot health gate, and systemd blessing the boot. */
  update: ["rauc.service", "gate64-boot-check.service", "systemd-bless-boot.service"],
} as const satisfies Record<string, readonly string[]>;
export type LogUnit = keyof typeof LOG_UNITS;

export function journalArgs(units: readonly string[], lines: number, follow = false): string[] {
  const args = ["--no-pager", "-b", "-n", String(lines), ...(follow ? ["-f"] : [])];
  for (const u of units) args.push(...(u.startsWith("--") ? [u] : ["-u", u]));
  return args;
}
