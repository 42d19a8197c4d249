// Reporting to the fleet broker: availability (retained, with a will), state and health
// (retained). The full command protocol is in docs/protocol.md.
import { readFile } from "node:fs/promises";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { Config } from "../config/schema.js";
import type { EventBus } from "./events.js";

export interface FleetContext {
  config: Config;
  deviceId: string;
  version: string;
  bus: EventBus;
  log: (line: string) => void;
  state: () => Record<string, unknown>;
}

export function topicRoot(config: Config, deviceId: string): string {
  return `${config.mqtt.topicPrefix}/${deviceId}`;
}

async function clientOptions(c: Config, deviceId: string): Promise<IClientOptions> {
  const root = topicRoot(c, deviceId);
  const creds = c.mqtt.credentialsFile
    ? (JSON.parse(await readFile(c.mqtt.credentialsFile, "utf8")) as { username: string; password: string })
    : null;
  return {
    protocolVersion: c.mqtt.protocolVersion,
    clientId: deviceId,
    clean: true,
    keepalive: c.mqtt.keepaliveSec,
    // Jittered so that a fleet does not reconnect in lockstep after a broker restart.
    reconnectPeriod: 2000 + Math.floor(Math.random() * 3000),
    connectTimeout: 10_000,
    will: { topic: `${root}/availability`, payload: Buffer.from("offline"), qos: 1, retain: true },
    ...(creds ? { username: creds.username, password: creds.password } : {}),
    ...(c.mqtt.tls.ca ? { ca: await readFile(c.mqtt.tls.ca) } : {}),
    ...(c.mqtt.tls.cert && c.mqtt.tls.key ? { cert: await readFile(c.mqtt.tls.cert), key: await readFile(c.mqtt.tls.key) } : {}),
    rejectUnauthorized: true,
  };
}

export class Fleet {
  private client: MqttClient | null = null;

  constructor(private readonly ctx: FleetContext) {}

  async start(): Promise<void> {
    const { config, deviceId, bus, log } = this.ctx;
    if (!config.mqtt.enabled || config.mqtt.url === undefined) return;
    const root = topicRoot(config, deviceId);
    const client = mqtt.connect(config.mqtt.url, await clientOptions(config, deviceId));
    this.client = client;
    client.on("connect", () => {
      log(`fleet: connected to ${config.mqtt.url}`);
      client.publish(`${root}/availability`, "online", { qos: 1, retain: true });
      client.publish(`${root}/state`, JSON.stringify(this.ctx.state()), { qos: 1, retain: true });
    });
    client.on("error", (err) => log(`fleet: ${err.message}`));
    bus.on("health", "fleet", (h) => {
      if (client.connected) client.publish(`${root}/health`, JSON.stringify(h), { qos: 1, retain: true });
    });
  }

  async stop(): Promise<void> {
    const c = this.client;
    if (c === null) return;
    await new Promise<void>((resolve) =>
      c.publish(`${topicRoot(this.ctx.config, this.ctx.deviceId)}/availability`, "offline", { qos: 1, retain: true }, () => resolve()),
    );
    await c.endAsync();
  }
}
