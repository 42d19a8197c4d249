// The health loop: every health.intervalSec (following changes to it), follow the WAN, run the
// probes, and repair what failed through the applier's queue, so repairs never interleave with
// an apply or a revert; after a repair, or a failed probe that passed on the repair's second
// look, the probes run again at once. A cycle still running when the next is due is not started
// twice.
import type { Applier } from "../apply/applier.js";
import type { Device } from "../device/device.js";
import type { EventBus } from "../device/events.js";
import type { HealthReport } from "../observe/health.js";
import type { System } from "../system/system.js";
import type { Logger } from "./log.js";
import type { Module } from "./module.js";
import type { WanFollower } from "./wan-follower.js";
import type { Notifier } from "./watchdog.js";

export class HealthLoop implements Module {
  readonly id = "health";
  private timer: NodeJS.Timeout | undefined;
  private interval = 0;
  private startedAt: number | null = null;
  private off: (() => void) | null = null;

  constructor(
    private readonly deps: {
      sys: System;
      device: Device;
      applier: Applier;
      bus: EventBus;
      wan: WanFollower;
      notify: Notifier;
      log: Logger;
    },
  ) {}

  /** Since when the running cycle has been running (null between cycles): the watchdog's view. */
  get busySince(): number | null {
    return this.startedAt;
  }

  async cycle(): Promise<void> {
    const { sys, device, applier, wan, notify, log } = this.deps;
    if (this.startedAt !== null) return;
    this.startedAt = sys.now();
    try {
      await wan.follow().catch((e: unknown) => log.error(`wan: ${String(e)}`));
      let h = await this.round();
      const repair = await applier.repair(h.probes.filter((p) => p.status !== "ok").map((p) => p.name));
      if (repair.services.length > 0) log(`repair: ${repair.services.join(", ")} put back`);
      if (repair.passedAgain.length > 0) log.debug(`health: ${repair.passedAgain.join(", ")} passed when probed again: nothing to repair`);
      // The repair waited for the services' readiness, and a probe that passed again saw a
      // change that was under way: the outcome is reported now, not an interval (30 s) later.
      if (repair.services.length > 0 || repair.passedAgain.length > 0) h = await this.round();
      await notify.status(`revision ${device.running().revision}, health ${h.status}`);
    } finally {
      this.startedAt = null;
    }
  }

  /** One round of probes, logged: failures as a warning, a passing round at debug level. */
  private async round(): Promise<HealthReport> {
    const { device, log } = this.deps;
    const h = await device.runHealth();
    const failed = h.probes.filter((p) => p.status !== "ok");
    if (failed.length > 0) log.warn(`health ${h.status}: ${failed.map((p) => `${p.name}: ${p.detail}`).join("; ")}`);
    else log.debug(`health ok: ${h.probes.map((p) => p.name).join(", ")}`);
    return h;
  }

  private schedule(): void {
    const want = this.deps.device.running().config.health.intervalSec * 1000;
    if (want === this.interval) return;
    this.interval = want;
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.cycle().catch((e: unknown) => this.deps.log.error(`health: ${String(e)}`)), want);
  }

  async start(): Promise<void> {
    this.off = this.deps.bus.on("applied", this.id, () => this.schedule());
    this.schedule();
    await this.cycle();
  }

  async stop(): Promise<void> {
    this.off?.();
    clearInterval(this.timer);
  }
}
