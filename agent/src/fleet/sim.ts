// A simulated box: the real applier, device core and fleet agent on the in-memory system.
// The simulator (npm run fleet:sim), the fleet tests and the fleet bench are built on it.
// Simulated health: a config whose DNS64 upstreams include 192.0.2.0/24 (TEST-NET-1, a black
// hole here) fails its probes, so the revert path can be driven from the fleet.
import { Applier } from "../apply/applier.js";
import { validateConfig } from "../config/validate.js";
import { Device } from "../device/device.js";
import { EventBus } from "../device/events.js";
import { IF_INET6, ifInet6Line } from "../lib/if-inet6.js";
import type { HealthReport } from "../observe/health.js";
import type { Inventory } from "../observe/inventory.js";
import type { TrafficFigures } from "../observe/metrics.js";
import { PATHS } from "../paths.js";
import type { Resolved } from "../render/context.js";
import { FakeSystem } from "../system/fake.js";
import { FleetAgent } from "./agent.js";

export const SIM_BASE_CONFIG = {
  interfaces: {
    lan: { name: "lan", ipv6: { address: "2001:db8:64::1/64" } },
    wan: { name: "wan", ipv4: { mode: "static", address: "198.51.100.2/24", gateway: "198.51.100.1" } },
  },
  dns64: { upstreams: ["198.51.100.53"] },
  health: { applyVerifySec: 5 },
};

export interface SimOptions {
  deviceId: string;
  url: string;
  protocolVersion?: 4 | 5;
  groups?: string[];
  /** PEM text of the CA that signed the broker's certificate. */
  ca?: string;
  credentials?: { username: string; password: string };
  remoteShell?: { enabled: boolean; idleTimeoutSec?: number; maxSessions?: number };
  shellCommand?: [string, ...string[]];
  telemetryIntervalSec?: number;
  keepaliveSec?: number;
  firmware?: string;
  log?: (line: string) => void;
}

export interface SimAgent {
  sys: FakeSystem;
  device: Device;
  fleet: FleetAgent;
  lines: string[];
}

export function simulatedHealth(r: Resolved, checkedAt: string): HealthReport {
  const ups = r.config.dns64.upstreams;
  const bad = ups === "dhcp" ? undefined : ups.find((u) => u.startsWith("192.0.2."));
  return {
    status: bad ? "failed" : "ok",
    checkedAt,
    probes: [{ name: "dns64", status: bad ? "failed" : "ok", detail: bad ? `upstream ${bad} does not answer` : "answers", durationMs: 1 }],
  };
}

/** A box's traffic as a random walk, so that telemetry and the dashboard's charts move. */
export function simulatedTraffic(): () => Promise<TrafficFigures> {
  let sessions = 50 + Math.floor(Math.random() * 400);
  let rx = 0;
  let tx = 0;
  let dns = 0;
  return async () => {
    sessions = Math.max(0, sessions + Math.floor((Math.random() - 0.5) * 60));
    rx += Math.floor(Math.random() * 5e6);
    tx += Math.floor(Math.random() * 1e6);
    dns += Math.floor(Math.random() * 600);
    // 64,512 TCP mappings: the default pool4 on one WAN address.
    const pool4 = Math.round((sessions / 64512) * 1000) / 10;
    return { nat64Sessions: sessions, pool4UsePercent: pool4, wanRxBytes: rx, wanTxBytes: tx, dnsQueries: dns };
  };
}

export function simulatedInventory(firmware: string, sys: FakeSystem): Inventory {
  return {
    system: { manufacturer: "gate64", model: "simulated box", virtual: true },
    board: {},
    cpu: { model: "simulated", cores: 2, arch: "x64" },
    memoryBytes: 1024 ** 3,
    storage: [{ device: "/dev/sim", sizeBytes: 8 * 1024 ** 3, type: "SSD" }],
    os: { distro: "Debian GNU/Linux", release: "13", kernel: "sim" },
    firmware,
    nics: [
      { name: "lan", mac: "02:00:00:00:00:01", speedMbps: 1000, driver: "sim" },
      { name: "wan", mac: "02:00:00:00:00:02", speedMbps: 1000, driver: "sim" },
    ],
    cost: { ms: 0, processes: 0, rssDeltaBytes: 0 },
    readAt: new Date(sys.now()).toISOString(),
  };
}

export async function startSimAgent(o: SimOptions): Promise<SimAgent> {
  const sys = new FakeSystem(Date.now(), 200);
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(`${new Date(sys.now()).toISOString()} ${line}`);
    if (lines.length > 200) lines.shift();
    o.log?.(`${o.deviceId}: ${line}`);
  };
  sys.files.set(IF_INET6, ifInet6Line("lan", "2001:db8:64::1"));
  sys.files.set(PATHS.mounts, "/dev/vda4 /data ext4 rw,noatime 0 0\n");
  sys.handlers.set("journalctl", (args) => {
    const n = Number(args[args.indexOf("-n") + 1] ?? 100);
    return { code: 0, stdout: lines.slice(-n).join("\n"), stderr: "" };
  });
  if (o.ca) sys.files.set("/data/gate64/mqtt/ca.pem", o.ca);
  if (o.credentials) sys.files.set("/data/gate64/mqtt/credentials.json", JSON.stringify(o.credentials));
  const input = {
    ...SIM_BASE_CONFIG,
    mqtt: {
      enabled: true,
      url: o.url,
      allowPlaintext: true,
      protocolVersion: o.protocolVersion ?? 5,
      groups: o.groups ?? [],
      keepaliveSec: o.keepaliveSec ?? 30,
      telemetryIntervalSec: o.telemetryIntervalSec ?? 30,
      ...(o.ca ? { tls: { ca: "/data/gate64/mqtt/ca.pem" } } : {}),
      ...(o.credentials ? { credentialsFile: "/data/gate64/mqtt/credentials.json" } : {}),
      ...(o.remoteShell ? { remoteShell: o.remoteShell } : {}),
    },
  };
  const v = validateConfig(input);
  if (!v.ok) throw new Error(`simulated config: ${v.problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
  const check = async (r: Resolved) => simulatedHealth(r, new Date(sys.now()).toISOString());
  const applier = new Applier({ sys, log, facts: async () => ({ deviceId: o.deviceId }), check, pollMs: 500 });
  await applier.boot(v.config, input);
  const bus = new EventBus(log);
  const device = new Device({
    sys,
    applier,
    bus,
    id: o.deviceId,
    firmware: o.firmware ?? "sim",
    check,
    log,
    inventory: async () => simulatedInventory(o.firmware ?? "sim", sys),
  });
  await device.runHealth();
  void device.inventory();
  const fleet = new FleetAgent({
    device,
    sys,
    bus,
    mqtt: v.config.mqtt,
    log,
    traffic: simulatedTraffic(),
    ...(o.shellCommand ? { shellCommand: o.shellCommand } : {}),
  });
  await fleet.start();
  return { sys, device, fleet, lines };
}
