// pool4 capacity: how many simultaneous mappings each protocol has, and what rate of new
// connections it sustains once closed ones hold their ports for the transitory timeout.
import { type Prefix, parsePrefix, sizeOf } from "../lib/ip.js";
import { parsePortRange } from "./fields.js";
import type { Config, Protocol } from "./schema.js";

export interface Pool4Capacity {
  protocol: Protocol;
  /** Addresses x ports ("wan" counts as one address). */
  mappings: number;
  /** New flows per second sustained before the pool runs dry. */
  sustainedPerSec: number;
}

/** Below this a busy LAN exhausts TCP mappings in normal use (Jool's default range gives ~19/s). */
export const MIN_SUSTAINED_TCP_PER_SEC = 50;

export function pool4Capacity(c: Config): Pool4Capacity[] {
  const holdSec: Record<Protocol, number> = {
    tcp: c.nat64.timeouts.tcpTransitorySec,
    udp: c.nat64.timeouts.udpSec,
    icmp: c.nat64.timeouts.icmpSec,
  };
  return (["tcp", "udp", "icmp"] as const).map((protocol) => {
    const mappings = c.nat64.pool4
      .filter((e) => e.protocol === protocol)
      .reduce((sum, e) => {
        const { first, last } = parsePortRange(e.ports);
        const addresses = e.prefix === "wan" ? 1 : sizeOf(parsePrefix(e.prefix) as Prefix);
        return sum + addresses * (last - first + 1);
      }, 0);
    return { protocol, mappings, sustainedPerSec: Math.floor(mappings / holdSec[protocol]) };
  });
}

export function capacityWarnings(c: Config): { path: string; message: string }[] {
  const tcp = pool4Capacity(c).find((p) => p.protocol === "tcp");
  if (!c.nat64.enabled || tcp === undefined || tcp.sustainedPerSec >= MIN_SUSTAINED_TCP_PER_SEC) return [];
  return [
    {
      path: "nat64.pool4",
      message: `TCP pool sustains only ${tcp.sustainedPerSec} new connections/s (${tcp.mappings} mappings held ${c.nat64.timeouts.tcpTransitorySec} s after close); further SYNs are dropped silently`,
    },
  ];
}
