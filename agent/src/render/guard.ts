// The translator's guard: an nftables prerouting chain ahead of Jool. Jool's stateful NAT64
// translates any destination under pool6, so without this a LAN client reaches the box's own
// loopback and WAN services through 64:ff9b::127.0.0.1 or 64:ff9b::<WAN address>, and sends
// broadcasts, multicast and link-local packets out of the WAN.
//
// Matching is on the IPv6 destination: each denied IPv4 prefix is rendered as the IPv6 prefix it
// becomes under pool6 (RFC 6052 section 2.2 places the IPv4 bits differently for /32.../96 and
// skips bits 64-71). Those prefixes assume a zero "u" octet, so a non-zero one is dropped first.

import type { Config } from "../config/schema.js";
import { NEVER_TRANSLATE, NON_GLOBAL, WELL_KNOWN_PREFIX } from "../config/special-ipv4.js";
import { embedPrefix, formatPrefix, hostMask, networkOf, type Prefix, parsePrefix } from "../lib/ip.js";
import type { Part } from "./context.js";

/** The probe namespace's end of its veth pair on the box (daemon/probe-ns.ts). */
export const PROBE_IFNAME = "gprobe0";

/**
 * Jool hooks PRE_ROUTING at NF_IP6_PRI_NAT_DST + 25 = -75 (its kernel_hook.h); mangle (-150)
 * runs before it and after conntrack (-200).
 */
const GUARD_PRIORITY = "mangle";

/** Why the guard dropped a packet; each is an nftables named counter and a metrics label. */
export const GUARD_REASONS = {
  foreign: "pool6 traffic that did not come from the LAN or the probe namespace",
  reserved: 'a non-zero "u" octet (bits 64-71, RFC 6052 section 2.2)',
  special: "this network, loopback, link-local, IETF protocol assignments, multicast, reserved, broadcast",
  own: "the box's own IPv4 addresses and directed broadcasts, pool4 outside its port ranges",
  nonglobal: "RFC 6052 section 3.1 ranges under the well-known prefix, not allow-listed",
} as const;
export type GuardReason = keyof typeof GUARD_REASONS;

export const guardCounter = (reason: GuardReason) => `guard_${reason}`;

const p4 = (text: string) => parsePrefix(text) as Prefix;

/** A prefix of the box's own: the address itself and, for a subnet, its directed broadcast. */
function ownDestinations(cidr: string): Prefix[] {
  const p = p4(cidr);
  const host: Prefix = { family: 4, value: p.value, length: 32 };
  if (p.length >= 31) return [host];
  return [host, { family: 4, value: networkOf(p) | hostMask(p), length: 32 }];
}

function set(name: string, elements: string[]): string[] {
  const els = elements.length > 0 ? [`        elements = { ${elements.join(", ")} }`] : [];
  return [`    set ${name} {`, "        type ipv6_addr", "        flags interval", "        auto-merge", ...els, "    }"];
}

export interface Guard {
  /** Sets and counters, declared at the top of the table. */
  declarations: string[];
  /** The prerouting chain and the chain it jumps to. */
  chains: string[];
}

/**
 * The special and non-global sets follow from pool6 alone (the lists are constants): embedded
 * once per pool6 a process meets rather than at every render, where they cost a third of it.
 */
const fixedSets = new Map<string, { special: string[]; nonGlobal: string[] }>();
function fixedSetsFor(pool6: Prefix, key: string): { special: string[]; nonGlobal: string[] } {
  let sets = fixedSets.get(key);
  if (sets === undefined) {
    const embed = (text: string) => formatPrefix(embedPrefix(pool6, p4(text)));
    sets = { special: NEVER_TRANSLATE.map(embed), nonGlobal: NON_GLOBAL.map(embed) };
    fixedSets.set(key, sets);
  }
  return sets;
}

export type GuardInput = Part<"wanIPv4" | "ownIPv4", "interfaces" | "nat64"> & {
  config: { dns64: Pick<Config["dns64"], "allowNonGlobal"> };
};

