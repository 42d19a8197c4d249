// npm run bench -- dashboard [--agents N] [--shards K] [--steady SEC]
// The fleet dashboard with N simulated boxes (default 10,000; the real agent code, telemetry every
// 30 s) on a loopback mosquitto, `gate64 fleet dashboard` from the built CLI and the page in
// Debian's headless Chromium (playwright-core). Prints: time from opening the page to the full
// count and the first table page drawn; rows the server streams per second at steady state and
// the page's main-thread time spent in long tasks (> 50 ms) over the same window; time from typing
// a filter to the filtered table; the dashboard process's RSS.
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { type Broker, simBroker } from "../lab/broker.js";
import { startDashboard } from "../lab/dashboard.js";
import { report } from "./report.js";

const CHROMIUM = process.env.GATE64_CHROMIUM ?? "/usr/bin/chromium-headless-shell";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;

/** Rows the dashboard streams over `seconds`, read as a second page would (its own /events). */
async function streamedRows(url: string, seconds: number): Promise<number> {
  const ac = new AbortController();
  const res = await fetch(new URL("/events", url), { signal: ac.signal });
  let rows = 0;
  let buf = "";
  let counting = false;
  const until = Date.now() + seconds * 1000;
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  while (Date.now() < until) {
    const next = await Promise.race([reader.read(), sleep(until - Date.now()).then(() => null)]);
    if (next === null || next.done) break;
    buf += decoder.decode(next.value, { stream: true });
    let i = buf.indexOf("\n\n");
    while (i >= 0) {
      const msg = buf.slice(0, i);
      buf = buf.slice(i + 2);
      // The snapshot comes first and is not an update.
      if (msg.startsWith("event: rows") && counting)
        rows += (JSON.parse(msg.split("\ndata: ")[1] ?? "{}") as { rows: unknown[] }).rows.length;
      if (msg.startsWith("event: snapshot")) counting = true;
      i = buf.indexOf("\n\n");
    }
  }
  ac.abort();
  return rows / seconds;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      agents: { type: "string", default: "10000" },
      shards: { type: "string", default: "2" },
      steady: { type: "string", default: "30" },
    },
  });
  const n = Number(values.agents);
  const steady = Number(values.steady);
  let broker: Broker | null = null;
  let sim: ChildProcess | null = null;
  let dash: ChildProcess | null = null;
  const dir = mkdtempSync(join(tmpdir(), "gate64-bench-dashboard-"));
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  try {
    const started = await simBroker(dir);
    broker = started.broker;
    sim = fork(
      resolve(import.meta.dirname, "../fleet-sim.ts"),
      ["--agents", String(n), "--shards", values.shards as string, "--url", broker.url, "--groups", "fleet", "--quiet"],
      {
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", "pipe", "inherit", "ipc"],
      },
    );
    const t0 = Date.now();
    await new Promise<void>((ok, fail) => {
      let out = "";
      sim?.stdout?.on("data", (c: Buffer) => {
        out += c.toString();
        if (/agents started|agent\(s\) running/.test(out)) ok();
      });
      sim?.once("exit", (code) => fail(new Error(`simulator exited ${code}`)));
    });
    report({ bench: "dashboard", agents: n, simulatorStartedSec: +((Date.now() - t0) / 1000).toFixed(1) });

    const port = 29000 + (process.pid % 1000);
    const d = await startDashboard(started.fleetFile, `127.0.0.1:${port}`);
    dash = d.child;
    const url = d.url;
    await sleep(5000); // the retained state of every box reaches the dashboard

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const open = Date.now();
    await page.goto(url);
    await page.locator("#counts", { hasText: `${n} boxes · ${n} online` }).waitFor({ timeout: 120_000 });
    await page.locator("#shown", { hasText: `of ${n} shown` }).waitFor({ timeout: 120_000 });
    const fullTableMs = Date.now() - open;

    await page.evaluate(() => {
      const w = window as unknown as { longTaskMs: number };
      w.longTaskMs = 0;
      new PerformanceObserver((l) => {
        for (const e of l.getEntries()) w.longTaskMs += e.duration;
      }).observe({ type: "longtask", buffered: false });
    });
    const rowsPerSec = await streamedRows(url, steady);
    const longTaskMs = await page.evaluate(() => (window as unknown as { longTaskMs: number }).longTaskMs);

    const f = Date.now();
    await page.locator("#filter").fill("sim-00042");
    await page.locator("#shown", { hasText: /^1 of 1 shown/ }).waitFor({ timeout: 30_000 });
    const filterMs = Date.now() - f;

    report({
      bench: "dashboard",
      agents: n,
      openToFullTableMs: fullTableMs,
      steadySec: steady,
      streamedRowsPerSec: Math.round(rowsPerSec),
      pageLongTaskShareOfSteady: +(longTaskMs / (steady * 1000)).toFixed(3),
      filterToTableMs: filterMs,
      dashboardRssMiB: +rssMiB(dash.pid as number).toFixed(1),
      pageErrors: errors.length,
    });
  } finally {
    await browser.close();
    dash?.kill("SIGTERM");
    sim?.kill("SIGTERM");
    if (sim && sim.exitCode === null) await new Promise((r) => sim?.once("exit", r));
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
