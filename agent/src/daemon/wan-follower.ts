// pool4 and the translator's guard follow the WAN's addresses (DHCP renumbering) without a new
// revision: `ip monitor` says when, and the health loop calls follow() every cycle in case an
// event was missed.
import type { Applier } from "../apply/applier.js";
import type { Device } from "../device/device.js";
import type { System } from "../system/system.js";
import type { Logger } from "./log.js";
import type { Module } from "./module.js";

export class WanFollower implements Module {
  readonly id = "wan";
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | null = null;

  constructor(private readonly deps: { sys: System; applier: Applier; device: Device; log: Logger }) {}

  async follow(): Promise<void> {
    const { applier, device, log } = this.deps;
    const changed = await applier.refresh();
    if (changed.length === 0) return;
    log(`wan: IPv4 now ${applier.running?.resolved.wanIPv4 ?? "none"}; updated ${changed.join(", ")}`);
    // Reported now (health and state carry the address), not at the next interval.
    void device.runHealth().catch((e: unknown) => log.error(`health: ${String(e)}`));
  }

  async start(): Promise<void> {
    this.unwatch = this.deps.sys.watch("ip", ["-4", "monitor", "address"], () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.follow().catch((e: unknown) => this.deps.log.error(`wan: ${String(e)}`)), 500);
    });
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.unwatch?.();
  }
}
