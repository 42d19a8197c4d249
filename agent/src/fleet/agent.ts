// The box's side of the fleet protocol (docs/protocol.md): availability with a will, retained
// state and health, telemetry, commands with responses, desired vs reported configuration and
// the remote shell. NAT64/DNS64 never wait on the broker: everything here is best effort, and
// what cannot be sent waits in a bounded outbox.
import { loadavg } from "node:os";
import type { IClientOptions, IPublishPacket, ISubscriptionMap, MqttClient } from "mqtt";
import { z } from "zod";
import type { Config } from "../config/schema.js";
import type { Device } from "../device/device.js";
import type { EventBus } from "../device/events.js";
import type { HealthReport } from "../observe/health.js";
import { maxTemperature, parseMeminfo, readTraffic, type TrafficFigures } from "../observe/metrics.js";
import { PATHS } from "../paths.js";
import type { System } from "../system/system.js";
import { type CommandContext, CommandError, idOf, runCommand } from "./commands.js";
import { DesiredConvergence } from "./desired.js";
import { discoveryMessages } from "./home-assistant.js";
import { connectionOptions, parseCredentials } from "./mqtt-options.js";
import { backoffMs, Outbox, type Outgoing } from "./outbox.js";
import {
  type Availability,
  CommandSchema,
  MAX_MESSAGE_BYTES,
  parseMessage,
  type Reported,
  type Response,
  type State,
  type Telemetry,
  type Topics,
  topics,
} from "./protocol.js";
import { ShellSessions } from "./shell.js";

type Mqtt = Config["mqtt"];

export interface FleetAgentDeps {
  device: Device;
  /** The box's system interface (credentials, the fleet state file, the clock). */
  sys: System;
  /** Where the fleet hears of applies and health reports. */
  bus: EventBus;
  mqtt: Mqtt;
  log: (line: string) => void;
  /** Where the last handled desired revision is kept across reboots. */
  statePath?: string;
  /** Command run by remote shell sessions (tests use /bin/sh). */
  shellCommand?: [string, ...string[]];
  outboxLimit?: number;
  /** Delay before acting on retained desired configs after connecting, so device and group copies both arrive. */
  desiredSettleMs?: number;
  /** The translator's, resolver's and uplink's figures for telemetry (default: read from the box). */
  traffic?: (c: Config) => Promise<TrafficFigures>;
}

const PersistedSchema = z.object({
  desiredRevision: z.number().int().min(0),
  decommissioned: z.boolean().optional(),
  /** Home Assistant discovery configs are on the broker: cleared once when discovery is turned off. */
  homeAssistant: z.boolean().optional(),
});
type Persisted = z.infer<typeof PersistedSchema>;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The broker's URL without userinfo, for logs. */
export function brokerName(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "(broker)";
  }
}

export class FleetAgent {
  private client: MqttClient | null = null;
  private readonly t: Topics;
  private readonly outbox: Outbox;
  private readonly shells: ShellSessions;
  private persisted: Persisted = { desiredRevision: 0 };
  private readonly desired: DesiredConvergence;
  private telemetryTimer: NodeJS.Timeout | null = null;
  private stateQueued: NodeJS.Immediate | null = null;
  private lastDns: { at: number; n: number } | null = null;
  private attempts = 0;
  private stopped = false;
  private readonly unsubscribe: (() => void)[] = [];

  /** Fixed for the connection's life: the daemon starts a new agent when the device id changes. */
  private readonly id: string;

  constructor(private readonly deps: FleetAgentDeps) {
    this.id = deps.device.id;
    this.t = topics(deps.mqtt.topicPrefix);
    this.outbox = new Outbox(deps.outboxLimit ?? 200);
    this.desired = new DesiredConvergence({
      device: deps.device,
      log: deps.log,
      handled: () => this.persisted.desiredRevision,
      setHandled: async (revision) => {
        this.persisted.desiredRevision = revision;
        await deps.sys.writeFileAtomic(this.statePath, JSON.stringify(this.persisted), 0o600);
      },
      report: (r) => this.report(r),
    });
    this.shells = new ShellSessions(
      { ...deps.mqtt.remoteShell, ...(deps.shellCommand ? { command: deps.shellCommand } : {}) },
      {
        output: async (s, data) => {
          const c = this.client;
          if (this.stopped || !c?.connected) return; // output of a disconnected session is dropped
          await c.publishAsync(this.t.shellOut(this.id, s), data, { qos: 1 }).catch(() => undefined);
        },
        audit: (record) => this.send({ topic: this.t.audit(this.id), payload: JSON.stringify(record), retain: true }),
        now: () => this.deps.sys.now(),
        closed: (s) => {
          this.client?.unsubscribe(this.t.shellIn(this.id, s));
          this.send({ topic: this.t.shellOut(this.id, s), payload: "", retain: false }, false);
          this.publishState();
        },
        log: deps.log,
      },
    );
  }

