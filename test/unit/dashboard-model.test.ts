// The dashboard's model: rows from retained topics, rates from telemetry counters.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FleetModel, HISTORY, pointOf, rowOf } from "../../agent/src/dashboard/model.js";
import type { State, Telemetry } from "../../agent/src/fleet/protocol.js";

const telemetry = (at: string, rx: number, dns: number | null): Telemetry => ({
  at,
  uptimeSec: 1,
  health: "ok",
  revision: 1,
  load1: 0,
  memAvailableBytes: null,
  agentRssBytes: 1,
  dropped: 0,
  nat64Sessions: 10,
  pool4UsePercent: 0.1,
  wanRxBytes: rx,
  wanTxBytes: 0,
  dnsQueries: dns,
  dnsQueriesPerSec: dns === null ? null : 50,
  temperatureC: null,
});

describe("dashboard rows", () => {
  const state = (over: Partial<State>) =>
    ({ firmware: "1.2.0", slot: "b", revision: 3, desiredRevision: 7, health: "ok", groups: ["edge"], update: null, ...over }) as State;

  it("names the failing probe, and says whether the box runs what was desired", () => {
    const r = rowOf(
      "a",
      {
        availability: "ready",
        state: state({}),
        health: { status: "failed", checkedAt: "", probes: [{ name: "nat64", status: "failed", detail: "no TCP", durationMs: 1 }] },
        reported: { desiredRevision: 7, source: "device", status: "applied", revision: 3, at: "" },
      },
      0,
    );
    assert.equal(r.failing, "nat64: no TCP");
    assert.equal(r.converged, true);
    assert.equal(r.online, true);
    const behind = rowOf(
      "a",
      { state: state({}), reported: { desiredRevision: 6, source: "device", status: "applied", revision: 2, at: "" } },
      undefined,
    );
    assert.equal(behind.converged, false);
    assert.equal(behind.availability, "unknown");
    assert.equal(behind.lastSeen, null);
    assert.equal(rowOf("a", { state: state({ desiredRevision: 0 }) }, 0).converged, null, "nothing desired: neither");
    const updating = rowOf(
      "a",
      { state: state({ update: { phase: "installing", percent: 40, targetVersion: "1.3.0", fromVersion: "1.2.0", by: "x", at: "" } }) },
      0,
    );
    assert.equal(updating.update, "installing 40% 1.3.0");
  });

  it("takes rates between telemetry samples, and none across a counter reset (a reboot)", () => {
    const a = telemetry("2026-01-01T00:00:00Z", 1000, 100);
    const b = telemetry("2026-01-01T00:00:10Z", 11000, 600);
    assert.deepEqual([pointOf(b, a).rxBitsPerSec, pointOf(b, a).dnsQueriesPerSec], [8000, 50]);
    assert.equal(pointOf(a, undefined).rxBitsPerSec, null);
    assert.equal(pointOf(telemetry("2026-01-01T00:00:20Z", 5, 0), b).rxBitsPerSec, null);
    assert.equal(pointOf(telemetry("2026-01-01T00:00:20Z", 20000, null), b).dnsQueriesPerSec, null, "the box's own rate");
  });

  it("keeps a bounded history per box and a row for boxes only heard in telemetry", () => {
    const m = new FleetModel(() => 0);
    for (let i = 0; i < HISTORY + 10; i++)
      m.apply({ device: "t", kind: "telemetry", value: telemetry(new Date(i * 1000).toISOString(), i, i) });
    assert.equal(m.points("t").length, HISTORY);
    m.apply({ device: "s", kind: "state", value: state({ groups: ["core", "edge"] }) });
    assert.deepEqual(
      m.rows().map((r) => r.id),
      ["s", "t"],
    );
    assert.deepEqual(m.groups(), ["core", "edge"]);
  });
});