export function renderGuard(r: GuardInput): Guard | null {
  const c = r.config;
  if (!c.nat64.enabled) return null;
  const pool6 = p4(c.nat64.pool6);
  const pool6Text = formatPrefix(pool6);
  // The same IPv4 prefix comes up more than once (the WAN's address in pool4 and in the box's own).
  const embedded = new Map<string, string>();
  const embed = (v4: Prefix) => {
    const key = `${v4.value}/${v4.length}`;
    const text = embedded.get(key) ?? formatPrefix(embedPrefix(pool6, v4));
    embedded.set(key, text);
    return text;
  };
  const pool4 = c.nat64.pool4.flatMap((e) => {
    const prefix = e.prefix === "wan" ? r.wanIPv4 : e.prefix;
    return prefix === undefined ? [] : [{ ...e, prefix: p4(prefix) }];
  });
  const own = [...r.ownIPv4.flatMap(ownDestinations), ...pool4.map((e) => e.prefix)];
  const wellKnown = pool6Text === WELL_KNOWN_PREFIX;
  const allowed = c.dns64.allowNonGlobal.map((a) => embed(p4(a)));
  const fixed = fixedSetsFor(pool6, pool6Text);

  const ownSet = [...new Set(own.map(embed))];
  const nonGlobal = wellKnown ? fixed.nonGlobal : [];
  const declarations = [
    ...Object.keys(GUARD_REASONS).map((reason) => `    counter ${guardCounter(reason as GuardReason)} {\n    }`),
    ...set("guard_special", fixed.special),
    ...set("guard_own", ownSet),
    ...(wellKnown ? set("guard_nonglobal", nonGlobal) : []),
    // Every destination a rule below may drop, in one set (auto-merge joins the overlaps): a
    // packet to any other goes through on one address lookup, where the rules take one per set.
    ...set("guard_checked", [...fixed.special, ...ownSet, ...nonGlobal]),
    ...(wellKnown && allowed.length > 0 ? set("guard_allowed", allowed) : []),
  ];
  const drop = (reason: GuardReason) => `counter name "${guardCounter(reason)}" drop`;
  // pool4's TCP and UDP ports: Jool's mappings. Hairpinning (RFC 6146 section 3.8): a pool4
  // address at one of them is another LAN client's mapping. ICMP is left out: Jool matches
  // inbound ICMP queries to no mapping.
  const ports = pool4.filter((e) => e.protocol !== "icmp");
  const hairpin = ports.map((e) => `        ip6 daddr ${embed(e.prefix)} ${e.protocol} dport ${e.ports} accept`);
  // Jool keeps its own state (BIB and sessions) and takes its packets at prerouting before
  // conntrack would confirm an entry for them: tracked, each packet would allocate an entry and
  // free it again. Exempt: the IPv6 side (pool6) and the IPv4 side (pool4's addresses and ports,
  // which the rules keep apart from the box's own ephemeral ports).
  const untracked = [
    "    chain translator_notrack {",
    "        type filter hook prerouting priority raw; policy accept;",
    `        ip6 daddr ${pool6Text} notrack`,
    ...ports.map((e) => `        ip daddr ${formatPrefix(e.prefix)} ${e.protocol} dport ${e.ports} notrack`),
    "    }",
    "",
  ];
  const chains = [
    ...untracked,
    "    chain prerouting {",
    `        type filter hook prerouting priority ${GUARD_PRIORITY}; policy accept;`,
    `        ip6 daddr ${pool6Text} jump pool6_guard`,
    "    }",
    "",
    "    chain pool6_guard {",
    `        iifname != { "${c.interfaces.lan.name}", "${PROBE_IFNAME}" } ${drop("foreign")}`,
    ...(pool6.length < 96 ? [`        @nh,256,8 != 0 ${drop("reserved")}`] : []),
    "        ip6 daddr != @guard_checked accept",
    `        ip6 daddr @guard_special ${drop("special")}`,
    ...hairpin,
    `        ip6 daddr @guard_own ${drop("own")}`,
    ...(wellKnown
      ? [
          // The health probe tests the path to the WAN's resolvers, which may be private addresses.
          `        iifname "${PROBE_IFNAME}" accept`,
          `        ip6 daddr @guard_nonglobal${allowed.length > 0 ? " ip6 daddr != @guard_allowed" : ""} ${drop("nonglobal")}`,
        ]
      : []),
    "    }",
  ];
  return { declarations, chains };
}
