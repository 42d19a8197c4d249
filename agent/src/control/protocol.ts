// The control socket's messages: one JSON object per line each way. The CLI on the console
// and tests speak it; the schema is the contract.
import { z } from "zod";
import { confirmSeconds } from "../config/ids.js";
import { InstallRequestSchema } from "../update/attempt.js";

export const ControlRequestSchema = z.discriminatedUnion("cmd", [
  z.strictObject({ cmd: z.literal("status") }),
  z.strictObject({ cmd: z.literal("health") }),
  z.strictObject({
    cmd: z.literal("config.show"),
    revision: z.number().int().min(1).optional(),
    /** Answer { revision, config } instead of the config alone. */
    withRevision: z.boolean().optional(),
  }),
  z.strictObject({ cmd: z.literal("config.history") }),
  z.strictObject({ cmd: z.literal("config.diff"), from: z.number().int().min(0), to: z.number().int().min(0).optional() }),
  z.strictObject({
    cmd: z.literal("config.apply"),
    config: z.unknown(),
    by: z.string().max(128),
    message: z.string().max(1024).optional(),
    confirmSec: confirmSeconds.optional(),
    /** The revision the change was made from; refused if the box has moved on since. */
    baseRevision: z.number().int().min(0).optional(),
  }),
  z.strictObject({
    cmd: z.literal("config.set"),
    /** A dotted path into the running configuration (config/set-path.ts) and its new value. */
    key: z.string().min(1).max(256),
    value: z.unknown(),
    by: z.string().max(128),
    message: z.string().max(1024).optional(),
    confirmSec: confirmSeconds.optional(),
  }),
  z.strictObject({ cmd: z.literal("config.confirm"), by: z.string().max(128) }),
  z.strictObject({ cmd: z.literal("config.rollback"), revision: z.number().int().min(1), by: z.string().max(128) }),
  z.strictObject({ cmd: z.literal("reboot"), by: z.string().max(128) }),
  InstallRequestSchema.extend({ cmd: z.literal("update.install"), by: z.string().max(128) }),
  z.strictObject({ cmd: z.literal("factory-reset"), mode: z.enum(["provisioned", "full"]), by: z.string().max(128) }),
]);
export type ControlRequest = z.infer<typeof ControlRequestSchema>;

export type ControlResponse = { ok: true; data: unknown } | { ok: false; error: string; detail?: unknown };
