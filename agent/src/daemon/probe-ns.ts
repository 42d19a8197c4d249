// A namespace on the box that acts as a LAN client for the NAT64 probe: Jool does not translate
// the box's own traffic (it hooks PRE_ROUTING), so the probe's packets must arrive from outside
// the root namespace, here through a veth pair.
import { formatIPv6, type Prefix, parsePrefix } from "../lib/ip.js";
import type { System } from "../system/system.js";

export const PROBE_NS = "gate64-probe";
const HOST_IF = "gprobe0";
const NS_IF = "gprobe1";
/** A ULA /64 used only on the veth pair. */
export const PROBE_NET = { host: "fd64:6464:6464::1", ns: "fd64:6464:6464::2", len: 64 };

export async function ensureProbeNamespace(sys: System): Promise<void> {
  const exists = (await sys.run("ip", ["netns", "list"])).stdout.split("\n").some((l) => l.split(" ")[0] === PROBE_NS);
  if (exists) return;
  const steps: string[][] = [
    ["netns", "add", PROBE_NS],
    ["link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF, "netns", PROBE_NS],
    ["addr", "add", `${PROBE_NET.host}/${PROBE_NET.len}`, "dev", HOST_IF, "nodad"],
    ["link", "set", HOST_IF, "up"],
    ["-n", PROBE_NS, "addr", "add", `${PROBE_NET.ns}/${PROBE_NET.len}`, "dev", NS_IF, "nodad"],
    ["-n", PROBE_NS, "link", "set", NS_IF, "up"],
    ["-n", PROBE_NS, "link", "set", "lo", "up"],
    ["-n", PROBE_NS, "-6", "route", "add", "default", "via", PROBE_NET.host],
  ];
  for (const args of steps) {
    const r = await sys.run("ip", args);
    if (r.code !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
  }
}

/** "198.51.100.80:80" under a /96 prefix -> ["64:ff9b::c633:6450", "80"]. */
export function translatedTarget(pool6: string, target: string): [string, string] {
  const [v4, port] = target.split(":") as [string, string];
  const p = parsePrefix(pool6) as Prefix;
  const parts = v4.split(".").map(Number);
  const v4n = BigInt(((parts[0] ?? 0) << 24) + ((parts[1] ?? 0) << 16) + ((parts[2] ?? 0) << 8) + (parts[3] ?? 0)) & 0xffffffffn;
  // RFC 6052: for /96 the IPv4 address is the last 32 bits; other lengths skip the u octet.
  const bytes = Array.from({ length: 16 }, (_, i) => Number((p.value >> BigInt(120 - 8 * i)) & 0xffn));
  let at = p.length / 8;
  for (let i = 3; i >= 0; i--) {
    if (at === 8) at++;
    bytes[at++] = Number((v4n >> BigInt(8 * i)) & 0xffn);
  }
  const value = bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
  return [formatIPv6(value), port];
}