  private get statePath(): string {
    return this.deps.statePath ?? PATHS.fleetState;
  }

  get mqtt(): Mqtt {
    return this.deps.mqtt;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  get dropped(): number {
    return this.outbox.dropped;
  }

  async start(): Promise<void> {
    const m = this.deps.mqtt;
    if (!m.enabled || m.url === undefined) return;
    const text = await this.deps.sys.readFile(this.statePath);
    const saved = text === null ? null : PersistedSchema.safeParse(safeJson(text));
    if (saved?.success) this.persisted = saved.data;
    else if (saved) this.deps.log(`fleet: ${this.statePath} unreadable, starting from desired revision 0`);
    if (this.persisted.decommissioned) {
      this.deps.log("fleet: this box was decommissioned; not connecting (provision it again to rejoin)");
      return;
    }
    // Loaded here, not with the agent: a box without a fleet never holds mqtt.js (about 18 MB of a
    // Node process's RSS, docs/benchmarks.md#agent).
    const { default: mqtt } = await import("mqtt");
    const client = mqtt.connect(await this.clientOptions(m));
    this.client = client;
    client.on("connect", () => void this.onConnect().catch((e: unknown) => this.deps.log(`fleet: ${String(e)}`)));
    client.on("message", (topic, payload, packet) => void this.onMessage(topic, payload, packet));
    client.on("close", () => {
      // Full-jitter backoff, read by mqtt.js before each reconnect, so a fleet does not come back in lockstep.
      client.options.reconnectPeriod = backoffMs(this.attempts++, Math.random());
    });
    client.on("error", (err) => this.deps.log(`fleet: ${err.message}`));
    const bus = this.deps.bus;
    this.unsubscribe.push(
      bus.on("health", "fleet", (h) => {
        this.publishHealth(h);
        this.publishState();
      }),
      bus.on("update", "fleet", () => this.publishState()),
      bus.on("applied", "fleet", () => {
        this.publishState();
        if (this.desired.waiting) this.desired.schedule(0);
      }),
    );
    this.telemetryTimer = setInterval(() => this.publishTelemetry(), m.telemetryIntervalSec * 1000);
    this.telemetryTimer.unref();
  }

  private async clientOptions(m: Mqtt): Promise<IClientOptions> {
    const read = async (path: string) => {
      const text = await this.deps.sys.readFile(path);
      if (text === null) throw new Error(`cannot read ${path}`);
      return text;
    };
    return {
      ...connectionOptions(m.url as string, m.protocolVersion, this.id, {
        ...(m.credentialsFile ? { credentials: parseCredentials(m.credentialsFile, await read(m.credentialsFile)) } : {}),
        ...(m.tls.ca ? { ca: await read(m.tls.ca) } : {}),
        ...(m.tls.cert && m.tls.key ? { cert: await read(m.tls.cert), key: await read(m.tls.key) } : {}),
      }),
      keepalive: m.keepaliveSec,
      reconnectPeriod: backoffMs(0, Math.random()),
      queueQoSZero: false,
      will: { topic: this.t.availability(this.id), payload: Buffer.from("lost"), qos: 1, retain: true },
      // A retained config larger than this would come back on every reconnect.
      ...(m.protocolVersion === 5 ? { properties: { maximumPacketSize: MAX_MESSAGE_BYTES } } : {}),
    };
  }

  /** Publishes now, or keeps the message for the next connection when the broker is away. */
  private send(msg: Outgoing, queue = true): void {
    if (this.stopped) return; // a replaced agent (broker settings changed) stays silent
    const c = this.client;
    if (c?.connected) {
      c.publish(msg.topic, msg.payload, { qos: 1, retain: msg.retain, ...(msg.properties ? { properties: msg.properties } : {}) });
    } else if (queue) {
      this.outbox.put(msg);
    }
  }

  private availability(a: Availability): void {
    this.send({ topic: this.t.availability(this.id), payload: a, retain: true });
  }

  private async onConnect(): Promise<void> {
    const c = this.client as MqttClient;
    this.attempts = 0;
    this.deps.log(`fleet: connected to ${brokerName(this.deps.mqtt.url as string)}`);
    this.availability("init");
    // Desired configs at QoS 0: they are retained and the session is clean, so each connection's
    // subscription delivers the newest copy again; QoS 1 would add an acknowledgement per box per
    // rollout (a write on every box, a read on the broker) and recover nothing that one does not.
    const subs: ISubscriptionMap = {
      [this.t.commands(this.id)]: { qos: 1 },
      [this.t.commandsFrom(this.id, "+")]: { qos: 1 },
      [this.t.desired(this.id)]: { qos: 0 },
    };
    for (const g of this.deps.mqtt.groups) subs[this.t.groupDesired(g)] = { qos: 0 };
    for (const s of this.shells.list()) subs[this.t.shellIn(this.id, s.session)] = { qos: 1 };
    await c.subscribeAsync(subs);
    // What the broker may have lost (or never had): the retained picture, then the queue.
    for (const msg of this.outbox.drain()) this.send(msg);
    this.publishState(true);
    if (this.deps.device.lastHealth) this.publishHealth(this.deps.device.lastHealth);
    await this.publishDiscovery();
    this.availability("ready");
    // Published once the daemon has read it (after the boot's first health round).
    void this.deps.device.inventoryReady.then((inv) => {
      if (inv) this.send({ topic: this.t.inventory(this.id), payload: JSON.stringify(inv), retain: true }, false);
    });
    this.desired.schedule(this.deps.desiredSettleMs ?? 300);
  }

  /** Home Assistant discovery: published while enabled; cleared once after it was turned off. */
  private async publishDiscovery(): Promise<void> {
    const ha = this.deps.mqtt.homeAssistant;
    if (!ha.enabled && this.persisted.homeAssistant !== true) return;
    const firmware = this.deps.device.status().firmware;
    for (const m of discoveryMessages({ id: this.id, t: this.t, discoveryPrefix: ha.discoveryPrefix, firmware, enabled: ha.enabled }))
      this.send({ topic: m.topic, payload: m.payload, retain: true }, false);
    if (this.persisted.homeAssistant !== ha.enabled) {
      this.persisted.homeAssistant = ha.enabled;
      await this.deps.sys.writeFileAtomic(this.statePath, JSON.stringify(this.persisted), 0o600);
    }
  }

  state(): State {
    const d = this.deps.device;
    const s = d.status();
    return {
      v: 1,
      deviceId: this.id,
      firmware: s.firmware,
      slot: s.slot,
      update: s.update,
      revision: s.revision,
      awaitingConfirmation: s.awaitingConfirmation,
      desiredRevision: this.persisted.desiredRevision,
      health: s.health,
      groups: this.deps.mqtt.groups,
      addresses: { lan: s.lan, wanIPv4: s.wanIPv4 },
      bootedAt: d.bootedAt,
      shell: { enabled: this.deps.mqtt.remoteShell.enabled, sessions: this.shells.list() },
      at: new Date(this.deps.sys.now()).toISOString(),
    };
  }

  private publishHealth(h: HealthReport): void {
    this.send({ topic: this.t.health(this.id), payload: JSON.stringify(h), retain: true });
  }

  /**
   * The retained state, sent once per turn of the event loop: an apply changes it two or three
   * times in a row (applied, desired revision handled, health) and only the last copy counts.
   * `now` sends it at once (and what was queued with it).
   */
  private publishState(now = false): void {
    if (!now) {
      this.stateQueued ??= setImmediate(() => this.publishState(true));
      return;
    }
    if (this.stateQueued) clearImmediate(this.stateQueued);
    this.stateQueued = null;
    this.send({ topic: this.t.state(this.id), payload: JSON.stringify(this.state()), retain: true });
  }

  /** Sends a queued state before the connection's last messages. */
  private flushState(): void {
    if (this.stateQueued) this.publishState(true);
  }

  async telemetry(): Promise<Telemetry> {
    const s = this.deps.device.status();
    const meminfo = await this.deps.sys.readFile("/proc/meminfo");
    const avail = meminfo === null ? undefined : parseMeminfo(meminfo).MemAvailable;
    const traffic = await (this.deps.traffic ?? ((c) => readTraffic(this.deps.sys, c)))(this.deps.device.running().config);
    const now = this.deps.sys.now();
    const before = this.lastDns;
    this.lastDns = traffic.dnsQueries === null ? null : { at: now, n: traffic.dnsQueries };
    const dnsQueriesPerSec =
      before === null || traffic.dnsQueries === null || traffic.dnsQueries < before.n || now <= before.at
        ? null
        : Math.round(((traffic.dnsQueries - before.n) / ((now - before.at) / 1000)) * 10) / 10;
    return {
      at: new Date(this.deps.sys.now()).toISOString(),
      uptimeSec: s.uptimeSec,
      health: s.health,
      revision: s.revision,
      load1: Math.round((loadavg()[0] ?? 0) * 100) / 100,
      memAvailableBytes: avail ?? null,
      agentRssBytes: process.memoryUsage.rss(),
      dropped: this.outbox.dropped,
      ...traffic,
      dnsQueriesPerSec,
      temperatureC: await maxTemperature(this.deps.sys),
    };
  }

  private publishTelemetry(): void {
    // Telemetry is a sample, not a record: not queued while the broker is away.
    void this.telemetry().then((t) => this.send({ topic: this.t.telemetry(this.id), payload: JSON.stringify(t), retain: false }, false));
  }

  private async onMessage(topic: string, payload: Buffer, packet: IPublishPacket): Promise<void> {
    try {
      const commands = this.t.commands(this.id);
      if (topic === commands) await this.onCommand(payload, packet);
      else if (topic.startsWith(`${commands}/`)) await this.onCommand(payload, packet, topic.slice(commands.length + 1));
      else if (topic === this.t.desired(this.id)) this.desired.offer("device", payload);
      else if (topic.endsWith("/desired")) {
        const g = this.deps.mqtt.groups.find((name) => this.t.groupDesired(name) === topic);
        if (g !== undefined) this.desired.offer(`group:${g}`, payload);
      } else if (topic.endsWith("/in")) {
        const session = topic.slice(`${this.t.root(this.id)}/shell/`.length, -"/in".length);
        this.shells.input(session, payload);
      }
    } catch (e) {
      this.deps.log(`fleet: message on ${topic}: ${String(e)}`);
    }
  }

  // --- commands ---

  private async onCommand(payload: Buffer, packet: IPublishPacket, attested?: string): Promise<void> {
    const props = packet.properties;
    const parsed = parseMessage(CommandSchema, payload);
    const rawId = parsed.ok ? parsed.value.id : idOf(payload);
    let replyTo = props?.responseTopic ?? (parsed.ok ? parsed.value.replyTo : undefined) ?? this.t.responses(this.id);
    let response: Response;
    try {
      // Answers go only under this box's own responses topic (which is also all the ACL allows).
      if (replyTo !== this.t.responses(this.id) && !replyTo.startsWith(`${this.t.responses(this.id)}/`)) {
        replyTo = this.t.responses(this.id);
        throw new CommandError("forbidden", `responses go under ${this.t.responses(this.id)}`, "responseTopic");
      }
      if (!parsed.ok) throw new CommandError("invalid", parsed.reason, parsed.field);
      const cmd = parsed.value;
      const now = this.deps.sys.now();
      if (now > cmd.deadline) throw new CommandError("stale", `deadline passed ${now - cmd.deadline} ms ago; not run`, "deadline");
      response = { id: cmd.id, ok: true, result: await runCommand(cmd, this.commandContext, attested) };
    } catch (e) {
      const err = e instanceof CommandError ? e : new CommandError("failed", (e as Error).message);
      response = { id: rawId, ok: false, error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } };
      this.deps.log(`fleet: command ${rawId} refused (${err.code}): ${err.message}`);
    }
    this.send({
      topic: replyTo,
      payload: JSON.stringify(response),
      retain: false,
      ...(props?.correlationData ? { properties: { correlationData: props.correlationData } } : {}),
    });
  }

