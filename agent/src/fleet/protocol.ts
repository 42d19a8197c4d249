// The fleet protocol over MQTT: topics and every payload, as zod schemas. docs/protocol.md
// describes it for people; `gate64 fleet schema` exports these as JSON Schema. Device and
// operator both parse what they receive with these schemas and nothing else.
import { z } from "zod";
import { confirmSeconds, deviceId, groupName } from "../config/ids.js";
import { HealthSchema } from "../observe/health.js";
import { InventorySchema } from "../observe/inventory.js";
import { LOG_UNITS, type LogUnit } from "../observe/journal.js";
import { InstallRequestSchema, UpdateStatusSchema } from "../update/attempt.js";

export const PROTOCOL_VERSION = 1;

/** Device ids come from provisioning: lowercase letters, digits and dashes, so "_groups" never collides. */
export const DeviceIdSchema = deviceId;
export const GroupSchema = groupName;

export const topics = (prefix: string) => {
  const root = (device: string) => `${prefix}/${device}`;
  return {
    root,
    availability: (d: string) => `${root(d)}/availability`,
    state: (d: string) => `${root(d)}/state`,
    health: (d: string) => `${root(d)}/health`,
    /** The hardware inventory, retained (observe/inventory.ts). */
    inventory: (d: string) => `${root(d)}/inventory`,
    telemetry: (d: string) => `${root(d)}/telemetry`,
    commands: (d: string) => `${root(d)}/commands`,
    /** Commands from one operator: the broker's ACL lets each write only under its own user name. */
    commandsFrom: (d: string, user: string) => `${root(d)}/commands/${user}`,
    /** Remote shell openings and closings, the last one retained. */
    audit: (d: string) => `${root(d)}/audit`,
    responses: (d: string) => `${root(d)}/responses`,
    desired: (d: string) => `${root(d)}/desired`,
    reported: (d: string) => `${root(d)}/reported`,
    shellIn: (d: string, session: string) => `${root(d)}/shell/${session}/in`,
    shellOut: (d: string, session: string) => `${root(d)}/shell/${session}/out`,
    groupDesired: (g: string) => `${prefix}/_groups/${g}/desired`,
    /** Retained topics of a device, cleared when it is decommissioned. */
    retained: (d: string) => [
      `${root(d)}/availability`,
      `${root(d)}/state`,
      `${root(d)}/health`,
      `${root(d)}/inventory`,
      `${root(d)}/desired`,
      `${root(d)}/reported`,
    ],
  };
};
export type Topics = ReturnType<typeof topics>;

/** Lifecycle like Homie's $state: init (connected, state not yet published), ready, disconnected (clean stop), lost (the will). */
export const AvailabilitySchema = z.enum(["init", "ready", "disconnected", "lost"]);
export type Availability = z.infer<typeof AvailabilitySchema>;
export const isOnline = (a: Availability | undefined) => a === "init" || a === "ready";

const timestamp = z.string().max(40);

export const ShellSessionSchema = z.strictObject({ session: z.string().max(64), by: z.string().max(128), openedAt: timestamp });

/** A remote shell opened or closed (topic audit, the last one retained). */
export const AuditSchema = z.strictObject({
  event: z.enum(["opened", "closed"]),
  session: z.string().max(64),
  /** The broker-attested user name that opened it. */
  by: z.string().max(128),
  at: timestamp,
  reason: z.string().max(256).optional(),
});
export type Audit = z.infer<typeof AuditSchema>;

export const StateSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  deviceId: DeviceIdSchema,
  firmware: z.string().max(128),
  /** The root slot this boot runs from (null on a box without update slots). */
  slot: z.enum(["a", "b"]).nullable(),
  /** The last firmware update and how far it got (null: none since the box was flashed). */
  update: UpdateStatusSchema.nullable(),
  revision: z.number().int().min(0).nullable(),
  awaitingConfirmation: z.number().int().nullable(),
  desiredRevision: z.number().int().min(0),
  health: z.enum(["ok", "degraded", "failed", "unknown"]),
  groups: z.array(GroupSchema),
  addresses: z.strictObject({ lan: z.string().max(64).nullable(), wanIPv4: z.string().max(64).nullable() }),
  bootedAt: timestamp,
  shell: z.strictObject({ enabled: z.boolean(), sessions: z.array(ShellSessionSchema) }),
  at: timestamp,
});
export type State = z.infer<typeof StateSchema>;

