// Metrics from /proc, /sys, Jool and CoreDNS, read directly (systeminformation spawns dozens of
// processes for interface data and blocks the event loop; these files cost a read each).
// Exposed as Prometheus text on the management address and kept for fleet telemetry.
import { createServer, type Server } from "node:http";
import { pool4Capacity } from "../config/capacity.js";
import type { Config } from "../config/schema.js";
import { COREDNS_METRICS } from "../render/corefile.js";
import { JOOL_INSTANCE } from "../render/jool.js";
import type { System } from "../system/system.js";
import { httpGet } from "./http.js";
import { JOOL_PROTOCOLS, joolInstanceLoaded, joolTables } from "./jool.js";

export type Sample = { name: string; help: string; type: "gauge" | "counter"; labels?: Record<string, string>; value: number };

export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(\w+):\s+(\d+)(?: kB)?$/.exec(line);
    if (m) out[m[1] as string] = Number(m[2]) * 1024;
  }
  return out;
}

/** `jool stats display --csv` lines "JSTAT_X,123" -> { JSTAT_X: 123 }. */
export function parseJoolStats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [k, v] = line.split(",");
    if (k?.startsWith("JSTAT") && v !== undefined && /^\d+$/.test(v.trim())) out[k] = Number(v);
  }
  return out;
}

/** `nft -j list counters` -> packets per guard reason ({ special: 3, ... }). */
export function parseGuardCounters(json: string): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    const doc = JSON.parse(json) as { nftables?: { counter?: { name: string; packets: number } }[] };
    for (const item of doc.nftables ?? []) {
      const c = item.counter;
      if (c?.name.startsWith("guard_")) out[c.name.slice("guard_".length)] = c.packets;
    }
  } catch {
    // no ruleset loaded yet: no samples
  }
  return out;
}

export function formatPrometheus(samples: Sample[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const s of samples) {
    if (!seen.has(s.name)) {
      lines.push(`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`);
      seen.add(s.name);
    }
    const labels = s.labels
      ? `{${Object.entries(s.labels)
          .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`)
          .join(",")}}`
      : "";
    lines.push(`${s.name}${labels} ${s.value}`);
  }
  return `${lines.join("\n")}\n`;
}

/** A scrape serves Jool's table counts from a reading of the last 15 s (observe/jool.ts), the usual scrape interval. */
const SCRAPE_MAX_AGE_MS = 15_000;

const COREDNS_COUNTERS =
  /^(coredns_dns_requests_total|coredns_dns_responses_total|coredns_dns64rfc_requests_translated_total|coredns_cache_requests_total|coredns_cache_hits_total|coredns_cache_misses_total)(\{[^}]*\})? ([\d.e+]+)$/;

/** The id of the Corefile CoreDNS runs (its `loaded` gauge, image/coredns/loaded), from its metrics. */
export function servedCorefileId(metrics: string): string | null {
  return /^coredns_loaded_corefile_info\{id="([0-9a-f]+)"\} 1$/m.exec(metrics)?.[1] ?? null;
}

export interface CorednsCounter {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The counters we pass on, from CoreDNS's metrics text. */
export function parseCorednsCounters(text: string): CorednsCounter[] {
  return text.split("\n").flatMap((line) => {
    const m = COREDNS_COUNTERS.exec(line);
    if (!m) return [];
    const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1] as string, x[2] as string]));
    return [{ name: m[1] as string, labels, value: Number(m[3]) }];
  });
}

/**
 * The queries CoreDNS handled (refused ones aside), for telemetry's dnsQueries. The cache sits
 * above the metrics plugin (image/coredns/main.go), so with the cache on its own request counter
 * is the one that sees every query; without it, the metrics plugin's. null: neither counted yet.
 */
export function servedQueries(counters: CorednsCounter[]): number | null {
  const sum = (name: string) => {
    const xs = counters.filter((x) => x.name === name);
    return xs.length === 0 ? null : xs.reduce((n, x) => n + x.value, 0);
  };
  return sum("coredns_cache_requests_total") ?? sum("coredns_dns_requests_total");
}

/** CoreDNS's counters we pass on; [] while CoreDNS is down (the health probes say so). */
async function corednsCounters(): Promise<CorednsCounter[]> {
  try {
    const { body: text } = await httpGet(`http://${COREDNS_METRICS}/metrics`, 2000);
    return parseCorednsCounters(text);
  } catch {
    return [];
  }
}

/** What fleet telemetry carries of the translator, the resolver and the uplink (null: not running). */
export interface TrafficFigures {
  nat64Sessions: number | null;
  pool4UsePercent: number | null;
  wanRxBytes: number | null;
  wanTxBytes: number | null;
  dnsQueries: number | null;
}

export async function readTraffic(sys: System, c: Config): Promise<TrafficFigures> {
  const counter = async (stat: string) => {
    const v = await sys.readFile(`/sys/class/net/${c.interfaces.wan.name}/statistics/${stat}`);
    return v === null ? null : Number(v);
  };
  let sessions: number | null = null;
  let worst: number | null = null;
  // Telemetry takes readings younger than its own interval (observe/shared-reading.ts).
  const maxAgeMs = c.mqtt.telemetryIntervalSec * 1000;
  if (c.nat64.enabled && (await joolInstanceLoaded(sys, maxAgeMs))) {
    const tables = await joolTables(sys, maxAgeMs);
    for (const t of Object.values(tables)) if (t !== null) sessions = (sessions ?? 0) + t.sessions;
    for (const cap of pool4Capacity(c)) {
      const t = tables[cap.protocol];
      if (t !== null && cap.mappings > 0) worst = Math.max(worst ?? 0, (t.bib / cap.mappings) * 100);
    }
  }
  return {
    nat64Sessions: sessions,
    pool4UsePercent: worst === null ? null : Math.round(worst * 10) / 10,
    wanRxBytes: await counter("rx_bytes"),
    wanTxBytes: await counter("tx_bytes"),
    dnsQueries: c.dns64.enabled ? servedQueries(await corednsCounters()) : null,
  };
}

