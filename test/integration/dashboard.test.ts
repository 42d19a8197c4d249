// The fleet dashboard in a real browser: Debian's headless Chromium driven by playwright-core,
// against `gate64 fleet dashboard` (the built CLI) on a real mosquitto with 200 simulated boxes
// (the real agent code). Checks what an operator relies on: every box in the table, boxes that
// lose power turn lost, a canary rollout started from the page converges, a box's page has its
// probes, charts and answers a ping, and the page logs no errors. Screenshots go to out/dashboard/.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { Operator } from "../../agent/src/fleet/operator.js";
import { SIM_BASE_CONFIG } from "../../agent/src/fleet/sim.js";
import { type Broker, simBroker } from "../../scripts/lab/broker.js";
import { startDashboard } from "../../scripts/lab/dashboard.js";
import { waitFor } from "../../scripts/lab/netns.js";

const CHROMIUM = process.env.GATE64_CHROMIUM ?? "/usr/bin/chromium-headless-shell";
const SHOTS = "out/dashboard";
const KEEPALIVE = 5;

function sim(url: string, n: number, prefix: string): ChildProcess {
  const args = ["--import", "tsx", "scripts/fleet-sim.ts", "--agents", String(n), "--url", url, "--prefix", prefix];
  return spawn(process.execPath, [...args, "--groups", "edge", "--telemetry", "5", "--keepalive", String(KEEPALIVE), "--quiet"], {
    stdio: "ignore",
  });
}

