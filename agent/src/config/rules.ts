// Cross-field rules a router engineer expects. Each returns problems with the path of the field to
// fix and a reason; none throws. They run only on a config that already passed the schema.
import { contains, networkOf, overlaps, type Prefix, parseAddress, parsePrefix } from "../lib/ip.js";
import { parsePortRange } from "./fields.js";
import { isLoopbackHost } from "./ids.js";
import type { Config, Pool4Entry } from "./schema.js";
import { NEVER_TRANSLATE } from "./special-ipv4.js";

export interface Problem {
  path: string;
  message: string;
}

type Rule = (c: Config) => Problem[];

const RFC6052_LENGTHS = [32, 40, 48, 56, 64, 96];

/** RFC 6052 section 2.2: allowed lengths, and bits 64-71 (the "u" octet) must be zero. */
function rfc6052Problem(text: string): string | null {
  const p = parsePrefix(text) as Prefix;
  if (!RFC6052_LENGTHS.includes(p.length)) return `length /${p.length} is not one of RFC 6052's /32, /40, /48, /56, /64, /96`;
  if (p.length === 96 && ((p.value >> 56n) & 0xffn) !== 0n) return "bits 64-71 must be zero (RFC 6052 section 2.2)";
  const multicast = parsePrefix("ff00::/8") as Prefix;
  const linkLocal = parsePrefix("fe80::/10") as Prefix;
  if (overlaps(p, multicast) || overlaps(p, linkLocal)) return "must not be multicast or link-local";
  return null;
}

const pool6Format: Rule = (c) => {
  const out: Problem[] = [];
  const pool6 = rfc6052Problem(c.nat64.pool6);
  if (pool6) out.push({ path: "nat64.pool6", message: pool6 });
  if (c.dns64.prefix !== undefined) {
    const p = rfc6052Problem(c.dns64.prefix);
    if (p) out.push({ path: "dns64.prefix", message: p });
  }
  return out;
};

const dns64PrefixMatchesPool6: Rule = (c) => {
  if (c.dns64.prefix === undefined || c.dns64.allowPrefixMismatch) return [];
  const a = parsePrefix(c.dns64.prefix) as Prefix;
  const b = parsePrefix(c.nat64.pool6) as Prefix;
  if (a.length === b.length && networkOf(a) === networkOf(b)) return [];
  return [
    {
      path: "dns64.prefix",
      message: `differs from nat64.pool6 (${c.nat64.pool6}): clients would get addresses the translator does not serve; set dns64.allowPrefixMismatch to do this on purpose`,
    },
  ];
};

const lanWanDiffer: Rule = (c) => {
  const { lan, wan } = c.interfaces;
  const out: Problem[] = [];
  if (lan.name === wan.name)
    out.push({
      path: "interfaces.wan.name",
      message: `is the same as interfaces.lan.name (${lan.name}): LAN and WAN must be different interfaces`,
    });
  return out;
};

const lanAddress: Rule = (c) => {
  const text = c.interfaces.lan.ipv6.address;
  if (text === undefined) return [];
  const p = parsePrefix(text) as Prefix;
  const out: Problem[] = [];
  const path = "interfaces.lan.ipv6.address";
  if (p.length !== 64) out.push({ path, message: `prefix length must be /64 for SLAAC clients, not /${p.length}` });
  for (const bad of ["fe80::/10", "ff00::/8", "::/8"]) {
    if (contains(parsePrefix(bad) as Prefix, p)) out.push({ path, message: `must be a global or unique-local address, not in ${bad}` });
  }
  if (overlaps(p, parsePrefix(c.nat64.pool6) as Prefix)) out.push({ path, message: `overlaps nat64.pool6 (${c.nat64.pool6})` });
  return out;
};

const wanStatic: Rule = (c) => {
  const out: Problem[] = [];
  const v4 = c.interfaces.wan.ipv4;
  if (v4.mode === "static") {
    const net = parsePrefix(v4.address) as Prefix;
    const gw = parsePrefix(v4.gateway) as Prefix;
    if (!contains({ ...net, value: networkOf(net) }, gw))
      out.push({ path: "interfaces.wan.ipv4.gateway", message: `is not inside ${v4.address}` });
  }
  if (
    c.dns64.upstreams === "dhcp" &&
    v4.mode === "static" &&
    c.interfaces.wan.ipv6.mode !== "dhcpv6" &&
    c.interfaces.wan.ipv6.mode !== "slaac"
  )
    out.push({
      path: "dns64.upstreams",
      message: '"dhcp" needs a WAN that learns resolvers (DHCP, SLAAC or DHCPv6); list upstream servers for a static WAN',
    });
  return out;
};

function pool4Hosts(e: Pool4Entry): Prefix | "wan" {
  return e.prefix === "wan" ? "wan" : (parsePrefix(e.prefix) as Prefix);
}

function rangesOverlap(a: string, b: string): boolean {
  const x = parsePortRange(a);
  const y = parsePortRange(b);
  return x.first <= y.last && y.first <= x.last;
}

