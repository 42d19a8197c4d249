// mqtt.js connection options both ends of the fleet share (the box's agent and the operator):
// where the broker is, TLS with the server always verified, the credentials file's parse.
import type { IClientOptions } from "mqtt";
import { z } from "zod";

export const CredentialsSchema = z.object({ username: z.string().max(256), password: z.string().max(1024) });
export type Credentials = z.infer<typeof CredentialsSchema>;

/** A credentials file's text; the error names the file and never quotes it (it holds a secret). */
export function parseCredentials(path: string, text: string): Credentials {
  let data: unknown = null;
  try {
    data = JSON.parse(text);
  } catch {
    // reported below, without the content
  }
  const r = CredentialsSchema.safeParse(data);
  if (!r.success) throw new Error(`${path} is not {"username", "password"} JSON`);
  return r.data;
}

export interface ConnectionFiles {
  credentials?: Credentials;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** Broker address, protocol version, identity and TLS from an mqtt:// or mqtts:// URL. */
export function connectionOptions(url: string, protocolVersion: 4 | 5, clientId: string, files: ConnectionFiles): IClientOptions {
  const u = new URL(url);
  const tls = u.protocol === "mqtts:";
  return {
    protocol: tls ? "mqtts" : "mqtt",
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: Number(u.port || (tls ? 8883 : 1883)),
    protocolVersion,
    clientId,
    clean: true,
    // Subscriptions are made in one place on every connect, not replayed by mqtt.js.
    resubscribe: false,
    connectTimeout: 10_000,
    // mqtt-packet otherwise fills a cache of every 16-bit number as a Buffer on the first write:
    // 65,536 objects, 6.8 MB of the agent's 23 MB heap (a heap snapshot on the lab VM).
    writeCache: false,
    ...(files.credentials ? { username: files.credentials.username, password: files.credentials.password } : {}),
    ...(files.ca ? { ca: files.ca } : {}),
    ...(files.cert && files.key ? { cert: files.cert, key: files.key } : {}),
    rejectUnauthorized: true,
  };
}
