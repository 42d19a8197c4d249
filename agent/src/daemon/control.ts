// The control socket for the console CLI: one handler per request, typed against what the CLI
// reads (device/replies.ts).
import type { Server } from "node:net";
import type { ControlRequest } from "../control/protocol.js";
import { serveControl } from "../control/server.js";
import type { Device } from "../device/device.js";
import type { ControlHandlers } from "../device/replies.js";
import { PATHS } from "../paths.js";
import type { Logger } from "./log.js";
import type { Module } from "./module.js";

export function controlHandlers(device: Device): ControlHandlers {
  return {
    status: async () => device.statusInDetail(),
    health: () => device.runHealth(),
    "config.show": async (req) => {
      const shown = await device.configShow(req.revision);
      return req.withRevision ? shown : (shown?.config ?? null);
    },
    "config.history": () => device.history(),
    "config.diff": (req) => device.diff(req.from, req.to),
    "config.apply": (req) =>
      device.apply(req.config, {
        by: req.by,
        ...(req.message ? { message: req.message } : {}),
        ...(req.confirmSec ? { confirmSec: req.confirmSec } : {}),
        ...(req.baseRevision === undefined ? {} : { baseRevision: req.baseRevision }),
      }),
    "config.set": (req) =>
      device.configSet(req.key, req.value, {
        by: req.by,
        ...(req.message ? { message: req.message } : {}),
        ...(req.confirmSec ? { confirmSec: req.confirmSec } : {}),
      }),
    "config.confirm": (req) => device.confirm(req.by),
    "config.rollback": (req) => device.rollback(req.revision, { by: req.by }),
    reboot: async (req) => device.reboot(req.by),
    "factory-reset": (req) => device.factoryReset(req.mode, req.by),
    "update.install": ({ cmd: _c, by, ...req }) => device.updateInstall(req, by),
  };
}

export class ControlSocket implements Module {
  readonly id = "control";
  private server: Server | null = null;

  constructor(private readonly deps: { device: Device; log: Logger }) {}

  async start(): Promise<void> {
    const handlers = controlHandlers(this.deps.device);
    const handle = (req: ControlRequest): Promise<unknown> => (handlers[req.cmd] as (r: ControlRequest) => Promise<unknown>)(req);
    this.server = await serveControl(PATHS.controlSocket, handle, this.deps.log);
  }

  async stop(): Promise<void> {
    this.server?.close();
  }
}