export { HealthSchema, InventorySchema };

export const TelemetrySchema = z.strictObject({
  at: timestamp,
  uptimeSec: z.number().int().min(0),
  health: z.enum(["ok", "degraded", "failed", "unknown"]),
  revision: z.number().int().nullable(),
  load1: z.number(),
  memAvailableBytes: z.number().int().nullable(),
  agentRssBytes: z.number().int(),
  /** Messages the outbox dropped while the broker was away, since boot. */
  dropped: z.number().int().min(0),
  /** Translator sessions now (all protocols); null where NAT64 is off or Jool cannot say. */
  nat64Sessions: z.number().int().min(0).nullable(),
  /** The fullest protocol's BIB as a share of its pool4 mappings (new flows drop at 100). */
  pool4UsePercent: z.number().min(0).nullable(),
  /** The WAN's byte counters since boot: throughput is the difference of two samples. */
  wanRxBytes: z.number().int().min(0).nullable(),
  wanTxBytes: z.number().int().min(0).nullable(),
  /** Queries CoreDNS answered since it started (a counter); null where DNS64 is off or down. */
  dnsQueries: z.number().int().min(0).nullable(),
  /** The hottest thermal zone, °C; null where the board has no sensors (a VM). */
  temperatureC: z.number().nullable(),
  /** dnsQueries per second since the box's previous sample (null for the first, or across a restart). */
  dnsQueriesPerSec: z.number().min(0).nullable(),
});
export type Telemetry = z.infer<typeof TelemetrySchema>;

/** Desired configuration, device topic or group topic, retained. The revision is the operator's and only grows. */
export const DesiredSchema = z.strictObject({
  revision: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  config: z.unknown(),
  by: z.string().max(128).default("fleet"),
  message: z.string().max(1024).optional(),
});
export type Desired = z.infer<typeof DesiredSchema>;

export const ProblemSchema = z.strictObject({ field: z.string(), reason: z.string() });

export const ReportedSchema = z.strictObject({
  desiredRevision: z.number().int().min(0),
  /** "device" or "group:<name>": which desired topic this answers. */
  source: z.string().max(80),
  status: z.enum(["applied", "unchanged", "refused", "reverted"]),
  /** The device's own config revision running after the attempt. */
  revision: z.number().int().nullable(),
  problems: z.array(ProblemSchema).optional(),
  reason: z.string().max(2048).optional(),
  at: timestamp,
});
export type Reported = z.infer<typeof ReportedSchema>;

const noArgs = z.strictObject({}).prefault({});
const by = z.string().max(128).optional();
export const CommandArgs = {
  ping: noArgs,
  health: noArgs,
  "config.get": z.strictObject({ revision: z.number().int().min(1).optional() }).prefault({}),
  "config.set": z.strictObject({
    config: z.unknown(),
    confirmSec: confirmSeconds.optional(),
    message: z.string().max(1024).optional(),
  }),
  "config.confirm": noArgs,
  "config.rollback": z.strictObject({ revision: z.number().int().min(1) }),
  reboot: noArgs,
  "logs.tail": z
    .strictObject({
      unit: z.enum(Object.keys(LOG_UNITS) as [LogUnit, ...LogUnit[]]).default("agent"),
      lines: z.number().int().min(1).max(1000).default(100),
    })
    .prefault({}),
  decommission: noArgs,
  "shell.open": z
    .strictObject({ cols: z.number().int().min(10).max(1000).default(80), rows: z.number().int().min(5).max(500).default(24) })
    .prefault({}),
  "shell.resize": z.strictObject({
    session: z.string().max(64),
    cols: z.number().int().min(10).max(1000),
    rows: z.number().int().min(5).max(500),
  }),
  "shell.close": z.strictObject({ session: z.string().max(64) }),
  /** Download (HTTP(S)), verify, install into the inactive slot and reboot; progress on state.update. */
  "update.install": InstallRequestSchema,
  /** Wipes /data back to the provisioned state (or unprovisioned with full) and reboots; confirm is the device id. */
  "factory-reset": z.strictObject({ confirm: z.string().max(64), full: z.boolean().default(false) }),
} as const;
export type CommandName = keyof typeof CommandArgs;
export const COMMAND_NAMES = Object.keys(CommandArgs) as CommandName[];