  private get commandContext(): CommandContext {
    return {
      device: this.deps.device,
      shells: this.shells,
      now: () => this.deps.sys.now(),
      shellOpened: async (session) => {
        await this.client?.subscribeAsync(this.t.shellIn(this.id, session), { qos: 1 });
        this.publishState();
        return { in: this.t.shellIn(this.id, session), out: this.t.shellOut(this.id, session) };
      },
      decommission: (by) => {
        setTimeout(() => void this.decommission(by), 200).unref();
      },
    };
  }

  private report(r: Omit<Reported, "at">): void {
    const full: Reported = { ...r, at: new Date(this.deps.sys.now()).toISOString() };
    this.deps.log(`fleet: desired ${r.desiredRevision} from ${r.source}: ${r.status}${r.reason ? ` (${r.reason})` : ""}`);
    this.send({ topic: this.t.reported(this.id), payload: JSON.stringify(full), retain: true });
    // In the same tick, so mqtt.js writes both packets at once (it uncorks the socket on the next tick).
    this.publishState(true);
  }

  // --- lifecycle ---

  private async decommission(by: string): Promise<void> {
    this.deps.log(`fleet: decommissioned by ${by}; clearing retained topics and leaving the broker`);
    this.persisted.decommissioned = true;
    await this.deps.sys.writeFileAtomic(this.statePath, JSON.stringify(this.persisted), 0o600);
    const c = this.client;
    if (c === null) return;
    this.shells.closeAll("box decommissioned"); // before clearing: closing republishes state
    this.flushState();
    for (const topic of this.t.retained(this.id)) await c.publishAsync(topic, "", { qos: 1, retain: true });
    await this.stop(false);
  }

  /** Clean stop: "disconnected" instead of the will. */
  async stop(announce = true): Promise<void> {
    if (this.stopped) return;
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    this.desired.stop();
    this.shells.closeAll("agent stopping"); // their end-of-session messages still go out
    this.flushState();
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    const c = this.client;
    if (c === null) return;
    if (announce && c.connected)
      await c.publishAsync(this.t.availability(this.id), "disconnected", { qos: 1, retain: true }).catch(() => undefined);
    await c.endAsync();
  }
}