const pool4NoDuplicates: Rule = (c) => {
  const out: Problem[] = [];
  const pool = c.nat64.pool4;
  for (let j = 0; j < pool.length; j++) {
    for (let i = 0; i < j; i++) {
      const a = pool[i] as Pool4Entry;
      const b = pool[j] as Pool4Entry;
      if (a.protocol !== b.protocol || !rangesOverlap(a.ports, b.ports)) continue;
      const ha = pool4Hosts(a);
      const hb = pool4Hosts(b);
      const same = ha === "wan" || hb === "wan" ? ha === hb : overlaps(ha, hb);
      if (same)
        out.push({ path: `nat64.pool4[${j}]`, message: `overlaps nat64.pool4[${i}] (same protocol ${a.protocol}, addresses and ports)` });
    }
  }
  return out;
};

/** Whether a pool4 entry uses the box's own WAN address (where its own connections live too). */
function usesWanAddress(e: Pool4Entry, c: Config): boolean {
  if (e.prefix === "wan") return true;
  const v4 = c.interfaces.wan.ipv4;
  if (v4.mode !== "static") return false; // other prefixes are taken to be routed to the box
  return contains(parsePrefix(e.prefix) as Prefix, parsePrefix(v4.address.split("/")[0] as string) as Prefix);
}

const pool4AwayFromEphemeral: Rule = (c) => {
  const out: Problem[] = [];
  c.nat64.pool4.forEach((e, i) => {
    if (e.protocol === "icmp" || !usesWanAddress(e, c)) return;
    if (rangesOverlap(e.ports, c.system.ephemeralPorts))
      out.push({
        path: `nat64.pool4[${i}].ports`,
        message: `${e.ports} overlaps the box's own ephemeral ports (system.ephemeralPorts ${c.system.ephemeralPorts}) on the WAN address: the box's own connections would break`,
      });
  });
  return out;
};

/** An ACL entry this wide admits most of the internet. */
function isInternetWide(p: Prefix): boolean {
  return p.family === 4 ? p.length < 8 : p.length < 16;
}

const noOpenResolver: Rule = (c) => {
  if (c.dns64.openResolver) return [];
  const out: Problem[] = [];
  c.dns64.acl.forEach((entry, i) => {
    if (entry === "lan") return;
    if (isInternetWide(parsePrefix(entry) as Prefix))
      out.push({
        path: `dns64.acl[${i}]`,
        message: `${entry} admits the whole internet (an open resolver); set dns64.openResolver to true to do this on purpose`,
      });
  });
  return out;
};

const raLifetimes: Rule = (c) => {
  const ra = c.routerAdvertisements;
  const out: Problem[] = [];
  if (ra.prefixPreferredLifetimeSec > ra.prefixValidLifetimeSec)
    out.push({ path: "routerAdvertisements.prefixPreferredLifetimeSec", message: "must not exceed prefixValidLifetimeSec" });
  // RFC 8781 section 4.1: a client must not keep the router and lose the prefix it translates with.
  if (ra.enabled && ra.pref64 && c.nat64.enabled && ra.pref64LifetimeSec < ra.routerLifetimeSec)
    out.push({
      path: "routerAdvertisements.pref64LifetimeSec",
      message: `must be at least routerLifetimeSec (${ra.routerLifetimeSec}), RFC 8781 section 4.1`,
    });
  return out;
};

const pool4NotSpecial: Rule = (c) =>
  c.nat64.pool4.flatMap((e, i) => {
    if (e.prefix === "wan") return [];
    const p = parsePrefix(e.prefix) as Prefix;
    const hit = NEVER_TRANSLATE.find((s) => overlaps(p, parsePrefix(s) as Prefix));
    return hit === undefined
      ? []
      : [{ path: `nat64.pool4[${i}].prefix`, message: `overlaps ${hit}, which is never an address to translate from` }];
  });

export function mqttHost(url: string): string {
  const rest = url.replace(/^mqtts?:\/\//, "").replace(/\/$/, "");
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(rest);
  return m?.[1] ?? rest;
}

const mqttSecurity: Rule = (c) => {
  const m = c.mqtt;
  const out: Problem[] = [];
  if (m.enabled && m.url === undefined) out.push({ path: "mqtt.url", message: "is required when mqtt.enabled is true" });
  if (m.url?.startsWith("mqtt://") && !m.allowPlaintext && !isLoopbackHost(mqttHost(m.url)))
    out.push({
      path: "mqtt.url",
      message: "plain mqtt:// to a remote broker sends credentials in clear; use mqtts:// or set mqtt.allowPlaintext",
    });
  if ((m.tls.cert === undefined) !== (m.tls.key === undefined))
    out.push({ path: m.tls.cert === undefined ? "mqtt.tls.cert" : "mqtt.tls.key", message: "client certificate and key go together" });
  return out;
};

const healthTargets: Rule = (c) => {
  const out: Problem[] = [];
  c.health.nat64Targets.forEach((t, i) => {
    const [host, port] = t.split(":") as [string, string];
    if (parseAddress(host)?.family !== 4 || Number(port) < 1 || Number(port) > 65535)
      out.push({ path: `health.nat64Targets[${i}]`, message: "must be an IPv4 address and a port 1-65535" });
  });
  return out;
};

export const RULES: readonly Rule[] = [
  pool6Format,
  dns64PrefixMatchesPool6,
  lanWanDiffer,
  lanAddress,
  wanStatic,
  pool4NoDuplicates,
  pool4AwayFromEphemeral,
  noOpenResolver,
  raLifetimes,
  pool4NotSpecial,
  mqttSecurity,
  healthTargets,
];

export function checkRules(c: Config): Problem[] {
  return RULES.flatMap((rule) => rule(c));
}
