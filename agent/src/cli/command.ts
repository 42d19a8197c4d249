// What every CLI command is: a module with its usage text and a run function, and the one way
// flags are read: node's parseArgs for the syntax, then a zod schema for the values, so a bad flag
// exits 2 with a message naming it before anything is sent.
import { parseArgs } from "node:util";
import { z } from "zod";
import { UsageError } from "./errors.js";
import type { Output } from "./output.js";

export interface CommandContext {
  args: string[];
  out: Output;
}

export interface CommandModule {
  /** Printed by `--help`/`-h` (stdout, exit 0) and with usage errors. */
  usage: string;
  run(ctx: CommandContext): Promise<number>;
}

/** A whole number flag within limits ("--canary 2"). */
export const intFlag = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: "must be a whole number" })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { message: `must be at least ${min}` })
        .max(max, { message: `must be at most ${max}` }),
    );

/** A flag without a value ("--watch"). */
export const switchFlag = z.boolean().optional();

type Shape = Record<string, z.ZodType>;

/**
 * Parses `args` against a schema whose keys are the flag names (without "--"). Flags whose schema
 * accepts a boolean take no value. Unknown flags, missing values and bad values are usage errors.
 */
export function parseFlags<S extends Shape>(
  args: string[],
  shape: S,
  usage: string,
): { flags: z.infer<z.ZodObject<S>>; positionals: string[] } {
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const [name, schema] of Object.entries(shape))
    options[name] = { type: (schema as z.ZodType).safeParse(true).success ? "boolean" : "string" };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    // node's messages name the flag: "Unknown option '--canry'", "Option '--canary <value>' argument missing".
    throw new UsageError(`${(e as Error).message.split(". ")[0]}\n\n${usage}`);
  }
  const r = z.strictObject(shape).safeParse(parsed.values);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new UsageError(`--${String(issue?.path[0] ?? "?")}: ${issue?.message ?? "invalid"}\n\n${usage}`);
  }
  return { flags: r.data as z.infer<z.ZodObject<S>>, positionals: parsed.positionals };
}

/** Needs one positional argument; names it when it is missing. */
export function need(value: string | undefined, name: string, usage: string): string {
  if (value === undefined) throw new UsageError(`${name} is required\n\n${usage}`);
  return value;
}
