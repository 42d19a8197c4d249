// The operator's side of the fleet protocol, used by `gate64 fleet`, the simulator's bench and
// the tests: inventory from retained topics, commands with responses, desired configs and
// waiting for the reports that say they converged.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from "mqtt";
import { z } from "zod";
import { isLoopbackHost, mqttUrl } from "../config/ids.js";
import { connectionOptions, parseCredentials } from "./mqtt-options.js";
import {
  type Availability,
  AvailabilitySchema,
  type CommandName,
  HealthSchema,
  InventorySchema,
  parseMessage,
  type Reported,
  ReportedSchema,
  type Response,
  ResponseSchema,
  type State,
  StateSchema,
  type Topics,
  topics,
} from "./protocol.js";

/**
 * A wave of up to this many boxes waits on their own report topics (one SUBSCRIBE of that many
 * filters, about 30 bytes each); a larger one on the wildcard.
 */
const WAVE_TOPICS = 1000;

export const OperatorConfigSchema = z.strictObject({
  url: mqttUrl,
  ca: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  /** JSON file with {"username", "password"}. */
  credentialsFile: z.string().optional(),
  protocolVersion: z.union([z.literal(5), z.literal(4)]).default(5),
  topicPrefix: z.string().default("gate64"),
  /** Plain MQTT to a broker that is not on loopback must be asked for, as on the box. */
  allowPlaintext: z.boolean().default(false),
  clientId: z.string().max(64).optional(),
});
export type OperatorConfig = z.infer<typeof OperatorConfigSchema>;

export interface DeviceView {
  availability?: Availability;
  state?: State;
  health?: z.infer<typeof HealthSchema>;
  inventory?: z.infer<typeof InventorySchema>;
  reported?: Reported;
}

export type FleetEvent = {
  device: string;
  kind: "availability" | "state" | "health" | "inventory" | "reported" | "telemetry";
  value: unknown;
};

export function operatorClientOptions(c: OperatorConfig): IClientOptions {
  const url = new URL(c.url);
  const tls = url.protocol === "mqtts:";
  if (!tls && !c.allowPlaintext && !isLoopbackHost(url.hostname))
    throw new Error(`url: plain MQTT to ${url.hostname} is refused; use mqtts:// or set allowPlaintext`);
  return {
    ...connectionOptions(c.url, c.protocolVersion, c.clientId ?? `gate64-op-${randomBytes(4).toString("hex")}`, {
      ...(c.credentialsFile ? { credentials: parseCredentials(c.credentialsFile, readFileSync(c.credentialsFile, "utf8")) } : {}),
      ...(c.ca ? { ca: readFileSync(c.ca) } : {}),
      ...(c.cert && c.key ? { cert: readFileSync(c.cert), key: readFileSync(c.key) } : {}),
    }),
    reconnectPeriod: 0,
  };
}

export class Operator {
  readonly t: Topics;
  private readonly pending = new Map<string, (r: Response) => void>();
  private readonly listeners = new Set<(e: FleetEvent) => void>();
  private readonly rawListeners = new Set<(topic: string, payload: Buffer) => void>();
  private inflight = 0;
  private readonly waiting: (() => void)[] = [];
  private receiveMaximum = 65535;
  /** Users of each topic filter: one user's unsubscribe must not end another's (a dashboard's watch during a rollout). */
  private readonly filterUsers = new Map<string, number>();

  private constructor(
    readonly client: MqttClient,
    readonly config: OperatorConfig,
  ) {
    this.t = topics(config.topicPrefix);
    client.on("message", (topic, payload) => this.route(topic, payload));
  }

  static async connect(config: OperatorConfig): Promise<Operator> {
    const opts = operatorClientOptions(config);
    const client = mqtt.connect(opts);
    const connack = await new Promise<IConnackPacket>((resolve, reject) => {
      client.once("connect", (packet) => resolve(packet));
      client.once("error", (e) => {
        client.end(true);
        reject(e);
      });
    });
    const op = new Operator(client, { ...config, clientId: opts.clientId as string });
    // mqtt.js does not honour the broker's Receive Maximum for its own QoS 1 publishes: we do.
    const rm = connack.properties?.receiveMaximum;
    if (typeof rm === "number" && rm > 0) op.receiveMaximum = rm;
    await client.subscribeAsync(op.responseTopic("+"), { qos: 1 });
    return op;
  }

