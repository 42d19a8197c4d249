// NIC offload settings applied with ethtool. Only fraglist GRO must go by default: it merges
// packets in a way Jool cannot translate; GRO/GSO/TSO themselves are kept (turning them off cut
// Jool's TCP throughput to 0.21x in the lab VM). networkd's .link has no key for rx-gro-list.
import type { Resolved } from "./context.js";

export type OffloadPlan = Record<string, Record<string, "on" | "off">>;

export function renderOffloads(r: Resolved): OffloadPlan {
  const { lan, wan } = r.config.interfaces;
  const mode = r.config.nat64.offloads;
  if (mode === "keep") return {};
  const features: Record<string, "off"> =
    mode === "off" ? { "rx-gro-list": "off", gro: "off", gso: "off", tso: "off" } : { "rx-gro-list": "off" };
  return { [lan.name]: { ...features }, [wan.name]: { ...features } };
}
