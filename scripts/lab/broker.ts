// A real mosquitto for the lab, the fleet tests, the simulator and the bench: per-run CA and
// server certificate, password file, the ACL from docs/examples/mosquitto.acl, started on the
// host or inside a namespace and ended by PID.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { Daemon, type Namespace, sh, waitFor } from "./netns.js";

export const FLEET_ACL = resolve(import.meta.dirname, "../../docs/examples/mosquitto.acl");

export interface BrokerOptions {
  dir: string;
  address: string;
  port: number;
  tls: boolean;
  /** user -> password. */
  users: Record<string, string>;
  /** Also admit clients without a user name (the loopback simulator and bench only; the ACL limits them by client id). */
  anonymous?: boolean;
  acl?: string;
  ns?: Namespace;
  /** Extra mosquitto.conf lines (limits for the bench). */
  conf?: string[];
  log?: (line: string) => void;
}

export class Broker {
  daemon: Daemon | null = null;
  readonly ca: string;

  constructor(readonly opts: BrokerOptions) {
    mkdirSync(opts.dir, { recursive: true });
    this.ca = join(opts.dir, "ca.pem");
    if (opts.tls) this.makeCertificates();
    this.writeConfig();
  }

  get url(): string {
    return `${this.opts.tls ? "mqtts" : "mqtt"}://${this.opts.address}:${this.opts.port}`;
  }

  get pid(): number | undefined {
    return this.daemon?.child.pid;
  }

  private makeCertificates(): void {
    const d = this.opts.dir;
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    sh("openssl", ["req", "-x509", ...ec, "-days", "2", "-subj", "/CN=gate64 test CA", "-keyout", `${d}/ca.key`, "-out", this.ca]);
    sh("openssl", ["req", ...ec, "-subj", "/CN=gate64 test broker", "-keyout", `${d}/server.key`, "-out", `${d}/server.csr`]);
    writeFileSync(`${d}/san.ext`, `subjectAltName=IP:${this.opts.address}\n`);
    sh("openssl", [
      "x509",
      "-req",
      "-in",
      `${d}/server.csr`,
      "-CA",
      this.ca,
      "-CAkey",
      `${d}/ca.key`,
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      `${d}/san.ext`,
      "-out",
      `${d}/server.pem`,
    ]);
  }

  private writeConfig(): void {
    const { dir, users } = this.opts;
    const lines = ["per_listener_settings false", "user root", `listener ${this.opts.port} ${this.opts.address}`];
    if (this.opts.tls) lines.push(`cafile ${this.ca}`, `certfile ${dir}/server.pem`, `keyfile ${dir}/server.key`);
    writeFileSync(`${dir}/passwd`, "", { mode: 0o600 });
    for (const [u, p] of Object.entries(users)) sh("mosquitto_passwd", ["-b", `${dir}/passwd`, u, p]);
    lines.push(`allow_anonymous ${this.opts.anonymous === true}`, `password_file ${dir}/passwd`);
    writeFileSync(`${dir}/acl`, this.opts.acl ?? readFileSync(FLEET_ACL, "utf8"));
    lines.push(`acl_file ${dir}/acl`, "persistence false", "log_dest stdout", ...(this.opts.conf ?? []));
    writeFileSync(`${dir}/mosquitto.conf`, `${lines.join("\n")}\n`);
  }

  async start(): Promise<void> {
    const args = ["-c", `${this.opts.dir}/mosquitto.conf`];
    const log = this.opts.log;
    if (this.opts.ns) this.daemon = this.opts.ns.spawn("mosquitto", args, log ? { log } : {});
    else {
      const child = spawn("mosquitto", args, { stdio: ["ignore", log ? "pipe" : "ignore", "pipe"] });
      if (log) child.stdout?.setEncoding("utf8").on("data", (s: string) => log(s));
      this.daemon = new Daemon("mosquitto", child);
      child.stderr?.setEncoding("utf8").on("data", (s: string) => this.daemon?.stderr.push(s));
    }
    const { address, port } = this.opts;
    const ns = this.opts.ns;
    const probe = () => {
      if (ns) {
        ns.exec("bash", ["-c", `exec 3<>/dev/tcp/${address}/${port}`]);
        return true;
      }
      return new Promise<boolean>((ok) => {
        const s = connect(port, address, () => {
          s.destroy();
          ok(true);
        });
        s.on("error", () => ok(false));
      });
    };
    await waitFor(`mosquitto on ${address}:${port}`, probe, 10_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${this.daemon?.stderr.join("").trim()}`);
    });
  }

  async stop(): Promise<void> {
    await this.daemon?.stop();
    this.daemon = null;
  }
}

/** A loopback broker for simulated boxes (anonymous, each held to its client id's topics) and one operator. */
export async function simBroker(dir: string, log?: (line: string) => void): Promise<{ broker: Broker; fleetFile: string }> {
  const password = randomBytes(12).toString("hex");
  const broker = new Broker({
    dir,
    address: "127.0.0.1",
    port: 18830 + (process.pid % 1000),
    tls: false,
    users: { op_admin: password },
    anonymous: true,
    acl: [
      "user op_admin",
      "topic readwrite gate64/#",
      "topic read $SYS/#",
      "",
      "pattern readwrite gate64/%c/#",
      "pattern read gate64/_groups/+/desired",
      "",
    ].join("\n"),
    // The operator receives a report from every box at once: give it a deep queue.
    conf: ["max_queued_messages 200000", "sys_interval 1"],
    ...(log ? { log } : {}),
  });
  await broker.start();
  const creds = writeCredentials(join(dir, "operator.credentials"), "op_admin", password);
  const fleetFile = join(dir, "fleet.json");
  writeFileSync(fleetFile, JSON.stringify({ url: broker.url, credentialsFile: creds }));
  return { broker, fleetFile };
}

/** Writes a {"username","password"} credentials file as the box and the operator CLI read it. */
export function writeCredentials(path: string, username: string, password: string): string {
  writeFileSync(path, JSON.stringify({ username, password }), { mode: 0o600 });
  return path;
}