/** Every thermal zone's temperature in °C (none on a board without sensors, such as a VM). */
async function thermalZones(sys: System): Promise<{ zone: string; celsius: number }[]> {
  const out: { zone: string; celsius: number }[] = [];
  for (const zone of await sys.list("/sys/class/thermal")) {
    const t = zone.startsWith("thermal_zone") ? await sys.readFile(`/sys/class/thermal/${zone}/temp`) : null;
    if (t !== null && Number.isFinite(Number(t))) out.push({ zone, celsius: Number(t) / 1000 });
  }
  return out;
}

/** The hottest thermal zone in °C; null on a board without sensors. */
export async function maxTemperature(sys: System): Promise<number | null> {
  const zones = await thermalZones(sys);
  return zones.length === 0 ? null : Math.max(...zones.map((z) => z.celsius));
}

/**
 * Jool's own counts of its tables, left out of the counters: Jool starts them again at 0 on every
 * atomic configuration (`jool file handle`: each apply, each WAN renumbering), while the tables
 * survive it, so an entry that was there before and goes later takes them below 0, which Jool
 * prints as 18446744073709551615 (seen in the lab VM). `gate64_jool_sessions` counts the table.
 */
const JOOL_TABLE_GAUGES = new Set(["JSTAT_BIB_ENTRIES", "JSTAT_SESSIONS"]);

export async function collect(sys: System, interfaces: string[]): Promise<Sample[]> {
  const out: Sample[] = [];
  const [load1] = ((await sys.readFile("/proc/loadavg")) ?? "0").split(" ");
  out.push({ name: "gate64_load1", help: "1-minute load average", type: "gauge", value: Number(load1) });
  const mem = parseMeminfo((await sys.readFile("/proc/meminfo")) ?? "");
  out.push({ name: "gate64_memory_total_bytes", help: "Memory", type: "gauge", value: mem.MemTotal ?? 0 });
  out.push({ name: "gate64_memory_available_bytes", help: "Memory available", type: "gauge", value: mem.MemAvailable ?? 0 });
  out.push({
    name: "gate64_uptime_seconds",
    help: "Uptime",
    type: "gauge",
    value: Number(((await sys.readFile("/proc/uptime")) ?? "0").split(" ")[0]),
  });
  for (const { zone, celsius } of await thermalZones(sys))
    out.push({ name: "gate64_temperature_celsius", help: "Thermal zone temperature", type: "gauge", labels: { zone }, value: celsius });
  for (const dev of interfaces)
    for (const stat of ["rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_dropped", "tx_dropped", "rx_errors", "tx_errors"]) {
      const v = await sys.readFile(`/sys/class/net/${dev}/statistics/${stat}`);
      if (v !== null)
        out.push({
          name: `gate64_interface_${stat}_total`,
          help: `Interface ${stat.replace("_", " ")}`,
          type: "counter",
          labels: { interface: dev },
          value: Number(v),
        });
    }
  if (await joolInstanceLoaded(sys, SCRAPE_MAX_AGE_MS)) {
    const jool = await sys.run("jool", ["-i", JOOL_INSTANCE, "stats", "display", "--csv", "--all"]);
    for (const [k, v] of Object.entries(parseJoolStats(jool.stdout)))
      if (!JOOL_TABLE_GAUGES.has(k))
        out.push({
          name: "gate64_jool_stat_total",
          help: "Jool statistics counters (jool stats display)",
          type: "counter",
          labels: { stat: k },
          value: v,
        });
    const tables = await joolTables(sys, SCRAPE_MAX_AGE_MS);
    for (const proto of JOOL_PROTOCOLS) {
      const t = tables[proto];
      if (t !== null)
        out.push({ name: "gate64_jool_sessions", help: "Jool sessions", type: "gauge", labels: { protocol: proto }, value: t.sessions });
    }
  }
  const counters = await sys.run("nft", ["-j", "list", "counters", "table", "inet", "gate64"]);
  for (const [reason, packets] of Object.entries(parseGuardCounters(counters.stdout)))
    out.push({
      name: "gate64_guard_dropped_packets_total",
      help: "Packets to pool6 the translator's guard dropped, by reason (docs/configuration.md#the-translators-guard)",
      type: "counter",
      labels: { reason },
      value: packets,
    });
  for (const c of await corednsCounters()) out.push({ ...c, help: "from CoreDNS", type: "counter" });
  return out;
}

export async function serveMetrics(
  sys: System,
  address: string,
  port: number,
  interfaces: string[],
  log: (l: string) => void,
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    collect(sys, interfaces).then(
      (s) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(formatPrometheus(s)),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  // A listen error (address not there yet, port taken) rejects; later errors are only logged.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => log(`metrics: ${err.message}`));
  return server;
}
