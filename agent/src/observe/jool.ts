// Jool's instance as the box sees it. Every `jool -i default …` against a missing instance makes
// the kernel log "Jool error: This namespace lacks an instance named 'default'" at error level,
// which reaches the serial console: readers ask whether the instance is there before asking it
// anything else, so a box without one (NAT64 failing to apply) keeps its console readable.
import { JOOL_INSTANCE } from "../render/jool.js";
import type { System } from "../system/system.js";
import { sharedReading } from "./shared-reading.js";

/**
 * Whether the instance exists (`jool instance display` never logs an error), from a reading younger
 * than maxAgeMs: the health round and an apply read anew (0), telemetry and a scrape take the
 * round's.
 */
export const joolInstanceLoaded = sharedReading(async (sys) =>
  (await sys.run("jool", ["instance", "display", "--csv", "--no-headers"])).stdout.includes(JOOL_INSTANCE),
);

/** The running instance's pool6, or null; ask only once joolInstanceLoaded said yes. */
export async function joolPool6(sys: System): Promise<string | null> {
  const g = await sys.run("jool", ["-i", JOOL_INSTANCE, "global", "display", "--csv"]);
  return /^pool6,(.*)$/m.exec(g.stdout)?.[1]?.trim() ?? null;
}

export const JOOL_PROTOCOLS = ["tcp", "udp", "icmp"] as const;
export type JoolProtocol = (typeof JOOL_PROTOCOLS)[number];

/** One protocol's table: its sessions and its BIB entries (pool4 transport addresses in use). */
export type TableCount = { sessions: number; bib: number };
/** Each protocol's table, null where Jool did not answer. */
export type JoolTables = Record<JoolProtocol, TableCount | null>;

/**
 * Counts one protocol's table from `jool session display --csv --numeric --no-headers`. Columns:
 * protocol, IPv6 remote address and port, IPv6 local address and port, IPv4 local address and port
 * (the pool4 side), IPv4 remote address and port, expiry, state. A dynamic BIB entry lives exactly
 * as long as it has a session (Jool frees it with its last one) and maps one pool4 transport
 * address, so the distinct pool4 sides of the sessions are the BIB entries: one listing gives
 * both counts (the box configures no static BIB entries).
 */
export function countSessions(csv: string): TableCount {
  const pool4Sides = new Set<string>();
  let sessions = 0;
  for (const line of csv.split("\n")) {
    const f = line.split(",");
    if (f.length < 9) continue;
    sessions++;
    pool4Sides.add(`${f[5]}#${f[6]}`);
  }
  return { sessions, bib: pool4Sides.size };
}

async function listTables(sys: System): Promise<JoolTables> {
  const out = {} as JoolTables;
  for (const proto of JOOL_PROTOCOLS) {
    const r = await sys.run("jool", ["-i", JOOL_INSTANCE, "session", "display", `--${proto}`, "--numeric", "--csv", "--no-headers"]);
    out[proto] = r.code === 0 ? countSessions(r.stdout) : null;
  }
  return out;
}

/**
 * Jool's tables, counted. Listing them is the costliest thing a reader asks of the box: with
 * 10,155 TCP sessions one `jool session display` took 0.40 s of a vCPU in the lab VM, and the
 * health round, telemetry and a Prometheus scrape each want the counts every 30 s: they share a
 * reading younger than their interval. Ask only once joolInstanceLoaded said yes.
 */
export const joolTables = sharedReading(listTables);
