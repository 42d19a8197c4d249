// What the fleet verbs share: the flags (one schema for all), asking a box and reading its answer.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { groupName } from "../../../config/ids.js";
import type { Operator } from "../../../fleet/operator.js";
import type { CommandName, Response } from "../../../fleet/protocol.js";
import { clean } from "../../../lib/terminal.js";
import { intFlag, switchFlag } from "../../command.js";
import { CliError, EXIT, UsageError } from "../../errors.js";
import type { Output } from "../../output.js";

export const FLAGS = {
  fleet: z.string().optional(),
  url: z.string().optional(),
  ca: z.string().optional(),
  credentials: z.string().optional(),
  mqtt: z.enum(["4", "5"], { message: "must be 4 or 5" }).optional(),
  prefix: z.string().optional(),
  group: groupName.optional(),
  revision: intFlag(1, Number.MAX_SAFE_INTEGER).optional(),
  wait: intFlag(1, 86400).default(60),
  canary: intFlag(0, 100_000).default(1),
  batch: intFlag(1, 100_000).default(50),
  /** Per verb: cmd and rollout wait 120 s, update 1800 s per wave. */
  timeout: intFlag(1, 86400).optional(),
  serve: z.string().optional(),
  "allow-downgrade": switchFlag,
  version: z.string().max(128).optional(),
  telemetry: switchFlag,
  share: groupName.optional(),
  listen: z.string().max(300).optional(),
  "token-file": z.string().optional(),
};
export type Flags = z.infer<z.ZodObject<typeof FLAGS>>;

/** A fleet verb: positionals after the verb, the parsed flags, a connected operator. */
export type Verb = (op: Operator, args: string[], flags: Flags, out: Output) => Promise<number>;

export function readConfigFile(path: string | undefined): unknown {
  if (path === undefined) throw new UsageError("a config FILE is required");
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message}`, EXIT.invalid);
  }
}

export async function ask(op: Operator, device: string, name: CommandName, args: unknown, timeoutMs: number): Promise<Response> {
  try {
    return await op.request(device, name, args, timeoutMs);
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.unavailable);
  }
}

/** Prints a box's answer (its error text cleaned of control characters) and returns the exit code. */
export function respond(out: Output, r: Response): number {
  if (r.ok) {
    out.data(r.result);
    return EXIT.ok;
  }
  out.error(clean(`${r.error.code}${r.error.field ? ` (${r.error.field})` : ""}: ${r.error.message}`));
  if (out.json) out.data(r);
  return r.error.code === "invalid" || r.error.code === "stale" ? EXIT.invalid : EXIT.failure;
}
