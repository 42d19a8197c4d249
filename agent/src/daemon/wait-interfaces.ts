// Waits at boot for the interfaces a configuration names. udev renames the NICs (lan, wan) as it
// works through the boot's coldplug events, and on a slow boot that ends after the agent has
// started: on the lab VM after a power cut, udev started 55 s into the boot and the agent's boot
// apply, 27 s after its own start, found no /proc/sys/net/ipv6/conf/lan. Applied then, a sound
// config.json fails and the box runs the image's default configuration (no fleet, no upstreams)
// until someone restarts the agent.
import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../config/schema.js";
import { PATHS } from "../paths.js";
import type { System } from "../system/system.js";

/** How long a boot waits for a named interface before applying without it (the apply then fails and says which). */
export const INTERFACE_WAIT_MS = 60_000;

/** The configuration's interfaces that the kernel does not have (yet). */
export async function missingInterfaces(sys: System, config: Config): Promise<string[]> {
  const present = new Set(await sys.list(PATHS.netDevices));
  return [config.interfaces.lan.name, config.interfaces.wan.name].filter((name) => !present.has(name));
}

/** Returns the interfaces still missing when the wait ends: none, or those that did not come within waitMs (none left: no wait). */
export async function waitForInterfaces(
  sys: System,
  config: Config,
  log: (line: string) => void,
  waitMs = INTERFACE_WAIT_MS,
  pollMs = 250,
): Promise<string[]> {
  const until = sys.now() + waitMs;
  let missing = await missingInterfaces(sys, config);
  if (missing.length === 0 || waitMs <= 0) return missing;
  log(`boot: waiting up to ${Math.ceil(waitMs / 100) / 10} s for interface ${missing.join(", ")}`);
  while (missing.length > 0 && sys.now() < until) {
    await sleep(pollMs);
    missing = await missingInterfaces(sys, config);
  }
  log(missing.length === 0 ? "boot: interfaces present" : `boot: no interface ${missing.join(", ")}; applying without it`);
  return missing;
}
