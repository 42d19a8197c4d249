// What a renderer needs beyond the config: facts about this box that the config does not hold
// (its identity, the WAN address it leased). Resolving them here keeps every renderer pure.
import { createHash } from "node:crypto";
import type { Config } from "../config/schema.js";
import { formatIPv6, formatPrefix, type Prefix, parsePrefix } from "../lib/ip.js";

export interface Facts {
  /** Provisioned device id (from /data/identity.json), unless the config overrides it. */
  deviceId: string;
  /** The WAN's current IPv4 address with its prefix length ("198.51.100.2/24"; a bare address is
   * a /32), for pool4 entries that say "wan" and the translator's guard. */
  wanIPv4?: string;
  /** Every IPv4 address on the box's interfaces, with prefix length: the guard keeps the LAN from
   * reaching them through the translator. */
  localIPv4?: string[];
}

export interface Resolved {
  config: Config;
  deviceId: string;
  hostname: string;
  /** The box's LAN address with /64. */
  lanAddress: string;
  lanPrefix: string;
  /** The LAN address without its length. */
  lanHost: string;
  dns64Prefix: string;
  /** Who may query the resolver: dns64.acl with "lan" as the LAN prefix, plus loopback. */
  dnsClients: string[];
  /** The WAN's IPv4 address (without length), undefined until known. */
  wanIPv4: string | undefined;
  /** The box's own IPv4 addresses with prefix length (WAN first), deduplicated. */
  ownIPv4: string[];
}

/**
 * What one renderer reads: some of the resolved facts and some of the config's sections. Each
 * renderer takes only its part (the `...Input` function beside it makes it), so index.ts can
 * reuse its files when the part is the same as the running revision's.
 */
export type Part<K extends keyof Resolved, C extends keyof Config> = Pick<Resolved, K> & { config: Pick<Config, C> };

/** RFC 4193 ULA /64 whose global id is a hash of the device id: stable across reflashes. */
export function ulaFor(deviceId: string): string {
  const digest = createHash("sha256").update(`gate64-ula:${deviceId}`).digest();
  let value = 0xfdn;
  for (let i = 0; i < 5; i++) value = (value << 8n) | BigInt(digest[i] ?? 0);
  value <<= 80n; // 8 bits fd + 40 bits global id + 16 bits subnet 0 + 64 bits interface id
  return `${formatIPv6(value | 1n)}/64`;
}

export function resolve(config: Config, facts: Facts): Resolved {
  const deviceId = config.identity.deviceId ?? facts.deviceId;
  const lanAddress = config.interfaces.lan.ipv6.address ?? ulaFor(deviceId);
  const p = parsePrefix(lanAddress) as Prefix;
  return {
    config,
    deviceId,
    hostname: config.identity.hostname ?? `gate64-${deviceId}`.slice(0, 63),
    lanAddress,
    lanPrefix: formatPrefix(p),
    lanHost: lanAddress.split("/")[0] as string,
    dns64Prefix: config.dns64.prefix ?? config.nat64.pool6,
    dnsClients: [...new Set([...config.dns64.acl.map((a) => (a === "lan" ? formatPrefix(p) : a)), "::1/128", "127.0.0.0/8"])],
    wanIPv4: facts.wanIPv4?.split("/")[0],
    ownIPv4: [...new Set([...(facts.wanIPv4 === undefined ? [] : [facts.wanIPv4]), ...(facts.localIPv4 ?? [])])],
  };
}
