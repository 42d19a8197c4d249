// The device configuration: one zod schema, the single source of truth. Types come from z.infer,
// defaults live here, JSON Schema is generated from it (gate64 config schema), and docs/configuration.md
// describes the same fields. Cross-field rules live in rules.ts.
import { z } from "zod";
import { address, anyPrefix, devicePath, dnsServer, hostname, ifname, interfaceAddress, portRange, prefix, seconds } from "./fields.js";
import { deviceId, groupName, mqttUrl } from "./ids.js";

export const CONFIG_VERSION = 1;

const identity = z.strictObject({
  /** Overrides the provisioned device id (normally from /data/identity.json). */
  deviceId: deviceId.optional(),
  /** Defaults to "gate64-<device id>". */
  hostname: hostname.optional(),
});

const nic = {
  /** The interface's name, as the board profile names it. */
  name: ifname,
};

const lan = z.strictObject({
  ...nic,
  ipv6: z
    .strictObject({
      /** The box's address on the LAN; its /64 is advertised. Default: a ULA derived from the device id. */
      address: interfaceAddress(6).optional(),
    })
    .prefault({}),
});

const wanIPv4 = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("dhcp") }),
  z.strictObject({
    mode: z.literal("static"),
    address: interfaceAddress(4),
    gateway: address(4),
  }),
]);

const wanIPv6 = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("off") }),
  z.strictObject({ mode: z.literal("slaac") }),
  z.strictObject({ mode: z.literal("dhcpv6") }),
  z.strictObject({ mode: z.literal("static"), address: interfaceAddress(6), gateway: address(6) }),
]);

const wan = z.strictObject({
  ...nic,
  ipv4: wanIPv4.prefault({ mode: "dhcp" }),
  ipv6: wanIPv6.prefault({ mode: "off" }),
});

const routerAdvertisements = z.strictObject({
  enabled: z.boolean().default(true),
  /** Advertise the box as recursive DNS server (RFC 8106). */
  rdnss: z.boolean().default(true),
  /** Advertise the NAT64 prefix (RFC 8781). */
  pref64: z.boolean().default(true),
  routerLifetimeSec: seconds(0, 9000).default(1800),
  prefixValidLifetimeSec: seconds(0, 4294967295).default(86400),
  prefixPreferredLifetimeSec: seconds(0, 4294967295).default(14400),
  rdnssLifetimeSec: seconds(0, 4294967295).default(3600),
  /** RFC 8781 scaled lifetime: a multiple of 8, at most 65528. */
  pref64LifetimeSec: seconds(0, 65528)
    .refine((n) => n % 8 === 0, { message: "must be a multiple of 8 (RFC 8781 scaled lifetime)" })
    .default(1800),
});

const protocol = z.enum(["tcp", "udp", "icmp"]);

const pool4Entry = z.strictObject({
  protocol,
  /** "wan" is the WAN interface's current IPv4 address; otherwise an IPv4 prefix the box owns. */
  prefix: z.union([z.literal("wan"), prefix(4)]),
  /** For ICMP, the range of ICMP identifiers. */
  ports: portRange,
  mark: z.number().int().min(0).max(4294967295).optional(),
});

/**
 * pool4 defaults: half the port space per protocol on the WAN address. Jool's own default
 * (61001-65535, 4,535 ports) is exhausted by ~19 new TCP connections/s under its 4-minute
 * transitory timeout; 32768-65535 sustains ~136/s per address. The box's own ephemeral ports
 * are moved below (system.ephemeralPorts) so the two never meet.
 */
export const DEFAULT_POOL4 = [
  { protocol: "tcp", prefix: "wan", ports: "32768-65535" },
  { protocol: "udp", prefix: "wan", ports: "32768-65535" },
  { protocol: "icmp", prefix: "wan", ports: "0-65535" },
] as const;

