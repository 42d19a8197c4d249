// gate64 fleet ...: run many boxes from one broker (docs/protocol.md). Connection settings come
// from --fleet FILE, $GATE64_FLEET or ~/.config/gate64/fleet.json, overridden by --url, --ca,
// --credentials, --mqtt 4|5 and --prefix.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type DeviceView, Operator, type OperatorConfig, OperatorConfigSchema } from "../../fleet/operator.js";
import { COMMAND_NAMES, type CommandName, isOnline, protocolJsonSchema, type Response } from "../../fleet/protocol.js";
import { rollout } from "../../fleet/rollout.js";
import { statusColour } from "../device.js";
import { CliError, EXIT, UsageError } from "../errors.js";
import type { CommandContext } from "../main.js";
import type { Output } from "../output.js";

const USAGE = `usage: gate64 fleet <command> [--fleet FILE] [--url URL] [--ca FILE] [--credentials FILE] [--mqtt 4|5] [--json]

  ls [--group G]                          every box: availability, health, revisions, firmware
  status DEVICE                           one box: state, health probes, last report
  watch [DEVICE] [--telemetry] [--share NAME]
                                          stream changes (shared subscription with --share)
  config get DEVICE [--revision N]        the config a box runs (or an earlier revision)
  config set DEVICE|--group G FILE [--wait SEC]
                                          publish a desired config and wait for the report(s)
  rollout FILE --group G [--canary N] [--batch M] [--timeout SEC]
                                          canaries first, then batches; stops at the first failure
  cmd DEVICE NAME [JSON-ARGS]             run a command (${COMMAND_NAMES.join(", ")})
  shell DEVICE                            remote terminal (when the box enables it)
  decommission DEVICE                     tell the box to leave and clear its retained topics
  schema                                  JSON Schema of every protocol message`;

const OPTIONS = {
  fleet: { type: "string" },
  url: { type: "string" },
  ca: { type: "string" },
  credentials: { type: "string" },
  mqtt: { type: "string" },
  prefix: { type: "string" },
  group: { type: "string" },
  revision: { type: "string" },
  wait: { type: "string", default: "60" },
  canary: { type: "string", default: "1" },
  batch: { type: "string", default: "50" },
  timeout: { type: "string", default: "120" },
  telemetry: { type: "boolean", default: false },
  share: { type: "string" },
} as const;
type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

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

function readConfigFile(path: string | undefined): unknown {
  if (path === undefined) throw new UsageError("a config file is required");
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message}`, EXIT.invalid);
  }
}

export async function run({ args, out }: CommandContext): Promise<number> {
  const { values: flags, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  const [sub, ...rest] = positionals;
  if (sub === undefined || sub === "help") {
    out.print(USAGE);
    return sub === undefined ? EXIT.usage : EXIT.ok;
  }
  if (sub === "schema") {
    out.data(protocolJsonSchema());
    return EXIT.ok;
  }
  const config = operatorConfig(flags);
  let op: Operator;
  try {
    op = await Operator.connect(config);
  } catch (e) {
    throw new CliError(`cannot reach the broker ${config.url}: ${(e as Error).message}`, EXIT.unavailable);
  }
  try {
    return await dispatch(op, sub, rest, flags, out);
  } finally {
    await op.close();
  }
}

async function dispatch(op: Operator, sub: string, rest: string[], flags: Flags, out: Output): Promise<number> {
  const device = rest[0];
  const need = (what: string | undefined, name: string) => {
    if (what === undefined) throw new UsageError(`${name} is required\n\n${USAGE}`);
    return what;
  };
  switch (sub) {
    case "ls":
      return list(op, flags.group, out);
    case "status":
      return status(op, need(device, "DEVICE"), out);
    case "watch":
      return watch(op, device, flags, out);
    case "config":
      return configCmd(op, rest, flags, out);
    case "rollout": {
      const r = await rollout(op, {
        group: need(flags.group, "--group"),
        config: readConfigFile(rest[0]),
        canary: Number(flags.canary),
        batch: Number(flags.batch),
        timeoutMs: Number(flags.timeout) * 1000,
        ...(flags.revision ? { revision: Number(flags.revision) } : {}),
        onEvent: (l) => (out.json ? undefined : out.print(l)),
      });
      if (out.json) out.data(r);
      if (r.failed) out.error(`rollout stopped in wave ${r.failed.wave} at ${r.failed.device}: ${r.failed.status}: ${r.failed.reason}`);
      return r.failed ? EXIT.failure : EXIT.ok;
    }
    case "cmd": {
      const name = need(rest[1], "NAME") as CommandName;
      if (!COMMAND_NAMES.includes(name)) throw new UsageError(`unknown command "${name}" (one of: ${COMMAND_NAMES.join(", ")})`);
      let cmdArgs: unknown = {};
      if (rest[2] !== undefined) {
        try {
          cmdArgs = JSON.parse(rest[2]);
        } catch (e) {
          throw new UsageError(`JSON-ARGS: ${(e as Error).message}`);
        }
      }
      return respond(out, await ask(op, need(device, "DEVICE"), name, cmdArgs, Number(flags.timeout) * 1000));
    }
    case "shell":
      return (await import("./fleet-shell.js")).shell(op, need(device, "DEVICE"), out);
    case "decommission": {
      const d = need(device, "DEVICE");
      const r = await op.request(d, "decommission", {}, 10_000).catch(() => null);
      await op.clearRetained(d);
      out.print(r?.ok ? `${d}: left the fleet; retained topics cleared` : `${d}: did not answer (offline?); retained topics cleared`);
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown fleet command "${sub}"\n\n${USAGE}`);
  }
}

