// gate64 config ...: validate, render or describe a config file (no device needed), and show or
// change the box's configuration through its agent.

import { spawnSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { keyParts } from "../../config/set-path.js";
import type { Validation } from "../../config/validate.js";
import type { ShownRevision } from "../../device/replies.js";
import { PATHS } from "../../paths.js";
import type { CommandContext } from "../command.js";
import { ask, reportApply, statusColour, who } from "../device.js";
import { CliError, EXIT, UsageError } from "../errors.js";
import { colour } from "../output.js";

export const usage = `usage:
  gate64 config validate FILE [--json]
  gate64 config render FILE --out DIR [--device-id ID] [--wan-ipv4 ADDR]
  gate64 config schema
on the box (through the agent):
  gate64 config show [REVISION]
  gate64 config history
  gate64 config diff FROM [TO]
  gate64 config set KEY VALUE [--confirm SECONDS]     e.g. config set dns64.upstreams '["192.0.2.53"]'
  gate64 config apply FILE [--confirm SECONDS]
  gate64 config edit [--confirm SECONDS]              opens $EDITOR (nano), applies on save
  gate64 config confirm
  gate64 config rollback REVISION`;

/**
 * Reads and checks a config file; refused with `refusal` (given the problems as text). The schema,
 * rules and renderers load only in the subcommands that read a file: evaluating them is about
 * half a second of `gate64 config show` or `set` on the TCG lab VM.
 */
async function readConfig(
  file: string | undefined,
  refusal = (problems: string) => `${file} is not a valid configuration:\n${problems}`,
): Promise<Validation & { ok: true }> {
  if (file === undefined) throw new UsageError(`missing FILE\n${usage}`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.invalid);
  }
  const [{ validateConfigText }, { formatProblems }] = await Promise.all([
    import("../../config/parse-text.js"),
    import("../../config/validate.js"),
  ]);
  const v = validateConfigText(text);
  if (!v.ok) throw new CliError(refusal(formatProblems(v.problems)), EXIT.invalid, { problems: v.problems });
  return v;
}

