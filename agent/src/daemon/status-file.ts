// `gate64 status` as text in /run/gate64, rewritten whenever what it shows changes (an apply, a
// health round, an update's phase, the inventory read). The device's `gate64` wrapper prints it
// for a bare `gate64 status` instead of starting Node, which alone takes 0.45-0.6 s on the TCG lab
// VM before any of the CLI's own work (docs/benchmarks.md#agent). The files go when the agent
// stops; the wrapper also checks that the PID that wrote them still runs.
import { uptime as bootUptime } from "node:os";
import { join } from "node:path";
import type { Device } from "../device/device.js";
import type { EventBus } from "../device/events.js";
import type { DeviceStatus } from "../device/replies.js";
import { statusLines } from "../device/status-text.js";
import { ANSI, type Paint, PLAIN } from "../lib/terminal.js";
import { PATHS } from "../paths.js";
import type { System } from "../system/system.js";
import type { Logger } from "./log.js";
import type { Module } from "./module.js";

/** Plain text for pipes and NO_COLOR, ANSI colours for a terminal: the wrapper picks one. */
export const STATUS_FILES = { plain: join(PATHS.run, "status.txt"), ansi: join(PATHS.run, "status.ansi") } as const;
/** Where the wrapper puts the agent's uptime, which only it knows at the moment it prints. */
export const UPTIME_MARK = "@UPTIME@";
const FORMAT = "gate64-status/1";

/**
 * A status file: the header `gate64-status/1 PID STARTED HEALTH` (STARTED: the agent's start in
 * seconds since boot, the clock of /proc/uptime that the shell can read without a process), then
 * the lines of `gate64 status`.
 */
export function statusFileText(s: DeviceStatus, paint: Paint, pid: number, secondsSinceBoot: number): string {
  // Whole seconds, rounded down as the wrapper rounds /proc/uptime: never a negative uptime.
  const started = Math.max(0, Math.floor(secondsSinceBoot - s.uptimeSec));
  return [`${FORMAT} ${pid} ${started} ${s.health}`, ...statusLines(s, paint, UPTIME_MARK), ""].join("\n");
}

export class StatusFile implements Module {
  readonly id = "status-file";
  private readonly off: (() => void)[] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: { sys: System; device: Device; bus: EventBus; log: Logger }) {}

  async start(): Promise<void> {
    const { bus, device } = this.deps;
    const write = () => this.write();
    this.off.push(bus.on("applied", this.id, write), bus.on("health", this.id, write), bus.on("update", this.id, write));
    void device.inventoryReady.then(write);
    await this.write();
  }

  /** One write at a time, in order: the last one written is the newest status. */
  write(): Promise<void> {
    this.writing = this.writing.then(async () => {
      const s = this.deps.device.statusInDetail();
      const now = bootUptime();
      for (const [paint, file] of [
        [PLAIN, STATUS_FILES.plain],
        [ANSI, STATUS_FILES.ansi],
      ] as const)
        await this.deps.sys.writeFileAtomic(file, statusFileText(s, paint, process.pid, now), 0o600);
    });
    this.writing = this.writing.catch((e: unknown) => this.deps.log.error(`status file: ${String(e)}`));
    return this.writing;
  }

  async stop(): Promise<void> {
    for (const off of this.off.splice(0)) off();
    await this.writing;
    for (const file of Object.values(STATUS_FILES)) await this.deps.sys.remove(file).catch(() => undefined);
  }
}
