// A namespace on the box that acts as a LAN client for the NAT64 probe: Jool does not translate
// the box's own traffic (it hooks PRE_ROUTING), so the probe's packets must arrive from outside
// the root namespace, here through a veth pair.
import { embedIPv4, formatIPv6, type Prefix, parseIPv4, parsePrefix } from "../lib/ip.js";
import { PATHS } from "../paths.js";
import { PROBE_IFNAME } from "../render/guard.js";
import type { System } from "../system/system.js";

export const PROBE_NS = "gate64-probe";
const HOST_IF = PROBE_IFNAME;
const NS_IF = "gprobe1";
/** A ULA /64 used only on the veth pair. */
export const PROBE_NET = { host: "fd64:6464:6464::1", ns: "fd64:6464:6464::2", len: 64 };

/** Creations in progress, by system: probes that run at once (the boot's verification, the health
 * loop, the boot gate's rounds) share one instead of racing to "File exists". */
const creating = new WeakMap<System, Promise<void>>();

export function ensureProbeNamespace(sys: System): Promise<void> {
  const running = creating.get(sys);
  if (running) return running;
  const p = create(sys).finally(() => creating.delete(sys));
  creating.set(sys, p);
  return p;
}

async function create(sys: System): Promise<void> {
  // A directory read, not `ip netns list`: each NAT64 probe asks, and an `ip` costs 50-80 ms
  // on the idle TCG lab VM.
  if ((await sys.list(PATHS.netnsDir)).includes(PROBE_NS)) return;
  // Two `ip -batch` runs, the box's side and the namespace's, rather than a process per step: the
  // boot's first health round creates the namespace, while the vCPUs are busiest.
  const batches: [options: string[], lines: string[]][] = [
    [
      [],
      [
        `netns add ${PROBE_NS}`,
        `link add ${HOST_IF} type veth peer name ${NS_IF} netns ${PROBE_NS}`,
        `addr add ${PROBE_NET.host}/${PROBE_NET.len} dev ${HOST_IF} nodad`,
        `link set ${HOST_IF} up`,
      ],
    ],
    [
      ["-n", PROBE_NS],
      [
        `addr add ${PROBE_NET.ns}/${PROBE_NET.len} dev ${NS_IF} nodad`,
        `link set ${NS_IF} up`,
        "link set lo up",
        `route add ::/0 via ${PROBE_NET.host}`,
      ],
    ],
  ];
  for (const [options, lines] of batches) {
    const r = await sys.run("ip", [...options, "-batch", "-"], { input: `${lines.join("\n")}\n` });
    if (r.code !== 0) throw new Error(`ip ${[...options, "-batch"].join(" ")}: ${r.stderr.trim()}`);
  }
}

/** "198.51.100.80:80" under a /96 prefix -> ["64:ff9b::c633:6450", "80"]. */
export function translatedTarget(pool6: string, target: string): [string, string] {
  const [v4, port] = target.split(":") as [string, string];
  return [formatIPv6(embedIPv4(parsePrefix(pool6) as Prefix, parseIPv4(v4) ?? 0n)), port];
}
