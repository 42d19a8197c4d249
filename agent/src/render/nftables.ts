// The nftables ruleset: nothing reaches the box from WAN unless the config opens it; the LAN gets
// DNS (from the ACL), ND/RA and management from the management networks. Jool translates in
// PRE_ROUTING, before the input and forward chains, so translated flows are filtered by the
// guard's prerouting chain (guard.ts) instead.
import type { Part, Resolved } from "./context.js";
import { type GuardInput, renderGuard } from "./guard.js";

/** Ports of the box's management services (SSH if installed, the agent's metrics). */
export const MANAGEMENT_PORTS = { ssh: 22, metrics: 9164 } as const;

/** Validated prefixes by family (an IPv6 one has a colon, an IPv4 one none). */
function bySet(prefixes: string[]): { v4: string[]; v6: string[] } {
  return { v4: prefixes.filter((p) => !p.includes(":")), v6: prefixes.filter((p) => p.includes(":")) };
}

function set(name: string, type: string, elements: string[]): string[] {
  const els = elements.length > 0 ? [`        elements = { ${elements.join(", ")} }`] : [];
  return [`    set ${name} {`, `        type ${type}`, "        flags interval", "        auto-merge", ...els, "    }"];
}

export type NftablesInput = GuardInput & Part<"lanPrefix" | "dnsClients", "firewall">;

export function nftablesInput(r: Resolved): NftablesInput {
  return {
    lanPrefix: r.lanPrefix,
    dnsClients: r.dnsClients,
    wanIPv4: r.wanIPv4,
    ownIPv4: r.ownIPv4,
    config: {
      interfaces: r.config.interfaces,
      firewall: r.config.firewall,
      nat64: r.config.nat64,
      dns64: { allowNonGlobal: r.config.dns64.allowNonGlobal },
    },
  };
}

export function renderNftables(r: NftablesInput): string {
  const c = r.config;
  const lan = c.interfaces.lan.name;
  const wan = c.interfaces.wan.name;
  const expand = (list: string[]) => list.map((a) => (a === "lan" ? r.lanPrefix : a));
  const mgmt = bySet(expand(c.firewall.management));
  const dns = bySet(r.dnsClients);
  const mgmtPorts = `{ ${MANAGEMENT_PORTS.ssh}, ${MANAGEMENT_PORTS.metrics} }`;
  const wanOpen = c.firewall.wanInbound.flatMap((rule) => {
    const from = rule.from ? bySet(rule.from) : null;
    if (from === null) return [`        iifname "${wan}" ${rule.protocol} dport ${rule.port} accept`];
    return [
      ...(from.v4.length ? [`        iifname "${wan}" ip saddr { ${from.v4.join(", ")} } ${rule.protocol} dport ${rule.port} accept`] : []),
      ...(from.v6.length
        ? [`        iifname "${wan}" ip6 saddr { ${from.v6.join(", ")} } ${rule.protocol} dport ${rule.port} accept`]
        : []),
    ];
  });
  const guard = renderGuard(r);
  const lines = [
    "#!/usr/sbin/nft -f",
    "# Rendered by gate64 from the device configuration; do not edit.",
    "table inet gate64",
    "delete table inet gate64",
    "table inet gate64 {",
    ...set("mgmt4", "ipv4_addr", mgmt.v4),
    ...set("mgmt6", "ipv6_addr", mgmt.v6),
    ...set("dns4", "ipv4_addr", dns.v4),
    ...set("dns6", "ipv6_addr", dns.v6),
    ...(guard?.declarations ?? []),
    "",
    ...(guard ? [...guard.chains, ""] : []),
    "    chain input {",
    "        type filter hook input priority filter; policy drop;",
    "        ct state established,related accept",
    "        ct state invalid drop",
    '        iif "lo" accept',
    "        # Neighbour discovery, router solicitations and ICMPv6 errors are part of IPv6 itself.",
    "        icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert, mld-listener-query } accept",
    "        icmp type { destination-unreachable, time-exceeded, parameter-problem } accept",
    `        iifname "${lan}" icmpv6 type echo-request limit rate 20/second accept`,
    ...(c.firewall.wanPing
      ? [
          `        iifname "${wan}" icmp type echo-request limit rate 5/second accept`,
          `        iifname "${wan}" icmpv6 type echo-request limit rate 5/second accept`,
        ]
      : []),
    `        iifname "${wan}" udp sport 67 udp dport 68 accept`,
    `        iifname "${wan}" udp sport 547 udp dport 546 accept`,
    `        iifname != "${wan}" ip6 saddr @dns6 meta l4proto { tcp, udp } th dport 53 accept`,
    `        iifname != "${wan}" ip saddr @dns4 meta l4proto { tcp, udp } th dport 53 accept`,
    `        ip6 saddr @mgmt6 tcp dport ${mgmtPorts} accept`,
    `        ip saddr @mgmt4 tcp dport ${mgmtPorts} accept`,
    ...wanOpen,
    "    }",
    "",
    "    chain forward {",
    "        type filter hook forward priority filter; policy drop;",
    "        ct state established,related accept",
    "        icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } accept",
    `        iifname "${lan}" oifname "${wan}" accept`,
    "    }",
    "}",
  ];
  return `${lines.join("\n")}\n`;
}
