// The fleet connection follows the running mqtt section and device id: a change to either
// (console, rollback, a confirmation that ran out) replaces the connection.
import type { Device } from "../device/device.js";
import type { EventBus } from "../device/events.js";
import { FleetAgent } from "../fleet/agent.js";
import type { System } from "../system/system.js";
import type { Logger } from "./log.js";
import type { Module } from "./module.js";

export class FleetConnection implements Module {
  readonly id = "fleet";
  private agent: FleetAgent | null = null;
  private key = "";
  private off: (() => void) | null = null;

  constructor(private readonly deps: { device: Device; sys: System; bus: EventBus; log: Logger }) {}

  private wanted(): string {
    const r = this.deps.device.running();
    return JSON.stringify([r.config.mqtt, r.resolved.deviceId]);
  }

  private async connect(): Promise<void> {
    const { device, sys, bus, log } = this.deps;
    this.key = this.wanted();
    this.agent = new FleetAgent({ device, sys, bus, mqtt: device.running().config.mqtt, log });
    await this.agent.start();
  }

  async start(): Promise<void> {
    this.off = this.deps.bus.on("applied", this.id, async () => {
      if (this.wanted() === this.key) return;
      this.deps.log("fleet: broker settings or device id changed; reconnecting");
      await this.agent?.stop();
      await this.connect();
    });
    await this.connect();
  }

  async stop(): Promise<void> {
    this.off?.();
    await this.agent?.stop();
  }
}
