// The daemon's long-running parts share one shape (as zigbee2mqtt's extensions do): constructed
// without side effects, started and stopped by the core, identified by an explicit id. A part
// that fails to start is logged with its id and the others start anyway.
import type { Logger } from "./log.js";

export interface Module {
  readonly id: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAll(modules: readonly Module[], log: Logger): Promise<void> {
  for (const m of modules) await m.start().catch((e: unknown) => log.error(`${m.id}: ${String(e)}`));
}

export async function stopAll(modules: readonly Module[], log: Logger): Promise<void> {
  for (const m of [...modules].reverse()) await m.stop().catch((e: unknown) => log.error(`${m.id}: stopping: ${String(e)}`));
}
