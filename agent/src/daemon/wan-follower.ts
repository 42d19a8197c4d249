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

  /**
   * Puts the WAN's current address into pool4 and the guard; returns what it updated. The health
   * loop calls it before its own round of probes, so it does not run the probes itself.
   */
  async follow(): Promise<string[]> {
    const { applier, log } = this.deps;
    const changed = await applier.refresh();
    if (changed.length > 0) log(`wan: IPv4 now ${applier.running?.resolved.wanIPv4 ?? "none"}; updated ${changed.join(", ")}`);
    return changed;
  }

  /** An address event: follow it, and report at once (health and state carry the address). */
  private async onEvent(): Promise<void> {
    if ((await this.follow()).length > 0) await this.deps.device.runHealth();
  }

  async start(): Promise<void> {
    this.unwatch = this.deps.sys.watch("ip", ["-4", "monitor", "address"], () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.onEvent().catch((e: unknown) => this.deps.log.error(`wan: ${String(e)}`)), 500);
    });
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.unwatch?.();
  }
}