  get clientId(): string {
    return this.config.clientId as string;
  }

  /** The user name this operator logs in with: commands go under it, so the box knows who sent them. */
  get username(): string | undefined {
    return (this.client.options.username as string | undefined) || undefined;
  }

  responseTopic(device: string): string {
    return `${this.t.responses(device)}/${this.clientId}`;
  }

  /** QoS 1 publish within the broker's Receive Maximum. */
  async publish(topic: string, payload: string | Buffer, opts: { retain?: boolean; properties?: Record<string, unknown> } = {}) {
    while (this.inflight >= this.receiveMaximum) await new Promise<void>((r) => this.waiting.push(r));
    this.inflight++;
    try {
      await this.client.publishAsync(topic, payload, {
        qos: 1,
        retain: opts.retain ?? false,
        ...(opts.properties ? { properties: opts.properties } : {}),
      });
    } finally {
      this.inflight--;
      this.waiting.shift()?.();
    }
  }

  private route(topic: string, payload: Buffer): void {
    for (const l of this.rawListeners) l(topic, payload);
    const prefix = `${this.config.topicPrefix}/`;
    if (!topic.startsWith(prefix)) return;
    const [device, kind, ...rest] = topic.slice(prefix.length).split("/");
    if (device === undefined || kind === undefined) return;
    if (kind === "responses" && rest.length === 1) {
      const r = parseMessage(ResponseSchema, payload);
      if (r.ok) this.pending.get(r.value.id)?.(r.value);
      return;
    }
    if (rest.length > 0 || this.listeners.size === 0) return;
    const value = decode(kind, payload);
    if (value === undefined) return;
    for (const l of this.listeners) l({ device, kind: kind as FleetEvent["kind"], value });
  }

  /**
   * Subscribes for one more user of each filter. The SUBSCRIBE always goes out: the broker then
   * sends the filter's retained messages again, which a new user needs even when the filter is
   * already subscribed.
   */
  async subscribe(filters: string[]): Promise<void> {
    for (const f of filters) this.filterUsers.set(f, (this.filterUsers.get(f) ?? 0) + 1);
    await this.client.subscribeAsync(filters, { qos: 1 });
  }

  /** Ends one user's interest; the broker hears UNSUBSCRIBE only for filters nobody uses any more. */
  async unsubscribe(filters: string[]): Promise<void> {
    const unused: string[] = [];
    for (const f of filters) {
      const n = (this.filterUsers.get(f) ?? 1) - 1;
      if (n > 0) this.filterUsers.set(f, n);
      else {
        this.filterUsers.delete(f);
        unused.push(f);
      }
    }
    if (unused.length > 0 && this.client.connected) await this.client.unsubscribeAsync(unused);
  }