/** A command. Stale ones (now > deadline) are refused, not run. */
export const CommandSchema = z.strictObject({
  id: z.string().min(1).max(64),
  name: z.enum(COMMAND_NAMES as [CommandName, ...CommandName[]]),
  args: z.unknown().optional(),
  /** Milliseconds since the epoch. */
  deadline: z.number().int().min(0),
  /** For MQTT 3.1.1 (no response topic): where to answer, under this device's responses topic. */
  replyTo: z.string().max(512).optional(),
  by,
});
export type Command = z.infer<typeof CommandSchema>;

export const ErrorCodeSchema = z.enum(["invalid", "stale", "forbidden", "disabled", "busy", "failed"]);
export const ResponseSchema = z.discriminatedUnion("ok", [
  z.strictObject({ id: z.string().max(64), ok: z.literal(true), result: z.unknown() }),
  z.strictObject({
    id: z.string().max(64),
    ok: z.literal(false),
    error: z.strictObject({ code: ErrorCodeSchema, message: z.string(), field: z.string().optional() }),
  }),
]);
export type Response = z.infer<typeof ResponseSchema>;

/** Names each message schema for `gate64 fleet schema` and docs/protocol.md. */
export const MESSAGE_SCHEMAS = {
  availability: AvailabilitySchema,
  state: StateSchema,
  health: HealthSchema,
  inventory: InventorySchema,
  telemetry: TelemetrySchema,
  desired: DesiredSchema,
  reported: ReportedSchema,
  command: CommandSchema,
  response: ResponseSchema,
  audit: AuditSchema,
  ...Object.fromEntries(Object.entries(CommandArgs).map(([k, v]) => [`args:${k}`, v])),
} as Record<string, z.ZodType>;

export function protocolJsonSchema(): Record<string, unknown> {
  return {
    $id: "https://gate64.invalid/schema/fleet-protocol.json",
    title: "gate64 fleet protocol messages",
    version: PROTOCOL_VERSION,
    messages: Object.fromEntries(
      Object.entries(MESSAGE_SCHEMAS).map(([k, s]) => [k, z.toJSONSchema(s, { io: "input", unrepresentable: "any" })]),
    ),
  };
}

/**
 * The largest message a box takes: MQTT 5 connections tell the broker (Maximum Packet Size), and
 * every payload is measured before it is parsed. A config is at most 256 KiB of JSON.
 */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Parses JSON then a schema; the error names the field. */
export function parseMessage<T extends z.ZodType>(
  schema: T,
  payload: Buffer | string,
): { ok: true; value: z.infer<T> } | { ok: false; field: string; reason: string } {
  const size = typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
  if (size > MAX_MESSAGE_BYTES) return { ok: false, field: "(payload)", reason: `${size} bytes is more than ${MAX_MESSAGE_BYTES}` };
  let data: unknown;
  try {
    data = JSON.parse(payload.toString());
  } catch (e) {
    return { ok: false, field: "(payload)", reason: `not JSON: ${(e as Error).message}` };
  }
  const r = schema.safeParse(data);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  return { ok: false, field: issue?.path.length ? issue.path.join(".") : "(payload)", reason: issue?.message ?? "invalid" };
}
