// Kernel settings: forwarding for both families, the box's own ephemeral ports kept clear of
// pool4, and no RA acceptance on the LAN (the box is the router there).
import { parsePortRange } from "../config/fields.js";
import type { Part, Resolved } from "./context.js";

export type SysctlInput = Part<never, "system" | "interfaces">;

export const sysctlInput = (r: Resolved): SysctlInput => ({ config: { system: r.config.system, interfaces: r.config.interfaces } });

export function renderSysctl(r: SysctlInput): string {
  const { first, last } = parsePortRange(r.config.system.ephemeralPorts);
  const lan = r.config.interfaces.lan.name;
  const lines = [
    "# Rendered by gate64 from the device configuration; do not edit.",
    "net.ipv4.ip_forward = 1",
    "net.ipv6.conf.all.forwarding = 1",
    `net.ipv4.ip_local_port_range = ${first} ${last}`,
    // The slash form: an interface name may hold a dot (a VLAN, lan.100), which the dotted form splits.
    `net/ipv6/conf/${lan}/accept_ra = 0`,
  ];
  return `${lines.join("\n")}\n`;
}
