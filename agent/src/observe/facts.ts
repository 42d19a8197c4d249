// Facts the renderer needs from the running system.
import type { Config } from "../config/schema.js";
import type { Facts } from "../render/context.js";
import { PROBE_IFNAME } from "../render/guard.js";
import type { System } from "../system/system.js";
import { sharedReading } from "./shared-reading.js";

interface IpAddrJson {
  ifname?: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}

/** Global IPv4 addresses with their prefix length ("198.51.100.2/24"), by interface. */
async function listGlobalIPv4(sys: System): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const r = await sys.run("ip", ["-j", "-4", "addr", "show"]);
  if (r.code !== 0) return out;
  try {
    for (const l of JSON.parse(r.stdout) as IpAddrJson[]) {
      if (l.ifname === undefined || l.ifname === PROBE_IFNAME) continue;
      const addrs = (l.addr_info ?? []).filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`);
      out.set(l.ifname, [...(out.get(l.ifname) ?? []), ...addrs]);
    }
  } catch {
    // no addresses known: the renderer treats the WAN as without a lease yet
  }
  return out;
}

/**
 * The box's global IPv4 addresses by interface, from a reading younger than maxAgeMs: facts read
 * anew (0); the health round's `wan-ipv4` probe takes the one the WAN follower read just before it.
 */
export const globalIPv4 = sharedReading(listGlobalIPv4);

/**
 * What the box is now: its WAN address (a static config's, else what DHCP gave, if anything yet)
 * and every IPv4 address on its interfaces, from one `ip` run (a process costs 50-80 ms on the
 * TCG lab VM, and every apply reads these). Not from os.networkInterfaces(), which has no
 * process: libuv leaves out an interface without carrier, and its addresses stay the box's own
 * (local routes) that the guard must keep out of translation. Nothing waits for a lease: networkd
 * starts DHCP only once the agent has written the WAN's .network file, and the agent follows the
 * address when it comes (main.ts).
 */
export async function readFacts(sys: System, config: Config, deviceId: string): Promise<Facts> {
  const byInterface = await globalIPv4(sys, 0);
  const v4 = config.interfaces.wan.ipv4;
  const wan = v4.mode === "static" ? v4.address : byInterface.get(config.interfaces.wan.name)?.[0];
  return { deviceId, ...(wan === undefined ? {} : { wanIPv4: wan }), localIPv4: [...byInterface.values()].flat() };
}
