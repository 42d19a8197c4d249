// The device as the console and the fleet see it: what it runs, its health, and the operations
// both may ask for. The control socket and the MQTT fleet module are two front ends of this.
import type { Applier, ApplyMeta, ApplyResult, Running } from "../apply/applier.js";
import { diffConfigs } from "../apply/revisions.js";
import { setPath } from "../config/set-path.js";
import { dataMount } from "../observe/data-mount.js";
import type { HealthReport } from "../observe/health.js";
import type { Inventory } from "../observe/inventory.js";
import { journalArgs, LOG_UNITS, type LogUnit } from "../observe/journal.js";
import { type ResetMode, requestReset } from "../provision/factory-reset.js";
import type { Resolved } from "../render/context.js";
import type { System } from "../system/system.js";
import type { InstallRequest } from "../update/attempt.js";
import type { Updater } from "../update/updater.js";
import type { EventBus } from "./events.js";

export interface DeviceDeps {
  sys: System;
  applier: Applier;
  bus: EventBus;
  id: string;
  firmware: string;
  check: (r: Resolved) => Promise<HealthReport>;
  log: (line: string) => void;
  /** When the agent started (defaults to now). */
  startedAt?: number;
  /** Firmware updates; absent where the box has no update slots (the fleet simulator). */
  updater?: Updater;
  /** Reads the hardware inventory (observe/inventory.ts); absent: none. */
  inventory?: () => Promise<Inventory>;
}

export class Device {
  lastHealth: HealthReport | null = null;
  /** The hardware inventory once read (null until then, or when it could not be). */
  lastInventory: Inventory | null = null;
  private inventoryRead: Promise<Inventory | null> | null = null;
  private inventoryDone: (i: Inventory | null) => void = () => undefined;
  /** Resolves once the inventory was read, by whoever started the read; waiting never starts it. */
  readonly inventoryReady = new Promise<Inventory | null>((resolve) => {
    this.inventoryDone = resolve;
  });
  readonly bootedAt: string;

  constructor(readonly deps: DeviceDeps) {
    this.bootedAt = new Date(deps.startedAt ?? deps.sys.now()).toISOString();
  }

  /** The provisioned id, unless the running config overrides it (identity.deviceId). */
  get id(): string {
    return this.deps.applier.running?.resolved.deviceId ?? this.deps.id;
  }

  /** Reads the hardware inventory, once per agent start; the daemon decides when (off the boot and health path). */
  inventory(): Promise<Inventory | null> {
    this.inventoryRead ??= (this.deps.inventory?.() ?? Promise.resolve(null))
      .then(
        (i) => {
          this.lastInventory = i;
          if (i) this.deps.log(`inventory: read in ${i.cost.ms} ms, ${i.cost.processes ?? "?"} processes started`);
          return i;
        },
        (e: unknown) => {
          this.deps.log(`inventory: ${String(e)}`);
          return null;
        },
      )
      .then((i) => {
        this.inventoryDone(i);
        return i;
      });
    return this.inventoryRead;
  }

  running(): Running {
    const r = this.deps.applier.running;
    if (r === null) throw new Error("no configuration is running");
    return r;
  }

  status() {
    const r = this.deps.applier.running;
    return {
      deviceId: this.id,
      firmware: this.deps.firmware,
      slot: this.deps.updater?.bootedSlot() ?? null,
      update: this.deps.updater?.status() ?? null,
      revision: r?.revision ?? null,
      awaitingConfirmation: this.deps.applier.awaitingConfirmation,
      health: this.lastHealth?.status ?? ("unknown" as const),
      lan: r?.resolved.lanAddress ?? null,
      wanIPv4: r?.resolved.wanIPv4 ?? null,
      uptimeSec: Math.round((this.deps.sys.now() - Date.parse(this.bootedAt)) / 1000),
    };
  }

  /** What `gate64 status` shows: status() with the last health report and the hardware inventory. */
  statusInDetail() {
    return { ...this.status(), healthReport: this.lastHealth, inventory: this.lastInventory };
  }

  async runHealth(): Promise<HealthReport> {
    const h = await this.deps.check(this.running().resolved);
    this.lastHealth = h;
    this.deps.bus.emit("health", h);
    return h;
  }

  async configShow(revision?: number): Promise<{ revision: number; config: unknown } | null> {
    if (revision === undefined) return { revision: this.running().revision, config: this.running().input };
    const r = await this.deps.applier.revisions.get(revision);
    return r === null ? null : { revision: r.revision, config: r.config };
  }

  async history() {
    return (await this.deps.applier.revisions.list()).map(({ config: _c, ...rest }) => rest);
  }

  async diff(from: number, to?: number) {
    const a = from === 0 ? null : await this.deps.applier.revisions.get(from);
    const b = to === undefined ? this.running().input : (await this.deps.applier.revisions.get(to))?.config;
    return diffConfigs(a?.config ?? {}, b ?? {});
  }

  private announce(r: ApplyResult): ApplyResult {
    if (r.outcome !== "unchanged") this.deps.bus.emit("applied", r);
    return r;
  }

  async apply(config: unknown, meta: ApplyMeta): Promise<ApplyResult> {
    return this.announce(await this.deps.applier.apply(config, meta));
  }

  /** Sets one field of the running configuration and applies the result (refused if another change came first). */
  async configSet(key: string, value: unknown, meta: ApplyMeta): Promise<ApplyResult> {
    const { input, revision } = this.running();
    let next: Record<string, unknown>;
    try {
      next = setPath(input as Record<string, unknown>, key, value);
    } catch (err) {
      return { outcome: "refused", problems: [{ path: key, message: (err as Error).message }] };
    }
    return this.apply(next, { ...meta, baseRevision: revision });
  }

  async confirm(by: string): Promise<ApplyResult> {
    return this.announce(await this.deps.applier.confirm(by));
  }

  async rollback(revision: number, meta: ApplyMeta): Promise<ApplyResult> {
    return this.announce(await this.deps.applier.rollback(revision, meta));
  }

  async logsTail(unit: LogUnit, lines: number): Promise<string[]> {
    const r = await this.deps.sys.run("journalctl", [...journalArgs(LOG_UNITS[unit], lines), "-o", "short-iso"]);
    if (r.code !== 0) throw new Error(`journalctl: ${r.stderr.trim() || `exit ${r.code}`}`);
    return r.stdout.split("\n").filter((l) => l !== "");
  }

  async updateInstall(req: InstallRequest, by: string) {
    const u = this.deps.updater;
    if (!u) throw new Error("this box has no update slots");
    return u.start(req, by);
  }

  /** Wipes /data at the next boot (gate64-provision.service) and reboots now. */
  async factoryReset(mode: ResetMode, by: string): Promise<{ resetting: ResetMode }> {
    const inMemory = (await dataMount(this.deps.sys))?.inMemory === true;
    await requestReset(this.deps.sys, mode, inMemory ? "esp" : "data");
    this.deps.log(`factory reset (${mode}) requested by ${by}`);
    this.reboot(by);
    return { resetting: mode };
  }

  reboot(by: string): { rebooting: true } {
    this.deps.log(`reboot requested by ${by}`);
    setTimeout(() => void this.deps.sys.run("systemctl", ["reboot"]), 1000).unref();
    return { rebooting: true };
  }
}
