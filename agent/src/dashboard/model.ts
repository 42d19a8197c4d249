// The dashboard's picture of the fleet, built from the same retained topics `gate64 fleet ls`
// reads, plus a short telemetry history per box for the charts. Pure: events in, rows out; the
// server (server.ts) feeds it and the page renders what it sends.
import type { DeviceView, FleetEvent } from "../fleet/operator.js";
import { isOnline, type Telemetry } from "../fleet/protocol.js";
import type { Point, Row } from "./rows.js";

export type { Point, Row };

export const HISTORY = 120;

export function rowOf(id: string, v: DeviceView, lastSeen: number | undefined): Row {
  const s = v.state;
  const failed = v.health?.probes.find((p) => p.status === "failed") ?? v.health?.probes.find((p) => p.status === "degraded");
  const desired = s?.desiredRevision ?? 0;
  const r = v.reported;
  const converged =
    desired === 0 ? null : r !== undefined && r.desiredRevision === desired && (r.status === "applied" || r.status === "unchanged");
  const u = s?.update;
  return {
    id,
    availability: v.availability ?? "unknown",
    online: isOnline(v.availability),
    health: v.health?.status ?? s?.health ?? "unknown",
    failing: failed ? `${failed.name}: ${failed.detail}` : null,
    firmware: s?.firmware ?? null,
    slot: s?.slot ?? null,
    revision: s?.revision ?? null,
    desiredRevision: desired === 0 ? null : desired,
    converged,
    update: u
      ? `${u.phase}${u.phase === "downloading" || u.phase === "installing" ? ` ${u.percent}%` : ""}${u.targetVersion ? ` ${u.targetVersion}` : ""}`
      : null,
    groups: s?.groups ?? [],
    lastSeen: lastSeen === undefined ? null : new Date(lastSeen).toISOString(),
  };
}

/** The charted figures of a sample, with rates from the sample before it (counters that went back: a reboot, no rate). */
export function pointOf(t: Telemetry, before: Telemetry | undefined): Point {
  const at = Date.parse(t.at);
  const dt = before === undefined ? 0 : (at - Date.parse(before.at)) / 1000;
  const rate = (now: number | null, then: number | null | undefined, scale = 1) =>
    now === null || then === null || then === undefined || dt <= 0 || now < then ? null : ((now - then) * scale) / dt;
  return {
    t: at,
    nat64Sessions: t.nat64Sessions,
    pool4UsePercent: t.pool4UsePercent,
    rxBitsPerSec: rate(t.wanRxBytes, before?.wanRxBytes, 8),
    txBitsPerSec: rate(t.wanTxBytes, before?.wanTxBytes, 8),
    dnsQueriesPerSec: t.dnsQueriesPerSec,
    memAvailableBytes: t.memAvailableBytes,
  };
}

export class FleetModel {
  readonly views = new Map<string, DeviceView>();
  private readonly seen = new Map<string, number>();
  private readonly lastTelemetry = new Map<string, Telemetry>();
  private readonly history = new Map<string, Point[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes an event; returns the box's row when the event changed it (telemetry changes only lastSeen and history). */
  apply(e: FleetEvent): Row {
    this.seen.set(e.device, this.now());
    if (e.kind === "telemetry") {
      const t = e.value as Telemetry;
      const points = this.history.get(e.device) ?? [];
      points.push(pointOf(t, this.lastTelemetry.get(e.device)));
      if (points.length > HISTORY) points.shift();
      this.history.set(e.device, points);
      this.lastTelemetry.set(e.device, t);
    } else {
      const v = this.views.get(e.device) ?? {};
      (v as Record<string, unknown>)[e.kind] = e.value;
      this.views.set(e.device, v);
    }
    return this.row(e.device);
  }

  row(id: string): Row {
    return rowOf(id, this.views.get(id) ?? {}, this.seen.get(id));
  }

  rows(): Row[] {
    return [...new Set([...this.views.keys(), ...this.history.keys()])].sort().map((id) => this.row(id));
  }

  points(id: string): Point[] {
    return this.history.get(id) ?? [];
  }

  groups(): string[] {
    return [...new Set([...this.views.values()].flatMap((v) => v.state?.groups ?? []))].sort();
  }
}
