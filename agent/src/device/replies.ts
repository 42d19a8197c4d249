// What the control socket answers to each request (control/protocol.ts has the requests): one map
// the daemon's handlers are typed against and the console CLI reads with, so neither side casts.
import type { ApplyResult } from "../apply/applier.js";
import type { Revision } from "../apply/revisions.js";
import type { ControlRequest } from "../control/protocol.js";
import type { HealthReport } from "../observe/health.js";
import type { UpdateStatus } from "../update/attempt.js";
import type { Device } from "./device.js";

export type DeviceStatus = ReturnType<Device["statusInDetail"]>;

export interface ControlReplies {
  status: DeviceStatus;
  health: HealthReport;
  /** The config alone, or { revision, config } with withRevision; null for an unknown revision. */
  "config.show": unknown;
  "config.history": Omit<Revision, "config">[];
  "config.diff": string[];
  "config.apply": ApplyResult;
  "config.set": ApplyResult;
  "config.confirm": ApplyResult;
  "config.rollback": ApplyResult;
  reboot: { rebooting: true };
  "update.install": UpdateStatus;
  "factory-reset": { resetting: "provisioned" | "full" };
}

export type ControlCmd = ControlRequest["cmd"];
export type RequestOf<K extends ControlCmd> = Extract<ControlRequest, { cmd: K }>;
export type ControlHandlers = { [K in ControlCmd]: (req: RequestOf<K>) => Promise<ControlReplies[K]> };

/** A shown revision, as config.show answers with withRevision. */
export interface ShownRevision {
  revision: number;
  config: Record<string, unknown>;
}
