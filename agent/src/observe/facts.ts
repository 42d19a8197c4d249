// Facts the renderer needs from the running system.
import type { Config } from "../config/schema.js";
import type { Facts } from "../render/context.js";
import { PROBE_IFNAME } from "../render/guard.js";
import type { System } from "../system/system.js";

interface IpAddrJson {
  ifname?: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}

/** Global addresses with their prefix length ("198.51.100.2/24"), of one interface or all. */
export async function interfaceAddresses(sys: System, ifname: string | null, family: 4 | 6): Promise<string[]> {
  const r = await sys.run("ip", ["-j", `-${family}`, "addr", "show", ...(ifname === null ? [] : ["dev", ifname])]);
  if (r.code !== 0) return [];
  try {
    const links = JSON.parse(r.stdout) as IpAddrJson[];
    return links
      .filter((l) => l.ifname !== PROBE_IFNAME)
      .flatMap((l) => l.addr_info ?? [])
      .filter((a) => a.scope === "global")
      .map((a) => `${a.local}/${a.prefixlen}`);
  } catch {
    return [];
  }
}

/** The WAN's IPv4 address with its length: from a static config, else what DHCP gave (if anything yet). */
export async function wanIPv4(sys: System, config: Config): Promise<string | undefined> {
  const v4 = config.interfaces.wan.ipv4;
  if (v4.mode === "static") return v4.address;
  return (await interfaceAddresses(sys, config.interfaces.wan.name, 4))[0];
}

/**
 * What the box is now: its WAN address and every IPv4 address on its interfaces. Nothing waits for
 * a lease: networkd starts DHCP only once the agent has written the WAN's .network file, and the
 * agent follows the address when it comes (main.ts).
 */
export async function readFacts(sys: System, config: Config, deviceId: string): Promise<Facts> {
  const wan = await wanIPv4(sys, config);
  return { deviceId, ...(wan === undefined ? {} : { wanIPv4: wan }), localIPv4: await interfaceAddresses(sys, null, 4) };
}