const nat64 = z.strictObject({
  enabled: z.boolean().default(true),
  /** RFC 6052 prefix: /32, /40, /48, /56, /64 or /96; bits 64-71 zero. */
  pool6: prefix(6).default("64:ff9b::/96"),
  pool4: z
    .array(pool4Entry)
    .max(64)
    .default(() => DEFAULT_POOL4.map((e) => ({ ...e }))),
  timeouts: z
    .strictObject({
      udpSec: seconds(120, 86400).default(300),
      tcpEstablishedSec: seconds(7200, 604800).default(7200),
      tcpTransitorySec: seconds(240, 86400).default(240),
      icmpSec: seconds(1, 86400).default(60),
    })
    .prefault({}),
  lowestIPv6Mtu: z.number().int().min(1280).max(65535).default(1280),
  /** RFC 6146 address-dependent filtering (stricter than endpoint-independent; breaks some P2P). */
  addressDependentFiltering: z.boolean().default(false),
  dropIcmpv6Info: z.boolean().default(false),
  dropExternallyInitiatedTcp: z.boolean().default(false),
  /** RFC 6146 section 3.4: ICMPv6 errors sourced from the hop that raised them, not the NAT64. */
  sourceIcmpv6ErrorsBetter: z.boolean().default(true),
  maximumSimultaneousOpens: z.number().int().min(0).max(100000).default(10),
  /**
   * NIC offloads on LAN and WAN. "udp-gro": fraglist GRO off (it breaks translation) and the
   * LAN's GRO for forwarded UDP on (a flow's datagrams cross Jool as one packet, measured 3.3x
   * 64-byte UDP packets/s); "no-gro-list": only fraglist GRO off (as OpenWrt does); "off":
   * GRO/GSO/TSO all off (measured 0.21x throughput); "keep": leave the driver defaults.
   */
  offloads: z.enum(["udp-gro", "no-gro-list", "off", "keep"]).default("udp-gro"),
  /**
   * Where the NICs' receive work runs (render/steering.ts): "spread" puts the LAN's interrupts on
   * the first CPU and the WAN's on the second and steers each NIC's packets (RPS) to the other
   * CPUs (measured NAT64 TCP +19 %, new connections +12 % on 2 CPUs); "keep": leaves them as
   * they are (the kernel's defaults from the next boot on: every interrupt on the boot CPU, RPS off).
   */
  steering: z.enum(["spread", "keep"]).default("spread"),
});

const dns64 = z.strictObject({
  enabled: z.boolean().default(true),
  /** Synthesis prefix; defaults to nat64.pool6. */
  prefix: prefix(6).optional(),
  /** Set to true to use a prefix other than nat64.pool6 on purpose. */
  allowPrefixMismatch: z.boolean().default(false),
  /** "dhcp" forwards to the resolvers the WAN learned; otherwise "IP", "IPv4:port" or "[IPv6]:port". */
  upstreams: z.union([z.literal("dhcp"), z.array(dnsServer).min(1).max(8)]).default("dhcp"),
  cache: z
    .strictObject({
      enabled: z.boolean().default(true),
      maxTtlSec: seconds(0, 604800).default(3600),
      size: z.number().int().min(128).max(1000000).default(9984),
    })
    .prefault({}),
  /** Client networks allowed to query. "lan" is the LAN prefix. */
  acl: z
    .array(z.union([z.literal("lan"), anyPrefix]))
    .max(64)
    .default(["lan"]),
  /** An ACL wider than the LAN (e.g. ::/0) is refused unless this is set on purpose. */
  openResolver: z.boolean().default(false),
  /** Synthesize AAAA even when a real AAAA exists. */
  translateAll: z.boolean().default(false),
  /** Synthesize for queries that arrive over IPv4 too. */
  allowIPv4: z.boolean().default(false),
  /** AAAA answers inside these prefixes count as absent (RFC 6147 5.1.4). */
  exclude: z.array(prefix(6)).max(64).default(["::ffff:0:0/96"]),
  /**
   * IPv4 ranges synthesized even where RFC 6052 3.1 forbids it under the well-known prefix
   * (private, documentation). For an operator who knows the network.
   */
  allowNonGlobal: z.array(prefix(4)).max(64).default([]),
  /** Where CoreDNS listens. "lan" is the box's LAN address. */
  listen: z
    .array(z.union([z.literal("lan"), address(6), address(4)]))
    .min(1)
    .max(8)
    .default(["lan"]),
  logQueries: z.boolean().default(false),
});

