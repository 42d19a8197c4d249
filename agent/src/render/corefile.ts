// The CoreDNS Corefile. The plugin order is fixed by our CoreDNS build (the directives in
// image/coredns/main.go), not by the order of lines here; the order here is for people reading it.
import { createHash } from "node:crypto";
import type { Part, Resolved } from "./context.js";

/** Resolvers learned on the WAN, written by systemd-resolved from networkd's DHCP/RA data. */
export const UPLINK_RESOLV_CONF = "/run/systemd/resolve/resolv.conf";
export const COREDNS_READY = "127.0.0.1:8181";
export const COREDNS_METRICS = "127.0.0.1:9153";

function block(name: string, lines: string[]): string[] {
  return [`${name} {`, ...lines.map((l) => `    ${l}`), "}"];
}

/** The `loaded` line until its id is known. */
const LOADED_PLACEHOLDER = "loaded (id)";

/** The id in a Corefile's `loaded` line: the agent reloads CoreDNS and waits to see it served. */
export function loadedId(corefile: string): string | null {
  return /^ {4}loaded ([0-9a-f]+)$/m.exec(corefile)?.[1] ?? null;
}

export type CorefileInput = Part<"lanHost" | "dnsClients" | "dns64Prefix", "dns64">;

export const corefileInput = (r: Resolved): CorefileInput => ({
  lanHost: r.lanHost,
  dnsClients: r.dnsClients,
  dns64Prefix: r.dns64Prefix,
  config: { dns64: r.config.dns64 },
});

/**
 * One server block per answer policy, then one for the rest. Synthesis depends on the client's
 * address family (IPv4 clients get none unless allowIPv4), and the cache's key does not carry it;
 * so when the two families are answered differently, the IPv6 listeners and the IPv4 listeners
 * get blocks of their own, each with its own cache above dns64rfc (image/coredns/main.go): a
 * cached synthesized answer costs one cache lookup, as a plain cached answer does. `clients` makes
 * each of those blocks serve only dns64.acl; CoreDNS tries blocks for the same listener top to
 * bottom, so the last block, on every listener, gets the other sources and refuses them.
 */
export function renderCorefile(r: CorefileInput): string {
  const d = r.config.dns64;
  const listen = [...new Set([...d.listen.map((a) => (a === "lan" ? r.lanHost : a)), "::1"])];
  const upstreams = d.upstreams === "dhcp" ? [UPLINK_RESOLV_CONF] : d.upstreams;
  const dns64 = [
    `prefix ${r.dns64Prefix}`,
    ...d.exclude.map((p) => `exclude ${p}`),
    ...d.allowNonGlobal.map((p) => `allow_nonglobal ${p}`),
    ...(d.translateAll ? ["translate_all"] : []),
    ...(d.allowIPv4 ? ["allow_ipv4"] : []),
  ];
  const server = (bind: string[], synthesize: boolean, processWide: boolean) =>
    block(".:53", [
      `bind ${bind.join(" ")}`,
      `clients ${r.dnsClients.join(" ")}`,
      ...(d.cache.enabled ? block(`cache ${d.cache.maxTtlSec}`, [`success ${d.cache.size}`, `denial ${d.cache.size}`]) : []),
      ...(synthesize ? block("dns64rfc", dns64) : []),
      ...block(`forward . ${upstreams.join(" ")}`, ["max_concurrent 1000", "health_check 5s"]),
      "errors",
      ...(d.logQueries ? ["log"] : []),
      // loaded is process-wide and allowed in one block only; ready and prometheus share their
      // listener between the blocks that name them. No health plugin: it fetches its own page
      // every second, about half of an idle CoreDNS's CPU (docs/dns64.md), for an answer
      // ("always healthy") that ready and the agent's DNS probes already give.
      ...(processWide ? [LOADED_PLACEHOLDER] : []),
      `ready ${COREDNS_READY}`,
      `prometheus ${COREDNS_METRICS}`,
    ]);
  const v4 = listen.filter((a) => !a.includes(":"));
  const split = d.enabled && !d.allowIPv4 && v4.length > 0;
  const blocks = split
    ? [
        ...server(
          listen.filter((a) => a.includes(":")),
          true,
          true,
        ),
        "",
        "# IPv4 clients: no synthesis (dns64.allowIPv4 is off).",
        ...server(v4, false, false),
      ]
    : server(listen, d.enabled, true);
  const refused = [
    "",
    "# Sources outside dns64.acl: REFUSED.",
    ...block(".:53", [`bind ${listen.join(" ")}`, ...(d.logQueries ? ["log"] : []), "refuse"]),
  ];
  // The id: a hash of the Corefile with the placeholder line, so it changes exactly when the rest does.
  const text = `${["# Rendered by gate64 from the device configuration; do not edit.", ...blocks, ...refused].join("\n")}\n`;
  return text.replace(LOADED_PLACEHOLDER, `loaded ${createHash("sha256").update(text).digest("hex").slice(0, 16)}`);
}
