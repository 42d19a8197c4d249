// Prometheus text on the LAN address; the firewall admits only firewall.management networks.
import type { Server } from "node:http";
import type { Device } from "../device/device.js";
import { serveMetrics } from "../observe/metrics.js";
import { MANAGEMENT_PORTS } from "../render/nftables.js";
import type { System } from "../system/system.js";
import type { Logger } from "./log.js";
import type { Module } from "./module.js";

export class MetricsServer implements Module {
  readonly id = "metrics";
  private server: Server | null = null;

  constructor(private readonly deps: { sys: System; device: Device; log: Logger }) {}

  async start(): Promise<void> {
    const r = this.deps.device.running();
    const nics = [r.config.interfaces.lan.name, r.config.interfaces.wan.name];
    this.server = await serveMetrics(this.deps.sys, r.resolved.lanHost, MANAGEMENT_PORTS.metrics, nics, this.deps.log);
  }

  async stop(): Promise<void> {
    this.server?.close();
  }
}