describe("the fleet dashboard in a real browser (200 simulated boxes)", { timeout: 5 * 60_000 }, () => {
  let broker: Broker;
  let fleetFile: string;
  let brokerDir = "";
  let op: Operator;
  const children: ChildProcess[] = [];
  let dashboard: ChildProcess;
  let url = "";
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const port = 28000 + (process.pid % 1000);

  const rows = (sel = "") => page.locator(`#fleet tbody tr${sel}`).count();

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    brokerDir = mkdtempSync(join(tmpdir(), "gate64-dashboard-"));
    ({ broker, fleetFile } = await simBroker(brokerDir));
    op = await Operator.connect({
      url: broker.url,
      credentialsFile: join(fleetFile, "../operator.credentials"),
      protocolVersion: 5,
      topicPrefix: "gate64",
      allowPlaintext: false,
    });
    children.push(sim(broker.url, 195, "box"), sim(broker.url, 5, "doomed"));
    await waitFor(
      "200 boxes ready",
      async () => [...(await op.inventory({ settleMs: 300 })).values()].filter((v) => v.availability === "ready").length === 200,
      120_000,
    );
    ({ child: dashboard, url } = await startDashboard(fleetFile, `127.0.0.1:${port}`));
    browser = await chromium.launch({ executablePath: CHROMIUM });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("dialog", (d) => void d.accept());
  });

  after(async () => {
    await browser?.close();
    // Every process this test started ends before the broker does (a simulator stopping its
    // agents against a broker that is gone would wait for it); SIGKILL whatever outlives 10 s.
    const ended = (c: ChildProcess) =>
      c.exitCode !== null || c.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const t = setTimeout(() => c.kill("SIGKILL"), 10_000);
            c.once("exit", () => {
              clearTimeout(t);
              resolve();
            });
            c.kill("SIGTERM");
          });
    await Promise.all([...children, ...(dashboard ? [dashboard] : [])].map(ended));
    await op?.close();
    await broker?.stop();
    if (brokerDir) rmSync(brokerDir, { recursive: true, force: true });
  });

  it("talks to the broker through a CLI bundle with Node's streams, no WebSocket or SOCKS client", () => {
    // The dashboard's operator is the built CLI: mqtt.js in it runs on Node's stream module, not
    // readable-stream's copy, and without ws, worker-timers and the SOCKS proxy client
    // (scripts/build-agent.mjs).
    const { sources } = JSON.parse(readFileSync("out/agent/gate64.cjs.map", "utf8")) as { sources: string[] };
    assert.ok(
      sources.some((s) => s.includes("node_modules/mqtt/")),
      "mqtt.js is in the bundle",
    );
    const leftOut = /node_modules\/(readable-stream|ws|worker-timers|socks|ip-address|smart-buffer)\/|mqtt\/src\/lib\/connect\/socks/;
    assert.deepEqual(
      sources.filter((s) => leftOut.test(s)),
      [],
    );
  });

  it("shows every box in the table, ready and healthy", async () => {
    await page.goto(url);
    await waitFor("200 rows", async () => (await rows()) === 200, 20_000);
    assert.equal(await rows('[data-availability="ready"]'), 200);
    assert.equal(await rows('[data-health="ok"]'), 200);
    assert.match((await page.locator("#counts").textContent()) ?? "", /200 boxes · 200 online/);
    await page.screenshot({ path: `${SHOTS}/fleet.png` });
  });

  it("turns the rows of boxes that lost power to lost within the keepalive window", async () => {
    const t0 = Date.now();
    children[1]?.kill("SIGKILL");
    await waitFor("5 rows lost", async () => (await rows('[data-availability="lost"]')) === 5, KEEPALIVE * 1.5 * 1000 + 5000);
    const lost = await page
      .locator('#fleet tbody tr[data-availability="lost"]')
      .evaluateAll((trs) => trs.map((t) => t.getAttribute("data-id")));
    assert.deepEqual(lost.sort(), ["doomed-00000", "doomed-00001", "doomed-00002", "doomed-00003", "doomed-00004"]);
    assert.ok(Date.now() - t0 < KEEPALIVE * 1.5 * 1000 + 5000);
  });

  it("runs a canary rollout from the page to convergence", async () => {
    const config = { ...SIM_BASE_CONFIG, dns64: { upstreams: ["198.51.100.54"] } };
    await page.locator("#rollout summary").click();
    await page.locator("#rollout-group").selectOption("edge");
    await page.locator("#rollout-canary").fill("2");
    await page.locator("#rollout-batch").fill("100");
    await page.locator("#rollout-config").fill(JSON.stringify(config));
    await page.locator("#rollout-start").click();
    const log = async () => (await page.locator("#rollout-log li").allTextContents()).join("\n");
    await waitFor("rollout done", async () => /^done$/m.test(await log()), 120_000);
    assert.match(await log(), /195 online in 3 wave\(s\), 5 offline/);
    assert.match(await log(), /wave 1\/3: 2 applied/);
    // The rollout's own subscriptions come and go on the dashboard's connection: its table must keep updating.
    await waitFor("195 converged rows", async () => (await page.locator("#fleet tbody tr .pill.converged").count()) === 195, 20_000);
    await page.screenshot({ path: `${SHOTS}/rollout.png`, fullPage: false });
  });

  it("shows a box's probes and charts, answers a ping, and compares its config with desired", async () => {
    await page.locator('#fleet a[href="#/box/box-00007"]').click();
    await page.locator("#box-title").waitFor();
    assert.equal(await page.locator("#box-title").textContent(), "box-00007");
    await waitFor("probes", async () => (await page.locator("#probes tr").count()) > 0, 10_000);
    // The box's retained inventory (the simulator's): NICs with MAC, speed and driver.
    await waitFor(
      "hardware",
      async () => /lan 02:00:00:00:00:01 1000 Mb\/s sim/.test((await page.locator("#hardware").textContent()) ?? ""),
      10_000,
    );
    // Telemetry every 5 s: the charts have their first samples by now.
    await waitFor("5 charts with data", async () => (await page.locator(".chart canvas").count()) === 5, 10_000);
    await page.locator("#act-ping").click();
    await waitFor("ping answered", async () => /^ping: ok/.test((await page.locator("#answer").textContent()) ?? ""), 20_000);
    await page.locator("#act-diff").click();
    await waitFor("diff", async () => (await page.locator("#diff").count()) === 1, 20_000);
    assert.equal(await page.locator("#diff").textContent(), "running = desired");
    // Two more telemetry samples (every 5 s) draw lines for the screenshot.
    await new Promise((r) => setTimeout(r, 10_000));
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `${SHOTS}/box-phone.png`, fullPage: true });
  });

  it("logged no errors in the page", () => {
    assert.deepEqual(errors, []);
  });

  it("refuses another Host (DNS rebinding), actions without its header, and a non-loopback listen without a token", async () => {
    // fetch() will not send another Host: a raw request does, as a rebound DNS name would.
    const status = await new Promise<number | undefined>((resolve, reject) =>
      request(url, { headers: { host: "attacker.example:80" } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
        .on("error", reject)
        .end(),
    );
    assert.equal(status, 421);
    const post = await fetch(new URL("/api/command", url), {
      method: "POST",
      body: JSON.stringify({ device: "box-00001", name: "reboot" }),
    });
    assert.equal(post.status, 403);
    const bad = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const c = spawn(process.execPath, ["out/agent/gate64.cjs", "fleet", "dashboard", "--fleet", fleetFile, "--listen", "0.0.0.0:0"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let err = "";
      c.stderr?.on("data", (d: Buffer) => (err += d.toString()));
      c.once("exit", (code) => resolve({ code, err }));
    });
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /listen: 0\.0\.0\.0 is not loopback: a token/);
  });

  it("with a token: nothing without it, the printed URL sets a cookie that opens the page", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gate64-dashboard-token-"));
    writeFileSync(join(dir, "token"), "0123456789abcdef0123\n", { mode: 0o600 });
    const { child: c, url: printed } = await startDashboard(fleetFile, `127.0.0.1:${port + 1}`, ["--token-file", join(dir, "token")]);
    try {
      assert.match(printed, /\?token=0123456789abcdef0123$/);
      const base = printed.replace(/\?.*/, "");
      assert.equal((await fetch(base)).status, 401);
      assert.equal((await fetch(new URL("/events", base))).status, 401);
      const set = await fetch(printed, { redirect: "manual" });
      assert.equal(set.status, 303);
      const cookie = (set.headers.get("set-cookie") ?? "").split(";")[0] as string;
      assert.match(set.headers.get("set-cookie") ?? "", /HttpOnly; SameSite=Strict/);
      const page = await fetch(base, { headers: { cookie } });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<div id="app">/);
    } finally {
      c.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
