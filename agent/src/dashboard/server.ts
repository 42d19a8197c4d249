// The dashboard's web server: one page and its assets, a Server-Sent Events stream of the fleet
// table, a box's detail, and the actions an operator takes from the page. It holds the broker
// connection; the browser never sees the operator's credentials. Loopback by default; anywhere
// else a token is required. Requests whose Host is not this server's (DNS rebinding) and
// cross-site posts (no custom header without a CORS preflight, which is never granted) are refused.
import { timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { z } from "zod";
import { diffConfigs } from "../apply/revisions.js";
import { groupName, isLoopbackHost } from "../config/ids.js";
import type { Operator } from "../fleet/operator.js";
import { DesiredSchema, DeviceIdSchema, parseMessage } from "../fleet/protocol.js";
import { rollout } from "../fleet/rollout.js";
import { FleetModel, type Row } from "./model.js";

export interface DashboardOptions {
  op: Operator;
  host: string;
  port: number;
  /** Required unless host is loopback. */
  token?: string;
  /** index.html, app.js and app.css (out/agent/dashboard). */
  assets: string;
  log: (line: string) => void;
  /** How often changed rows go out to the pages (coalesced). */
  flushMs?: number;
}

const ASSETS: Record<string, string> = {
  "/": "index.html",
  "/app.js": "app.js",
  "/app.css": "app.css",
};
const TYPES: Record<string, string> = { html: "text/html; charset=utf-8", js: "text/javascript", css: "text/css" };
const COOKIE = "gate64_dashboard";
const ACTION_HEADER = "x-gate64-dashboard";

const CommandRequest = z.strictObject({ device: DeviceIdSchema, name: z.enum(["ping", "health", "reboot"]) });
const RolloutRequest = z.strictObject({
  group: groupName,
  config: z.unknown(),
  canary: z.number().int().min(0).max(100_000),
  batch: z.number().int().min(1).max(100_000),
});

export class Dashboard {
  readonly model = new FleetModel();
  private server: Server | null = null;
  private readonly streams = new Set<ServerResponse>();
  private readonly changed = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private unwatch: (() => Promise<void>) | null = null;
  private rolling: string | null = null;
  private readonly assets = new Map<string, Buffer>();

  constructor(private readonly o: DashboardOptions) {
    if (!isLoopbackHost(o.host) && (o.token === undefined || o.token.length < 16))
      throw new Error(`listen: ${o.host} is not loopback: a token of at least 16 characters is required (--token-file)`);
    for (const file of Object.values(ASSETS)) this.assets.set(file, readFileSync(join(o.assets, file)));
  }

  get url(): string {
    const host = this.o.host.includes(":") ? `[${this.o.host}]` : this.o.host;
    return `http://${host}:${this.port}/`;
  }

  get port(): number {
    const a = this.server?.address();
    return typeof a === "object" && a !== null ? a.port : this.o.port;
  }

  async start(): Promise<void> {
    this.unwatch = await this.o.op.watch(
      (e) => {
        this.model.apply(e);
        this.changed.add(e.device);
      },
      { telemetry: true },
    );
    this.timer = setInterval(() => this.flush(), this.o.flushMs ?? 500);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => this.send(res, 500, { error: (e as Error).message }));
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(this.o.port, this.o.host, () => resolve());
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const s of this.streams) s.end();
    await this.unwatch?.();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Sends the rows that changed since the last flush to every open page. */
  private flush(): void {
    if (this.changed.size === 0) return;
    const rows = [...this.changed].map((id) => this.model.row(id));
    this.changed.clear();
    this.broadcast("rows", { rows, groups: this.model.groups() });
  }

  private broadcast(event: string, data: unknown): void {
    const chunk = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const s of this.streams) s.write(chunk);
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    if (res.headersSent) return void res.end();
    res.writeHead(code, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
  }

  /**
   * Without a token (loopback only) the Host must be this server's: a page on a rebound DNS name
   * would otherwise reach it. With one, the token is the guard (a wildcard listen address is
   * reached under names this server cannot know).
   */
  private allowedHost(req: IncomingMessage): boolean {
    if (this.o.token !== undefined) return true;
    const host = req.headers.host ?? "";
    const ours = [`${this.o.host}:${this.port}`, `[${this.o.host}]:${this.port}`];
    if (isLoopbackHost(this.o.host)) ours.push(`localhost:${this.port}`, `127.0.0.1:${this.port}`, `[::1]:${this.port}`);
    return ours.includes(host);
  }

  private authorized(req: IncomingMessage, url: URL): "yes" | "no" | "set-cookie" {
    const token = this.o.token;
    if (token === undefined) return "yes";
    const same = (s: string | null | undefined) =>
      s !== null && s !== undefined && s.length === token.length && timingSafeEqual(Buffer.from(s), Buffer.from(token));
    const cookie = /(?:^|;\s*)gate64_dashboard=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
    if (same(cookie)) return "yes";
    return url.pathname === "/" && same(url.searchParams.get("token")) ? "set-cookie" : "no";
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader("x-content-type-options", "nosniff");
    res.setHeader("x-frame-options", "DENY");
    res.setHeader("referrer-policy", "no-referrer");
    if (!this.allowedHost(req)) return this.send(res, 421, { error: `host ${req.headers.host ?? "(none)"} is not this dashboard` });
    const url = new URL(req.url ?? "/", "http://dashboard");
    const auth = this.authorized(req, url);
    if (auth === "no") return this.send(res, 401, { error: "a token is required: open the URL that `gate64 fleet dashboard` printed" });
    if (auth === "set-cookie") {
      res.writeHead(303, { "set-cookie": `${COOKIE}=${this.o.token}; HttpOnly; SameSite=Strict; Path=/`, location: "/" }).end();
      return;
    }
    const asset = ASSETS[url.pathname];
    if (req.method === "GET" && asset !== undefined) {
      res.writeHead(200, {
        "content-type": TYPES[asset.split(".").pop() as string] as string,
        "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'",
        "cache-control": "no-cache",
      });
      return void res.end(this.assets.get(asset));
    }
    if (req.method === "GET" && url.pathname === "/events") return this.stream(req, res);
    const box = /^\/api\/box\/([^/]+)(\/config)?$/.exec(url.pathname);
    if (req.method === "GET" && box) return box[2] ? this.configDiff(res, box[1] as string) : this.detail(res, box[1] as string);
    if (req.method === "POST" && (url.pathname === "/api/command" || url.pathname === "/api/rollout")) {
      if (req.headers[ACTION_HEADER] !== "1") return this.send(res, 403, { error: `actions need the ${ACTION_HEADER} header` });
      const body = await readBody(req);
      return url.pathname === "/api/command" ? this.command(res, body) : this.rollout(res, body);
    }
    this.send(res, 404, { error: `no ${req.method} ${url.pathname}` });
  }

  private stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    const snapshot: { rows: Row[]; groups: string[]; broker: string; rolling: string | null } = {
      rows: this.model.rows(),
      groups: this.model.groups(),
      broker: new URL(this.o.op.config.url).host,
      rolling: this.rolling,
    };
    res.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
    this.streams.add(res);
    req.on("close", () => this.streams.delete(res));
  }

  private detail(res: ServerResponse, id: string): void {
    const view = this.model.views.get(id);
    if (view === undefined && this.model.points(id).length === 0) {
      this.send(res, 404, { error: `no box ${id}` });
      return;
    }
    this.send(res, 200, {
      row: this.model.row(id),
      health: view?.health ?? null,
      inventory: view?.inventory ?? null,
      reported: view?.reported ?? null,
      points: this.model.points(id),
    });
  }

  /** The running config (asked of the box) against its retained desired config, as a line diff. */
  private async configDiff(res: ServerResponse, id: string): Promise<void> {
    if (!DeviceIdSchema.safeParse(id).success) return this.send(res, 400, { error: "device: not a device id" });
    const r = await this.o.op.request(id, "config.get", {}, 15_000).catch((e: unknown) => e as Error);
    if (r instanceof Error) return this.send(res, 504, { error: r.message });
    if (!r.ok) return this.send(res, 502, { error: r.error.message });
    const running = (r.result as { config: Record<string, unknown> }).config;
    const payload = await this.retained(this.o.op.t.desired(id));
    const desired = payload === null ? null : parseMessage(DesiredSchema, payload);
    // A fleet config never moves a box to another broker: the mqtt section is the box's own.
    const { mqtt: _m, ...ran } = running;
    if (desired === null || !desired.ok) return this.send(res, 200, { desiredRevision: null, diff: [] });
    const { mqtt: _d, ...want } = (desired.value.config ?? {}) as Record<string, unknown>;
    this.send(res, 200, { desiredRevision: desired.value.revision, diff: diffConfigs(ran, want) });
  }

  private async retained(topic: string): Promise<Buffer | null> {
    let got: Buffer | null = null;
    const off = this.o.op.onRaw((t, p) => {
      if (t === topic && p.length > 0) got = p;
    });
    await this.o.op.subscribe([topic]);
    // Retained messages arrive right after the subscription is granted.
    await new Promise((r) => setTimeout(r, 300));
    await this.o.op.unsubscribe([topic]);
    off();
    return got;
  }

  private async command(res: ServerResponse, body: unknown): Promise<void> {
    const c = CommandRequest.safeParse(body);
    if (!c.success) return this.send(res, 400, { error: issue(c.error) });
    this.o.log(`dashboard: ${c.data.name} to ${c.data.device}`);
    const r = await this.o.op.request(c.data.device, c.data.name, {}, 30_000).catch((e: unknown) => e as Error);
    if (r instanceof Error) return this.send(res, 504, { error: r.message });
    this.send(res, r.ok ? 200 : 409, r);
  }

  private async rollout(res: ServerResponse, body: unknown): Promise<void> {
    const c = RolloutRequest.safeParse(body);
    if (!c.success) return this.send(res, 400, { error: issue(c.error) });
    if (this.rolling !== null) return this.send(res, 409, { error: `a rollout to ${this.rolling} is running` });
    const { group, config, canary, batch } = c.data;
    this.rolling = group;
    this.o.log(`dashboard: rollout to group ${group} (canary ${canary}, batch ${batch})`);
    this.send(res, 202, { group });
    const say = (line: string) => this.broadcast("rollout", { group, line, done: false });
    try {
      const r = await rollout(this.o.op, { group, config, canary, batch, timeoutMs: 120_000, by: "dashboard", onEvent: say });
      this.broadcast("rollout", {
        group,
        line: r.failed ? `stopped in wave ${r.failed.wave} at ${r.failed.device}: ${r.failed.status}: ${r.failed.reason}` : "done",
        done: true,
        ok: r.failed === undefined,
      });
    } catch (e) {
      this.broadcast("rollout", { group, line: `failed: ${(e as Error).message}`, done: true, ok: false });
    } finally {
      this.rolling = null;
    }
  }
}

function issue(e: z.ZodError): string {
  const i = e.issues[0];
  return `${i?.path.join(".") || "(body)"}: ${i?.message ?? "invalid"}`;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 512 * 1024) throw new Error("body: larger than 512 KiB");
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString() || "null");
  } catch {
    return null;
  }
}