  /** Sends a command and waits for its response (or a timeout). The deadline travels with it. */
  async request(device: string, name: CommandName, args: unknown = {}, timeoutMs = 15_000): Promise<Response> {
    const id = randomBytes(8).toString("hex");
    const reply = this.responseTopic(device);
    const body = { id, name, args, deadline: Date.now() + timeoutMs, replyTo: reply, by: this.clientId };
    const v5 = this.config.protocolVersion === 5;
    const answer = new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${device}: no answer to ${name} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(r);
      });
    });
    const topic = this.username === undefined ? this.t.commands(device) : this.t.commandsFrom(device, this.username);
    await this.publish(topic, JSON.stringify(body), {
      ...(v5
        ? { properties: { responseTopic: reply, correlationData: Buffer.from(id), messageExpiryInterval: Math.ceil(timeoutMs / 1000) } }
        : {}),
    });
    return answer;
  }

  /** Streams availability/state/health/reported/telemetry of every device (or one). Returns an unsubscribe. */
  async watch(onEvent: (e: FleetEvent) => void, opts: { device?: string; share?: string; telemetry?: boolean } = {}) {
    this.listeners.add(onEvent);
    const d = opts.device ?? "+";
    const kinds = ["availability", "state", "health", "inventory", "reported", ...(opts.telemetry ? ["telemetry"] : [])];
    const subs = kinds.map((k) => `${opts.share ? `$share/${opts.share}/` : ""}${this.config.topicPrefix}/${d}/${k}`);
    await this.subscribe(subs);
    return async () => {
      this.listeners.delete(onEvent);
      await this.unsubscribe(subs);
    };
  }

  /** The retained picture of the fleet: settles when no retained message came for settleMs. */
  async inventory(opts: { device?: string; settleMs?: number; maxMs?: number } = {}): Promise<Map<string, DeviceView>> {
    const views = new Map<string, DeviceView>();
    let last = Date.now();
    const stop = await this.watch(
      (e) => {
        last = Date.now();
        const v = views.get(e.device) ?? {};
        (v as Record<string, unknown>)[e.kind] = e.value;
        views.set(e.device, v);
      },
      opts.device ? { device: opts.device } : {},
    );
    const started = Date.now();
    while (Date.now() - last < (opts.settleMs ?? 500) && Date.now() - started < (opts.maxMs ?? 10_000)) await sleep(50);
    await stop();
    return views;
  }

  async setDesired(
    target: { device: string } | { group: string },
    config: unknown,
    meta: { revision?: number; by?: string; message?: string } = {},
  ) {
    const revision = meta.revision ?? Date.now();
    const topic = "device" in target ? this.t.desired(target.device) : this.t.groupDesired(target.group);
    const body = { revision, config, by: meta.by ?? this.clientId, ...(meta.message ? { message: meta.message } : {}) };
    await this.publish(topic, JSON.stringify(body), { retain: true });
    return revision;
  }

  /** Waits until every device reported on the revision (or the timeout); calls onReport as they come. */
  async waitReported(devices: readonly string[], revision: number, timeoutMs: number, onReport?: (d: string, r: Reported) => void) {
    const want = new Set(devices);
    const got = new Map<string, Reported>();
    let done: () => void = () => undefined;
    const finished = new Promise<void>((r) => {
      done = r;
    });
    const listener = (topic: string, payload: Buffer) => {
      const m = /^(.+)\/([^/]+)\/reported$/.exec(topic);
      if (m === null || m[1] !== this.config.topicPrefix || !want.has(m[2] as string) || payload.length === 0) return;
      const r = parseMessage(ReportedSchema, payload);
      if (!r.ok || r.value.desiredRevision !== revision || got.has(m[2] as string)) return;
      got.set(m[2] as string, r.value);
      onReport?.(m[2] as string, r.value);
      if (got.size === want.size) done();
    };
    this.rawListeners.add(listener);
    // The wave's own topics, up to WAVE_TOPICS: a subscription brings each matching retained
    // report, so a wildcard would replay the whole fleet's reports for every wave of a rollout.
    const subs = devices.length <= WAVE_TOPICS ? devices.map((d) => this.t.reported(d)) : [`${this.config.topicPrefix}/+/reported`];
    await this.subscribe(subs);
    const timer = setTimeout(done, timeoutMs);
    if (want.size > 0) await finished;
    clearTimeout(timer);
    this.rawListeners.delete(listener);
    await this.unsubscribe(subs);
    return got;
  }

  /** Clears a device's retained topics (decommissioning). */
  async clearRetained(device: string): Promise<void> {
    for (const topic of this.t.retained(device)) await this.publish(topic, "", { retain: true });
  }

  onRaw(fn: (topic: string, payload: Buffer) => void): () => void {
    this.rawListeners.add(fn);
    return () => this.rawListeners.delete(fn);
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

function decode(kind: string, payload: Buffer): unknown {
  if (payload.length === 0) return undefined;
  if (kind === "availability") {
    const a = AvailabilitySchema.safeParse(payload.toString());
    return a.success ? a.data : undefined;
  }
  const schema = { state: StateSchema, health: HealthSchema, inventory: InventorySchema, reported: ReportedSchema }[kind];
  if (schema === undefined) {
    if (kind !== "telemetry") return undefined;
    try {
      return JSON.parse(payload.toString());
    } catch {
      return undefined;
    }
  }
  const r = parseMessage(schema, payload);
  return r.ok ? r.value : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