async function ask(op: Operator, device: string, name: CommandName, args: unknown, timeoutMs: number): Promise<Response> {
  try {
    return await op.request(device, name, args, timeoutMs);
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.unavailable);
  }
}

function respond(out: Output, r: Response): number {
  if (r.ok) {
    out.data(r.result);
    return EXIT.ok;
  }
  out.error(`${r.error.code}${r.error.field ? ` (${r.error.field})` : ""}: ${r.error.message}`);
  if (out.json) out.data(r);
  return r.error.code === "invalid" || r.error.code === "stale" ? EXIT.invalid : EXIT.failure;
}

function row(id: string, v: DeviceView): string[] {
  const s = v.state;
  return [
    id,
    v.availability ?? "-",
    s?.health ?? "-",
    String(s?.revision ?? "-"),
    String(s?.desiredRevision ?? "-"),
    v.reported?.status ?? "-",
    s?.firmware ?? "-",
  ];
}

async function list(op: Operator, group: string | undefined, out: Output): Promise<number> {
  const views = [...(await op.inventory())]
    .filter(([, v]) => group === undefined || v.state?.groups.includes(group))
    .sort(([a], [b]) => a.localeCompare(b));
  if (out.json) {
    out.data(Object.fromEntries(views));
    return EXIT.ok;
  }
  const rows = [["DEVICE", "AVAILABILITY", "HEALTH", "REVISION", "DESIRED", "REPORTED", "FIRMWARE"], ...views.map(([id, v]) => row(id, v))];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  for (const r of rows)
    out.print(
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    );
  out.print(`${views.length} device(s), ${views.filter(([, v]) => isOnline(v.availability)).length} online`);
  return EXIT.ok;
}

async function status(op: Operator, device: string, out: Output): Promise<number> {
  const v = (await op.inventory({ device })).get(device);
  if (v === undefined) throw new CliError(`${device}: nothing retained on the broker (unknown or decommissioned)`, EXIT.failure);
  if (out.json) {
    out.data(v);
    return EXIT.ok;
  }
  const s = v.state;
  out.print(`device     ${device}   ${v.availability ?? "-"}   firmware ${s?.firmware ?? "-"}   booted ${s?.bootedAt ?? "-"}`);
  out.print(
    `config     revision ${s?.revision ?? "-"}, desired ${s?.desiredRevision ?? "-"}${s?.awaitingConfirmation ? `, ${s.awaitingConfirmation} awaits confirmation` : ""}`,
  );
  if (v.reported)
    out.print(
      `reported   desired ${v.reported.desiredRevision} from ${v.reported.source}: ${v.reported.status}${v.reported.reason ? ` (${v.reported.reason})` : ""}`,
    );
  out.print(`addresses  LAN ${s?.addresses.lan ?? "-"}   WAN ${s?.addresses.wanIPv4 ?? "-"}`);
  out.print(`shell      ${s?.shell.enabled ? `enabled, ${s.shell.sessions.length} session(s)` : "disabled"}`);
  out.print(`health     ${statusColour(v.health?.status ?? "unknown")} at ${v.health?.checkedAt ?? "-"}`);
  for (const p of v.health?.probes ?? []) out.print(`  ${statusColour(p.status).padEnd(8)} ${p.name.padEnd(12)} ${p.detail}`);
  return v.health?.status === "failed" ? EXIT.failure : EXIT.ok;
}

