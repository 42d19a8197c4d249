// gate64 fleet ...: run many boxes from one broker (docs/protocol.md). One verb per module, loaded
// when used; the flags are one schema (common.ts), parsed before anything is sent.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { Operator, type OperatorConfig, OperatorConfigSchema } from "../../../fleet/operator.js";
import { protocolJsonSchema } from "../../../fleet/protocol.js";
import { type CommandContext, parseFlags } from "../../command.js";
import { CliError, EXIT, UsageError } from "../../errors.js";
import { FLAGS, type Flags, type Verb } from "./common.js";
import { usage } from "./usage.js";

export { usage };

const VERBS: Record<string, () => Promise<{ run: Verb }>> = {
  ls: () => import("./ls.js"),
  status: () => import("./status.js"),
  watch: () => import("./watch.js"),
  config: () => import("./config.js"),
  rollout: () => import("./rollout.js"),
  update: () => import("./update.js"),
  cmd: () => import("./cmd.js"),
  shell: () => import("./shell.js"),
  decommission: () => import("./decommission.js"),
  dashboard: () => import("./dashboard.js"),
};

export function operatorConfig(flags: Flags): OperatorConfig {
  const file = flags.fleet ?? process.env.GATE64_FLEET ?? join(homedir(), ".config/gate64/fleet.json");
  let base: Record<string, unknown> = {};
  try {
    base = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (e) {
    if (flags.fleet !== undefined || flags.url === undefined)
      throw new CliError(`cannot read the fleet settings ${file}: ${(e as Error).message}`, EXIT.usage);
  }
  const merged = {
    ...base,
    ...(flags.url ? { url: flags.url } : {}),
    ...(flags.ca ? { ca: flags.ca } : {}),
    ...(flags.credentials ? { credentialsFile: flags.credentials } : {}),
    ...(flags.mqtt ? { protocolVersion: Number(flags.mqtt) } : {}),
    ...(flags.prefix ? { topicPrefix: flags.prefix } : {}),
  };
  const r = OperatorConfigSchema.safeParse(merged);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new CliError(`fleet settings: ${i?.path.join(".") || "(file)"}: ${i?.message}`, EXIT.invalid);
  }
  return r.data;
}

export async function run({ args, out }: CommandContext): Promise<number> {
  const { flags, positionals } = parseFlags(args, FLAGS, usage);
  const [sub, ...rest] = positionals;
  if (sub === undefined) throw new UsageError(usage);
  if (sub === "help") {
    out.print(usage);
    return EXIT.ok;
  }
  if (sub === "schema") {
    out.data(protocolJsonSchema());
    return EXIT.ok;
  }
  const load = VERBS[sub];
  if (load === undefined) throw new UsageError(`unknown fleet command "${sub}"\n\n${usage}`);
  const verb = await load();
  const config = operatorConfig(flags);
  let op: Operator;
  try {
    op = await Operator.connect(config);
  } catch (e) {
    throw new CliError(`cannot reach the broker ${config.url}: ${(e as Error).message}`, EXIT.unavailable);
  }
  try {
    return await verb.run(op, rest, flags, out);
  } finally {
    await op.close();
  }
}
