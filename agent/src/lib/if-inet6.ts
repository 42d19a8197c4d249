// The kernel's IPv6 addresses, /proc/net/if_inet6: one line per address, "<32 hex digits>
// <ifindex> <prefix length> <scope> <flags> <interface>", numbers in hex. Reading it costs no
// process (an `ip` run is about 0.1 s on the TCG lab VM).
import { parseIPv6 } from "./ip.js";

export const IF_INET6 = "/proc/net/if_inet6";

/** IFA_F_TENTATIVE (duplicate address detection still runs) and IFA_F_DADFAILED. */
const NOT_USABLE = 0x40 | 0x08;

const hexOf = (address: string) => (parseIPv6(address) ?? -1n).toString(16).padStart(32, "0");

/** Whether the address is on the interface and usable: duplicate address detection passed. */
export function addressReady(ifInet6: string, ifname: string, address: string): boolean {
  const hex = hexOf(address);
  return ifInet6.split("\n").some((line) => {
    const [addr, , , , flags, name] = line.trim().split(/\s+/);
    return name === ifname && addr === hex && (Number.parseInt(flags ?? "ff", 16) & NOT_USABLE) === 0;
  });
}

/** A line of the file for a usable global address (the in-memory system and tests write them). */
export function ifInet6Line(ifname: string, address: string, prefixLength = 64, ifindex = 2): string {
  const h = (n: number) => n.toString(16).padStart(2, "0");
  return `${hexOf(address)} ${h(ifindex)} ${h(prefixLength)} 00 80 ${ifname}`;
}
