// gate64 config validate|render|schema: work on a config file, no device needed.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { configJsonSchema } from "../../config/json-schema.js";
import { validateConfigText } from "../../config/parse-text.js";
import { formatProblems, type Validation } from "../../config/validate.js";
import { renderAll } from "../../render/index.js";
import { CliError, EXIT, UsageError } from "../errors.js";
import type { CommandContext } from "../main.js";
import { colour } from "../output.js";

const USAGE = `usage:
  gate64 config validate FILE [--json]
  gate64 config render FILE --out DIR [--device-id ID] [--wan-ipv4 ADDR]
  gate64 config schema`;

async function readConfig(file: string | undefined): Promise<Validation> {
  if (file === undefined) throw new UsageError(`missing FILE\n${USAGE}`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.invalid);
  }
  return validateConfigText(text);
}

function refuse(v: Validation & { ok: false }, file: string): never {
  throw new CliError(`${file} is not a valid configuration:\n${formatProblems(v.problems)}`, EXIT.invalid, { problems: v.problems });
}

async function validate({ args, out }: CommandContext): Promise<number> {
  const file = args[0];
  const v = await readConfig(file);
  if (!v.ok) refuse(v, file as string);
  if (out.json) {
    out.data({ ok: true, warnings: v.warnings, capacity: v.capacity });
    return EXIT.ok;
  }
  out.print(`${colour.ok("valid")} ${file}`);
  for (const w of v.warnings) out.print(`${colour.warn("warning")} ${w.path}: ${w.message}`);
  for (const c of v.capacity)
    out.print(colour.dim(`pool4 ${c.protocol}: ${c.mappings} mappings, ~${c.sustainedPerSec} new flows/s sustained`));
  return EXIT.ok;
}

async function render({ args, out }: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: "string" }, "device-id": { type: "string" }, "wan-ipv4": { type: "string" } },
  });
  const file = positionals[0];
  if (values.out === undefined) throw new UsageError(`missing --out DIR\n${USAGE}`);
  const v = await readConfig(file);
  if (!v.ok) refuse(v, file as string);
  const facts = {
    deviceId: values["device-id"] ?? "unprovisioned",
    ...(values["wan-ipv4"] === undefined ? {} : { wanIPv4: values["wan-ipv4"] }),
  };
  const files = renderAll(v.config, facts);
  for (const [rel, text] of Object.entries(files)) {
    const path = join(values.out, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  }
  if (out.json) out.data({ ok: true, files: Object.keys(files) });
  else out.print(`rendered ${Object.keys(files).length} files into ${values.out}`);
  return EXIT.ok;
}

async function schema({ out }: CommandContext): Promise<number> {
  out.data(configJsonSchema());
  return EXIT.ok;
}

const SUBCOMMANDS: Record<string, (ctx: CommandContext) => Promise<number>> = { validate, render, schema };

export async function run(ctx: CommandContext): Promise<number> {
  const [sub, ...args] = ctx.args;
  const fn = sub === undefined ? undefined : SUBCOMMANDS[sub];
  if (fn === undefined) throw new UsageError(USAGE);
  return fn({ ...ctx, args });
}
