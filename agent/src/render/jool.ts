// Jool's atomic configuration (`jool file handle`). Every global the box manages is written out:
// keys left out of the file are reset to Jool's defaults on update, not kept.
import type { Pool4Entry } from "../config/schema.js";
import type { Part, Resolved } from "./context.js";

export const JOOL_INSTANCE = "default";

function duration(totalSec: number): string {
  const h = Math.floor(totalSec / 3600);
  const m = Math.floor((totalSec % 3600) / 60);
  const s = totalSec % 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

function pool4Entry(e: Pool4Entry, wanIPv4: string | undefined): Record<string, unknown> | null {
  const prefix = e.prefix === "wan" ? (wanIPv4 === undefined ? null : `${wanIPv4}/32`) : e.prefix;
  if (prefix === null) return null;
  return {
    protocol: e.protocol.toUpperCase(),
    prefix,
    "port range": e.ports,
    ...(e.mark === undefined ? {} : { mark: e.mark }),
  };
}

/**
 * Whether translation waits for the WAN: every pool4 entry says "wan" and the WAN has no IPv4
 * address yet. An empty pool4 would make Jool fall back to the interface's address on ports
 * 61001-65535 (~19 new TCP connections/s), so the instance stays disabled instead.
 */
export function awaitingWan(r: Part<"wanIPv4", "nat64">): boolean {
  const pool4 = r.config.nat64.pool4;
  return pool4.length > 0 && pool4.every((e) => e.prefix === "wan") && r.wanIPv4 === undefined;
}

export type JoolInput = Part<"wanIPv4", "nat64" | "logging">;

export const joolInput = (r: Resolved): JoolInput => ({
  wanIPv4: r.wanIPv4,
  config: { nat64: r.config.nat64, logging: r.config.logging },
});

export function renderJool(r: JoolInput): string {
  const n = r.config.nat64;
  const pool4 = n.pool4.map((e) => pool4Entry(e, r.wanIPv4)).filter((e) => e !== null);
  const doc = {
    comment: "Rendered by gate64 from the device configuration; do not edit.",
    instance: JOOL_INSTANCE,
    framework: "netfilter",
    global: {
      pool6: n.pool6,
      "manually-enabled": n.enabled && !awaitingWan(r),
      "zeroize-traffic-class": false,
      "override-tos": false,
      tos: 0,
      "mtu-plateaus": [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68],
      "lowest-ipv6-mtu": n.lowestIPv6Mtu,
      "maximum-simultaneous-opens": n.maximumSimultaneousOpens,
      "source-icmpv6-errors-better": n.sourceIcmpv6ErrorsBetter,
      "handle-rst-during-fin-rcv": false,
      "f-args": 11,
      "logging-bib": r.config.logging.joolBib,
      "logging-session": r.config.logging.joolSession,
      "address-dependent-filtering": n.addressDependentFiltering,
      "drop-icmpv6-info": n.dropIcmpv6Info,
      "drop-externally-initiated-tcp": n.dropExternallyInitiatedTcp,
      "udp-timeout": duration(n.timeouts.udpSec),
      "tcp-est-timeout": duration(n.timeouts.tcpEstablishedSec),
      "tcp-trans-timeout": duration(n.timeouts.tcpTransitorySec),
      "icmp-timeout": duration(n.timeouts.icmpSec),
      // Session synchronisation (ss-*) is left to its defaults (off): the box is a single node,
      // and the SS key names changed between 4.1 releases.
    },
    pool4,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