async function validate({ args, out }: CommandContext): Promise<number> {
  const file = args[0];
  const v = await readConfig(file);
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

/**
 * Whether there are flags to read. The flag parser and the schemas of the flags' values load zod,
 * which takes about 0.2 s of a console command's start on the TCG lab VM: `config show`, `set`
 * and the others that talk to the agent load it only when a flag is given.
 */
const anyFlag = (args: readonly string[]) => args.some((a) => a.startsWith("-"));

async function render({ args, out }: CommandContext): Promise<number> {
  const [{ z }, { parseFlags }] = await Promise.all([import("zod"), import("../command.js")]);
  const { flags: values, positionals } = parseFlags(
    args,
    { out: z.string().optional(), "device-id": z.string().optional(), "wan-ipv4": z.string().optional() },
    usage,
  );
  const file = positionals[0];
  if (values.out === undefined) throw new UsageError(`missing --out DIR\n${usage}`);
  const v = await readConfig(file);
  const facts = {
    deviceId: values["device-id"] ?? "unprovisioned",
    ...(values["wan-ipv4"] === undefined ? {} : { wanIPv4: values["wan-ipv4"] }),
  };
  const { renderAll } = await import("../../render/index.js");
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
  const { configJsonSchema } = await import("../../config/json-schema.js");
  out.data(configJsonSchema());
  return EXIT.ok;
}

/** --confirm SECONDS; the other arguments are left in place. */
async function confirmSec(args: string[]): Promise<number | undefined> {
  if (!anyFlag(args)) return undefined;
  const [{ intFlag, parseFlags }, { CONFIRM_RANGE }] = await Promise.all([import("../command.js"), import("../../config/ids.js")]);
  const { flags, positionals } = parseFlags(args, { confirm: intFlag(CONFIRM_RANGE.min, CONFIRM_RANGE.max).optional() }, usage);
  args.splice(0, args.length, ...positionals);
  return flags.confirm;
}

function revisionArg(text: string | undefined, name: string): number {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a revision number\n${usage}`);
  return n;
}

async function show({ args, out }: CommandContext): Promise<number> {
  const data = await ask({ cmd: "config.show", ...(args[0] === undefined ? {} : { revision: revisionArg(args[0], "REVISION") }) });
  out.data(data);
  return EXIT.ok;
}

async function history({ out }: CommandContext): Promise<number> {
  const list = await ask({ cmd: "config.history" });
  if (out.json) out.data(list);
  else
    for (const r of list)
      out.print(
        `${String(r.revision).padStart(4)}  ${r.at}  ${statusColour(r.outcome).padEnd(10)} ${r.by}${r.message ? `: ${r.message}` : ""}${r.reason ? colour.dim(` (${r.reason.split("\n")[0]})`) : ""}`,
      );
  return EXIT.ok;
}

async function diff({ args, out }: CommandContext): Promise<number> {
  const lines = await ask({
    cmd: "config.diff",
    from: revisionArg(args[0], "FROM"),
    ...(args[1] === undefined ? {} : { to: revisionArg(args[1], "TO") }),
  });
  if (out.json) out.data(lines);
  else for (const l of lines) out.print(l.startsWith("+") ? colour.ok(l) : colour.bad(l));
  return EXIT.ok;
}

async function set({ args, out }: CommandContext): Promise<number> {
  const confirm = await confirmSec(args);
  const [key, text] = args;
  if (key === undefined || text === undefined) throw new UsageError(`config set needs KEY and VALUE\n${usage}`);
  try {
    keyParts(key);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // a bare word is a string
  }
  // The agent changes its running configuration: reading and changing it are one request.
  const r = await ask({ cmd: "config.set", key, value, by: who(), message: `set ${key}`, ...(confirm ? { confirmSec: confirm } : {}) });
  return reportApply(out, r);
}

/** Hands a config to the agent's transactional apply and reports the outcome. */
async function applyThroughAgent(
  out: CommandContext["out"],
  config: unknown,
  message: string,
  confirm: number | undefined,
  baseRevision?: number,
): Promise<number> {
  const r = await ask({
    cmd: "config.apply",
    config,
    by: who(),
    message,
    ...(confirm ? { confirmSec: confirm } : {}),
    ...(baseRevision === undefined ? {} : { baseRevision }),
  });
  return reportApply(out, r);
}

async function apply({ args, out }: CommandContext): Promise<number> {
  const confirm = await confirmSec(args);
  const file = args[0];
  if (file === undefined) throw new UsageError(`config apply needs FILE\n${usage}`);
  await readConfig(file);
  return applyThroughAgent(out, JSON.parse(await readFile(file, "utf8")), `apply ${file}`, confirm);
}

/** Opens the running config in $EDITOR (nano on the box) and applies what is saved. */
async function edit({ args, out }: CommandContext): Promise<number> {
  const confirm = await confirmSec(args);
  const draft = join(PATHS.run, "edit.json");
  const { revision, config: current } = (await ask({ cmd: "config.show", withRevision: true })) as ShownRevision;
  await writeFile(draft, `${JSON.stringify(current, null, 2)}\n`, { mode: 0o600 });
  const editor = process.env.VISUAL ?? process.env.EDITOR ?? "nano";
  const r = spawnSync(editor, [draft], { stdio: "inherit" });
  if (r.error || r.status !== 0)
    throw new CliError(`${editor} did not finish (${r.error?.message ?? `exit ${r.status}`}); nothing applied`, EXIT.failure);
  await readConfig(
    draft,
    (problems) => `nothing applied; your edit is kept in ${draft}:\n${problems}\nfix it and run: gate64 config apply ${draft}`,
  );
  const text = await readFile(draft, "utf8");
  if (JSON.stringify(JSON.parse(text)) === JSON.stringify(current)) {
    out.print("no change");
    return EXIT.ok;
  }
  return applyThroughAgent(out, JSON.parse(text), "edit", confirm, revision);
}

async function confirmCmd({ out }: CommandContext): Promise<number> {
  return reportApply(out, await ask({ cmd: "config.confirm", by: who() }));
}

async function rollback({ args, out }: CommandContext): Promise<number> {
  return reportApply(out, await ask({ cmd: "config.rollback", revision: revisionArg(args[0], "REVISION"), by: who() }));
}

const SUBCOMMANDS: Record<string, (ctx: CommandContext) => Promise<number>> = {
  validate,
  render,
  schema,
  show,
  history,
  diff,
  set,
  apply,
  edit,
  confirm: confirmCmd,
  rollback,
};

/** Subcommands that read flags themselves; the others take none. */
const WITH_FLAGS = new Set(["render", "set", "apply", "edit"]);

export async function run(ctx: CommandContext): Promise<number> {
  const [sub, ...args] = ctx.args;
  const fn = sub === undefined ? undefined : SUBCOMMANDS[sub];
  if (sub === undefined || fn === undefined)
    throw new UsageError(sub === undefined ? usage : `unknown config command "${sub}"\n\n${usage}`);
  if (WITH_FLAGS.has(sub) || !anyFlag(args)) return fn({ ...ctx, args });
  const { parseFlags } = await import("../command.js");
  return fn({ ...ctx, args: parseFlags(args, {}, usage).positionals });
}
