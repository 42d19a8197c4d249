// NIC offload settings applied with ethtool. Fraglist GRO must go: it merges packets in a way
// Jool cannot translate; GRO/GSO/TSO themselves are kept (turning them off cut Jool's TCP
// throughput to 0.21x in the lab VM).
//
// By default the LAN's GRO also merges forwarded UDP (rx-udp-gro-forwarding, off in the kernel
// by default): Jool translates a burst of one flow's datagrams once, keeping the segment size,
// and GSO cuts it into the same datagrams on the WAN; 64-byte UDP through NAT64 went from 0.59x
// to 1.18x plain routing's packets/s in the lab VM (docs/benchmarks.md#nat64). Not on the WAN:
// an IPv4 datagram without DF that is too big for IPv6 goes through Jool's own fragmentation,
// which would send a merged burst as one datagram. Datagrams to the box's own sockets are never
// merged (the kernel merges only for sockets that ask). networkd's .link has no key for either.
import type { Config } from "../config/schema.js";
import type { Part, Resolved } from "./context.js";

type Features = Record<string, "on" | "off">;
export type OffloadPlan = Record<string, Features>;

type Mode = Exclude<Config["nat64"]["offloads"], "keep">;

/** Set on both NICs. */
const BOTH: Record<Mode, Features> = {
  "udp-gro": { "rx-gro-list": "off" },
  "no-gro-list": { "rx-gro-list": "off" },
  off: { "rx-gro-list": "off", gro: "off", gso: "off", tso: "off" },
};
/** Set on the LAN only, after BOTH. */
const LAN_ONLY: Partial<Record<Mode, Features>> = { "udp-gro": { "rx-udp-gro-forwarding": "on" } };

export type OffloadsInput = Part<never, "interfaces"> & { config: { nat64: Pick<Config["nat64"], "offloads"> } };

export const offloadsInput = (r: Resolved): OffloadsInput => ({
  config: { interfaces: r.config.interfaces, nat64: { offloads: r.config.nat64.offloads } },
});

export function renderOffloads(r: OffloadsInput): OffloadPlan {
  const { lan, wan } = r.config.interfaces;
  const mode = r.config.nat64.offloads;
  if (mode === "keep") return {};
  return { [lan.name]: { ...BOTH[mode], ...LAN_ONLY[mode] }, [wan.name]: { ...BOTH[mode] } };
}