async function watch(op: Operator, device: string | undefined, flags: Flags, out: Output): Promise<number> {
  await op.watch(
    (e) => {
      if (out.json) process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), ...e })}\n`);
      else out.print(`${new Date().toISOString()} ${e.device.padEnd(16)} ${e.kind.padEnd(12)} ${summary(e.kind, e.value)}`);
    },
    { ...(device ? { device } : {}), ...(flags.share ? { share: flags.share } : {}), telemetry: flags.telemetry ?? false },
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
    op.client.once("close", resolve);
  });
  return EXIT.ok;
}

function summary(kind: string, v: unknown): string {
  const o = v as Record<string, unknown>;
  switch (kind) {
    case "availability":
      return String(v);
    case "state":
      return `revision ${o.revision} desired ${o.desiredRevision} health ${o.health}`;
    case "health":
      return String(o.status);
    case "reported":
      return `desired ${o.desiredRevision} ${o.status}${o.reason ? ` (${o.reason})` : ""}`;
    default:
      return JSON.stringify(v);
  }
}

async function configCmd(op: Operator, rest: string[], flags: Flags, out: Output): Promise<number> {
  const [verb, ...more] = rest;
  if (verb === "get") {
    const device = more[0];
    if (device === undefined) throw new UsageError("config get DEVICE");
    return respond(out, await ask(op, device, "config.get", flags.revision ? { revision: Number(flags.revision) } : {}, 15_000));
  }
  if (verb !== "set") throw new UsageError(`config get|set ...\n\n${USAGE}`);
  const [target, file] = flags.group ? [undefined, more[0]] : [more[0], more[1]];
  const config = readConfigFile(file);
  const waitMs = Number(flags.wait) * 1000;
  let members: string[];
  if (flags.group) {
    members = [...(await op.inventory())]
      .filter(([, v]) => v.state?.groups.includes(flags.group as string) && isOnline(v.availability))
      .map(([d]) => d);
  } else {
    if (target === undefined) throw new UsageError("config set DEVICE FILE");
    members = [target];
  }
  const revision = flags.revision ? Number(flags.revision) : Date.now();
  const reports = op.waitReported(members, revision, waitMs, (d, r) => {
    if (!out.json)
      out.print(
        `${d}: ${statusColour(r.status === "applied" || r.status === "unchanged" ? "ok" : "failed")} ${r.status}${r.reason ? ` (${r.reason})` : ""}${r.problems ? ` ${r.problems.map((p) => `${p.field}: ${p.reason}`).join("; ")}` : ""}`,
      );
  });
  await op.setDesired(flags.group ? { group: flags.group } : { device: target as string }, config, { revision });
  if (!out.json)
    out.print(`desired revision ${revision} published to ${flags.group ? `group ${flags.group} (${members.length} online)` : target}`);
  const got = await reports;
  if (out.json) out.data({ revision, reports: Object.fromEntries(got) });
  const missing = members.filter((m) => !got.has(m));
  if (missing.length > 0) out.error(`no report within ${flags.wait} s from: ${missing.join(", ")}`);
  const bad = [...got.values()].filter((r) => r.status === "refused" || r.status === "reverted");
  return bad.length > 0 ? EXIT.invalid : missing.length > 0 ? EXIT.unavailable : EXIT.ok;
}