const firewall = z.strictObject({
  /** Networks allowed to reach management (metrics, SSH if installed). "lan" is the LAN prefix. */
  management: z
    .array(z.union([z.literal("lan"), anyPrefix]))
    .max(64)
    .default(["lan"]),
  /** Services opened on WAN on purpose, e.g. { "protocol": "tcp", "port": 22 }. Nothing by default. */
  wanInbound: z
    .array(
      z.strictObject({
        protocol: z.enum(["tcp", "udp"]),
        port: z.number().int().min(1).max(65535),
        from: z.array(anyPrefix).max(64).optional(),
      }),
    )
    .max(64)
    .default([]),
  /** Answer ICMP echo on WAN (rate limited). ICMP errors are always allowed (PMTU discovery). */
  wanPing: z.boolean().default(false),
});

const mqtt = z.strictObject({
  enabled: z.boolean().default(false),
  /** mqtts://host:8883 (TLS, server verified) or mqtt://host:1883. */
  url: mqttUrl.optional(),
  /** Plain MQTT to a broker that is not on loopback must be asked for. */
  allowPlaintext: z.boolean().default(false),
  protocolVersion: z.union([z.literal(5), z.literal(4)]).default(5),
  topicPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, { message: "must be topic levels of letters, digits, _ or - (no wildcards)" })
    .default("gate64"),
  /** Extra groups this box follows for group-wide desired configuration. */
  groups: z.array(groupName).max(16).default([]),
  tls: z
    .strictObject({
      ca: devicePath.optional(),
      cert: devicePath.optional(),
      key: devicePath.optional(),
    })
    .prefault({}),
  /** JSON file with {"username", "password"}; never logged. */
  credentialsFile: devicePath.optional(),
  keepaliveSec: seconds(5, 3600).default(30),
  telemetryIntervalSec: seconds(5, 86400).default(30),
  /** Home Assistant MQTT discovery of this box's entities (docs/protocol.md#home-assistant). */
  homeAssistant: z
    .strictObject({
      enabled: z.boolean().default(false),
      discoveryPrefix: z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/, { message: "must be one topic level of letters, digits, _ or -" })
        .default("homeassistant"),
    })
    .prefault({}),
  /** Remote shell over MQTT: off unless enabled per device. */
  remoteShell: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** Closed after this long without input (output does not count). */
      idleTimeoutSec: seconds(30, 86400).default(900),
      /** Closed after this long, whatever it is doing. */
      maxLifetimeSec: seconds(60, 86400).default(3600),
      maxSessions: z.number().int().min(1).max(4).default(1),
    })
    .prefault({}),
});

const health = z.strictObject({
  intervalSec: seconds(5, 3600).default(30),
  /** IPv4 endpoints probed through NAT64 ("host:port", TCP). Empty: the IPv4 upstream resolvers on port 53. */
  nat64Targets: z
    .array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/, { message: 'must be "IPv4:port"' }))
    .max(8)
    .default([]),
  /** Name resolved through the box's DNS64 to check synthesis. */
  dnsProbeName: z.string().max(253).default("ipv4only.arpa"),
  /** Seconds a newly applied config has to pass its probes before it is reverted. */
  applyVerifySec: seconds(5, 600).default(30),
});

const system = z.strictObject({
  /** The box's own ephemeral ports (net.ipv4.ip_local_port_range); must not overlap pool4. */
  ephemeralPorts: portRange.default("16384-32767"),
  /** Revision records kept on /data (the oldest are removed past this). */
  keepRevisions: z.number().int().min(5).max(1000).default(100),
});

const logging = z.strictObject({
  level: z.enum(["error", "warn", "info", "debug"]).default("info"),
  joolBib: z.boolean().default(false),
  joolSession: z.boolean().default(false),
});

export const ConfigSchema = z.strictObject({
  version: z.literal(CONFIG_VERSION).default(CONFIG_VERSION),
  identity: identity.prefault({}),
  interfaces: z.strictObject({ lan, wan }),
  routerAdvertisements: routerAdvertisements.prefault({}),
  nat64: nat64.prefault({}),
  dns64: dns64.prefault({}),
  firewall: firewall.prefault({}),
  mqtt: mqtt.prefault({}),
  health: health.prefault({}),
  system: system.prefault({}),
  logging: logging.prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type Pool4Entry = z.infer<typeof pool4Entry>;
export type Protocol = z.infer<typeof protocol>;
