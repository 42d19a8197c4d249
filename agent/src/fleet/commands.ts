// The fleet's commands (docs/protocol.md#commands): each one's arguments parsed with its schema,
// then run against the device core. Errors carry a protocol code and the field at fault.
import type { z } from "zod";
import type { ApplyResult } from "../apply/applier.js";
import type { Device } from "../device/device.js";
import { UpdateRefused } from "../update/updater.js";
import { type Command, CommandArgs, type ErrorCodeSchema } from "./protocol.js";
import type { ShellSessions } from "./shell.js";

export class CommandError extends Error {
  constructor(
    readonly code: z.infer<typeof ErrorCodeSchema>,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface CommandContext {
  device: Device;
  shells: ShellSessions;
  now: () => number;
  /** Subscribes to a new session's input; returns its topics. */
  shellOpened: (session: string) => Promise<{ in: string; out: string }>;
  /** Leaves the fleet shortly after the answer went out. */
  decommission: (by: string) => void;
}

/**
 * Who sent a command: the user name in the topic (commands/<user>), which the broker's ACL lets
 * only that user write, or, on the bare commands topic, what the sender says, marked unattested.
 */
export function senderOf(attested: string | undefined, claimed: string | undefined): string {
  return attested ?? `${claimed ?? "fleet"} (unattested)`;
}

/** Operator accounts (docs/examples/mosquitto.acl); a device id cannot look like one. */
const OPERATOR_NAME = /^op_[A-Za-z0-9_-]{1,60}$/;

export async function runCommand(cmd: Command, ctx: CommandContext, attested?: string): Promise<unknown> {
  // Another box may write commands/<its own id> (the ACL pattern is global): only operators command.
  if (attested !== undefined && !OPERATOR_NAME.test(attested))
    throw new CommandError("forbidden", `commands come from operator accounts (op_*), not from ${attested}`);
  const argsOf = <K extends keyof typeof CommandArgs>(name: K) => {
    const r = CommandArgs[name].safeParse(cmd.args ?? {});
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new CommandError("invalid", issue?.message ?? "invalid", ["args", ...(issue?.path ?? [])].join("."));
    }
    return r.data as z.infer<(typeof CommandArgs)[K]>;
  };
  const d = ctx.device;
  const by = senderOf(attested, cmd.by);
  switch (cmd.name) {
    case "ping":
      argsOf("ping");
      return { pong: true, at: new Date(ctx.now()).toISOString(), firmware: d.status().firmware };
    case "health":
      argsOf("health");
      return d.runHealth();
    case "config.get": {
      const a = argsOf("config.get");
      const r = await d.configShow(a.revision);
      if (r === null) throw new CommandError("invalid", `there is no revision ${a.revision}`, "args.revision");
      return r;
    }
    case "config.set": {
      const a = argsOf("config.set");
      return checkApply(
        await d.apply(keepMqtt(d, a.config), {
          by,
          ...(a.message ? { message: a.message } : {}),
          ...(a.confirmSec ? { confirmSec: a.confirmSec } : {}),
        }),
      );
    }
    case "config.confirm":
      argsOf("config.confirm");
      return checkApply(await d.confirm(by));
    case "config.rollback": {
      // The earlier revision's config with the running broker settings: a fleet command never
      // moves a box to another broker (docs/protocol.md).
      const n = argsOf("config.rollback").revision;
      const old = await d.configShow(n);
      if (old === null || typeof old.config !== "object" || old.config === null)
        throw new CommandError("invalid", `there is no revision ${n}`, "args.revision");
      const { mqtt: _theirs, ...rest } = old.config as Record<string, unknown>;
      const ours = (d.running().input as Record<string, unknown>).mqtt;
      const config = ours === undefined ? rest : { ...rest, mqtt: ours };
      return checkApply(await d.apply(config, { by, message: `rollback to revision ${n}, broker settings kept` }));
    }
    case "reboot":
      argsOf("reboot");
      return d.reboot(by);
    case "logs.tail": {
      const a = argsOf("logs.tail");
      return { unit: a.unit, lines: await d.logsTail(a.unit, a.lines) };
    }
    case "decommission":
      argsOf("decommission");
      ctx.decommission(by);
      return { decommissioning: true };
    case "factory-reset": {
      const a = argsOf("factory-reset");
      if (a.confirm !== d.id) throw new CommandError("invalid", `confirm must be this box's id (${d.id})`, "args.confirm");
      return d.factoryReset(a.full ? "full" : "provisioned", by);
    }
    case "update.install": {
      const req = argsOf("update.install");
      try {
        return await d.updateInstall(req, by);
      } catch (e) {
        if (e instanceof UpdateRefused) throw new CommandError(e.code, e.message, e.field ? `args.${e.field}` : undefined);
        throw e;
      }
    }
    case "shell.open": {
      const a = argsOf("shell.open");
      // A root shell needs a sender the broker vouches for: the audit trail names who it was.
      if (attested === undefined)
        throw new CommandError("forbidden", "a shell is opened only by a command on commands/<user name> (docs/protocol.md#remote-shell)");
      const r = await ctx.shells.open(by, a.cols, a.rows, ctx.now());
      if (!r.ok) throw new CommandError(r.code, r.message);
      return { ...r.session, ...(await ctx.shellOpened(r.session.session)) };
    }
    case "shell.resize": {
      const a = argsOf("shell.resize");
      if (!ctx.shells.resize(a.session, a.cols, a.rows)) throw new CommandError("invalid", `no session ${a.session}`, "args.session");
      return { resized: true };
    }
    case "shell.close": {
      const a = argsOf("shell.close");
      if (!ctx.shells.close(a.session, `closed by ${by}`)) throw new CommandError("invalid", `no session ${a.session}`, "args.session");
      return { closed: true };
    }
  }
}

/** A refused or reverted apply is a failed command, with the field named where there is one. */
export function checkApply(r: ApplyResult): ApplyResult {
  if (r.outcome === "refused") {
    const p = r.problems[0];
    throw new CommandError("invalid", r.problems.map((x) => `${x.path}: ${x.message}`).join("; "), p ? `config.${p.path}` : undefined);
  }
  if (r.outcome === "reverted") throw new CommandError("failed", `revision ${r.revision} reverted: ${r.reason}`);
  return r;
}

/**
 * The broker settings are the box's own (provisioning or the console): a fleet config without an
 * mqtt section keeps the running one, and one that changes it is refused, so a typo cannot cut a
 * box off from the fleet.
 */
export function keepMqtt(device: Device, config: unknown): unknown {
  if (typeof config !== "object" || config === null || Array.isArray(config)) return config;
  const running = (device.running().input as Record<string, unknown>).mqtt;
  const given = (config as Record<string, unknown>).mqtt;
  if (given !== undefined && JSON.stringify(given) !== JSON.stringify(running))
    throw new CommandError("forbidden", "the broker settings are changed on the console or by provisioning, not over MQTT", "config.mqtt");
  return running === undefined ? config : { ...config, mqtt: running };
}

/** The id of a command that failed validation, if it has a usable one, so the sender can match the refusal. */
export function idOf(payload: Buffer): string {
  try {
    const id = (JSON.parse(payload.toString()) as { id?: unknown }).id;
    return typeof id === "string" ? id.slice(0, 64) : "";
  } catch {
    return "";
  }
}
