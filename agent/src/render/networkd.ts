// systemd-networkd .link and .network files for LAN and WAN.
import type { Part, Resolved } from "./context.js";

export type NetworkdInput = Part<"lanAddress" | "lanHost" | "lanPrefix", "interfaces" | "routerAdvertisements" | "nat64">;

export const networkdInput = (r: Resolved): NetworkdInput => ({
  lanAddress: r.lanAddress,
  lanHost: r.lanHost,
  lanPrefix: r.lanPrefix,
  config: { interfaces: r.config.interfaces, routerAdvertisements: r.config.routerAdvertisements, nat64: r.config.nat64 },
});

type Section = [name: string, entries: [key: string, value: string | number | boolean][]];

function ini(sections: Section[]): string {
  const yes = (v: string | number | boolean) => (typeof v === "boolean" ? (v ? "yes" : "no") : String(v));
  const text = sections
    .filter(([, entries]) => entries.length > 0)
    .map(([name, entries]) => [`[${name}]`, ...entries.map(([k, v]) => `${k}=${yes(v)}`)].join("\n"))
    .join("\n\n");
  return `# Rendered by gate64 from the device configuration; do not edit.\n${text}\n`;
}

function lanNetwork(r: NetworkdInput): string {
  const ra = r.config.routerAdvertisements;
  const sections: Section[] = [
    ["Match", [["Name", r.config.interfaces.lan.name]]],
    ["Link", [["RequiredForOnline", false]]],
    [
      "Network",
      [
        ["Address", r.lanAddress],
        ["LinkLocalAddressing", "ipv6"],
        ["IPv6AcceptRA", false],
        ["IPv6SendRA", ra.enabled],
        ["ConfigureWithoutCarrier", true],
      ],
    ],
  ];
  if (ra.enabled) {
    sections.push(
      [
        "IPv6SendRA",
        [
          ["RouterLifetimeSec", ra.routerLifetimeSec],
          ["EmitDNS", ra.rdnss],
          ...(ra.rdnss
            ? ([
                ["DNS", r.lanHost],
                ["DNSLifetimeSec", ra.rdnssLifetimeSec],
              ] as [string, string | number][])
            : []),
          ["EmitDomains", false],
        ],
      ],
      [
        "IPv6Prefix",
        [
          ["Prefix", r.lanPrefix],
          ["ValidLifetimeSec", ra.prefixValidLifetimeSec],
          ["PreferredLifetimeSec", ra.prefixPreferredLifetimeSec],
        ],
      ],
    );
    if (ra.pref64 && r.config.nat64.enabled)
      sections.push([
        "IPv6PREF64Prefix",
        [
          ["Prefix", r.config.nat64.pool6],
          ["LifetimeSec", ra.pref64LifetimeSec],
        ],
      ]);
  }
  return ini(sections);
}

function wanNetwork(r: NetworkdInput): string {
  const wan = r.config.interfaces.wan;
  const dhcp4 = wan.ipv4.mode === "dhcp";
  const dhcp6 = wan.ipv6.mode === "dhcpv6";
  const dhcp = dhcp4 && dhcp6 ? "yes" : dhcp4 ? "ipv4" : dhcp6 ? "ipv6" : "no";
  const network: [string, string | boolean][] = [
    ["DHCP", dhcp],
    ["LinkLocalAddressing", wan.ipv6.mode === "off" ? "no" : "ipv6"],
    ["IPv6AcceptRA", wan.ipv6.mode === "slaac" || wan.ipv6.mode === "dhcpv6"],
  ];
  if (wan.ipv4.mode === "static") network.push(["Address", wan.ipv4.address], ["Gateway", wan.ipv4.gateway]);
  if (wan.ipv6.mode === "static") network.push(["Address", wan.ipv6.address], ["Gateway", wan.ipv6.gateway]);
  return ini([
    ["Match", [["Name", wan.name]]],
    ["Network", network],
    // The DHCP hostname would leak the device id to the uplink; send nothing identifying.
    ...(dhcp4
      ? ([
          [
            "DHCPv4",
            [
              ["SendHostname", false],
              ["UseDNS", true],
              ["UseNTP", true],
            ],
          ],
        ] as Section[])
      : []),
  ]);
}

/**
 * Files for networkd (PATHS.networkdDir), keyed by file name. No .link files: udev applies those
 * only when a NIC appears, before the agent runs; NIC names come from the board, offloads from
 * ethtool.
 */
export function renderNetworkd(r: NetworkdInput): Record<string, string> {
  const { lan, wan } = r.config.interfaces;
  return { [`20-${lan.name}.network`]: lanNetwork(r), [`20-${wan.name}.network`]: wanNetwork(r) };
}
