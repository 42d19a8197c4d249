// Facts the renderer needs from the running system.
import type { Config } from "../config/schema.js";
import type { System } from "../system/system.js";

interface IpAddrJson {
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}

export async function interfaceAddresses(sys: System, ifname: string, family: 4 | 6): Promise<string[]> {
  const r = await sys.run("ip", ["-j", `-${family}`, "addr", "show", "dev", ifname]);
  if (r.code !== 0) return [];
  try {
    const links = JSON.parse(r.stdout) as IpAddrJson[];
    return links
      .flatMap((l) => l.addr_info ?? [])
      .filter((a) => a.scope === "global")
      .map((a) => a.local);
  } catch {
    return [];
  }
}

/** The WAN's IPv4 address: from a static config, else what DHCP gave (waiting up to waitMs). */
export async function wanIPv4(sys: System, config: Config, waitMs: number): Promise<string | undefined> {
  const v4 = config.interfaces.wan.ipv4;
  if (v4.mode === "static") return v4.address.split("/")[0];
  const until = sys.now() + waitMs;
  for (;;) {
    const [addr] = await interfaceAddresses(sys, config.interfaces.wan.name, 4);
    if (addr !== undefined || sys.now() >= until) return addr;
    await new Promise((r) => setTimeout(r, 500));
  }
}
