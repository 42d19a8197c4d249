// gate64-agent: the daemon on the device. A small core wires the modules: the applier (boot and
// transactional changes), the health loop (probes, repairs), the watchdog, the control socket (the
// console CLI), metrics and fleet reporting. Each module's failure is logged with its name, and
// none of them keeps the others from starting: a box whose configuration fails to apply stays
// reachable on its console and over the fleet, to be fixed.
import { join } from "node:path";
import { Applier } from "../apply/applier.js";
import { validateConfigText } from "../config/parse-text.js";
import type { Config } from "../config/schema.js";
import { formatProblems, validateConfig } from "../config/validate.js";
import { CONTROL_SOCKET, type ControlRequest } from "../control/protocol.js";
import { serveControl } from "../control/server.js";
import { Device } from "../device/device.js";
import { EventBus } from "../device/events.js";
import type { ControlHandlers } from "../device/replies.js";
import { FleetAgent } from "../fleet/agent.js";
import { readJson } from "../lib/read-json.js";
import { readFacts } from "../observe/facts.js";
import { checkHealth } from "../observe/health.js";
import { serveMetrics } from "../observe/metrics.js";
import { PATHS } from "../paths.js";
import { IdentitySchema } from "../provision/schema.js";
import { MANAGEMENT_PORTS } from "../render/nftables.js";
import { realSystem } from "../system/real.js";
import type { System } from "../system/system.js";
import { createLogger } from "./log.js";
import { notifier } from "./watchdog.js";

const log = createLogger();

interface Loaded {
  config: Config;
  input: unknown;
  source: string;
}

async function loadConfigs(sys: System): Promise<Loaded[]> {
  const out: Loaded[] = [];
  for (const file of [PATHS.config, PATHS.defaultConfig]) {
    const text = await sys.readFile(file);
    if (text === null) continue;
    const v = validateConfigText(text);
    if (v.ok) out.push({ config: v.config, input: JSON.parse(text), source: file });
    else log.error(`config: ${file} refused, falling back:\n${formatProblems(v.problems)}`);
  }
  if (out.length === 0) throw new Error(`no usable configuration in ${PATHS.config} or ${PATHS.defaultConfig}`);
  return out;
}

/**
 * What to boot, in order: config.json, then the earlier committed revisions (newest first, the
 * last good configurations, which normally keep the box on its fleet), then the image default.
 */
async function bootCandidates(sys: System, applier: Applier): Promise<Loaded[]> {
  const loaded = await loadConfigs(sys);
  const main = loaded.filter((l) => l.source === PATHS.config);
  const fallback = loaded.filter((l) => l.source !== PATHS.config);
  const seen = new Set(main.map((l) => JSON.stringify(l.input)));
  const history: Loaded[] = [];
  for (const r of (await applier.revisions.list()).filter((x) => x.outcome === "committed").reverse()) {
    const v = validateConfig(r.config);
    if (!v.ok || seen.has(JSON.stringify(r.config)) || history.length >= 3) continue;
    seen.add(JSON.stringify(r.config));
    history.push({ config: v.config, input: r.config, source: `revision ${r.revision}` });
  }
  return [...main, ...history, ...fallback];
}

async function deviceId(sys: System): Promise<string> {
  const r = await readJson(sys, PATHS.identity, IdentitySchema, log.error);
  return r.ok ? r.value.deviceId : "unprovisioned";
}

/** systemd's watchdog is fed while the event loop runs, every third of WatchdogSec (90 s). */
const WATCHDOG_FEED_MS = 30_000;
/** A health cycle still running after this long counts as hung: the watchdog is no longer fed. */
const HUNG_CYCLE_MS = 10 * 60_000;

async function main(): Promise<void> {
  const sys = realSystem;
  const notify = notifier(sys);
  const bus = new EventBus(log.error);
  const id = await deviceId(sys);
  const version = ((await sys.readFile(PATHS.version)) ?? "dev").trim();
  const startedAt = sys.now();

  const applier = new Applier({
    sys,
    log,
    facts: (c) => readFacts(sys, c, id),
    check: (r) => checkHealth(sys, r),
    onChange: (r) => bus.emit("applied", r),
  });
  // config.json first; if it cannot be put into effect, the image's default configuration. The
  // failure stays in health (probe "boot-apply") until a change is committed.
  let bootError: string | undefined;
  for (const { config, input, source } of await bootCandidates(sys, applier)) {
    log.setLevel(config.logging.level);
    log(`gate64-agent ${version}: device ${id}, config from ${source}`);
    const boot = await applier.boot(config, input);
    if (boot.error === undefined) {
      log(`applied revision ${applier.running?.revision}: ${boot.services.join(", ")}`);
      if (bootError !== undefined) bootError += `; running ${source} instead`;
      break;
    }
    bootError ??= `${source}: ${boot.error}`;
    log.error(`boot apply failed: ${source}: ${boot.error}`);
  }

  const device = new Device({
    sys,
    applier,
    bus,
    id,
    firmware: version,
    check: async (r) => {
      const h = await checkHealth(sys, r);
      if (bootError === undefined) return h;
      // Reported until a later apply succeeds.
      const probe = { name: "boot-apply", status: "failed" as const, detail: bootError, durationMs: 0 };
      return { ...h, status: "failed", probes: [probe, ...h.probes] };
    },
    log,
    startedAt,
  });
  const running = () => device.running();
  bus.on("applied", "boot-error", (r) => {
    if (r.outcome === "committed") bootError = undefined;
  });
  bus.on("applied", "log-level", () => log.setLevel(running().config.logging.level));

  // pool4 and the translator's guard follow the WAN's addresses (DHCP renumbering) without a new
  // revision; `ip monitor` says when, the health cycle checks again in case an event was missed.
  const followWan = async () => {
    const changed = await applier.refresh();
    if (changed.length === 0) return;
    log(`wan: IPv4 now ${applier.running?.resolved.wanIPv4 ?? "none"}; updated ${changed.join(", ")}`);
    // Reported now (health and state carry the address), not at the next interval.
    void device.runHealth().catch((e: unknown) => log.error(`health: ${String(e)}`));
  };
  let wanTimer: NodeJS.Timeout | undefined;
  const stopWatch = sys.watch("ip", ["-4", "monitor", "address"], () => {
    clearTimeout(wanTimer);
    wanTimer = setTimeout(() => void followWan().catch((e: unknown) => log.error(`wan: ${String(e)}`)), 500);
  });

  // One handler per control request, typed against what the console CLI reads (device/replies.ts).
  const handlers: ControlHandlers = {
    status: async () => ({ ...device.status(), healthReport: device.lastHealth }),
    health: () => device.runHealth(),
    "config.show": async (req) => {
      const shown = await device.configShow(req.revision);
      return req.withRevision ? shown : (shown?.config ?? null);
    },
    "config.history": () => device.history(),
    "config.diff": (req) => device.diff(req.from, req.to),
    "config.apply": (req) =>
      device.apply(req.config, {
        by: req.by,
        ...(req.message ? { message: req.message } : {}),
        ...(req.confirmSec ? { confirmSec: req.confirmSec } : {}),
        ...(req.baseRevision === undefined ? {} : { baseRevision: req.baseRevision }),
      }),
    "config.confirm": (req) => device.confirm(req.by),
    "config.rollback": (req) => device.rollback(req.revision, { by: req.by }),
    reboot: async (req) => device.reboot(req.by),
  };
  const handle = (req: ControlRequest): Promise<unknown> => (handlers[req.cmd] as (r: ControlRequest) => Promise<unknown>)(req);
  const control = await serveControl(join(PATHS.run, CONTROL_SOCKET), handle, log).catch((e: unknown) => {
    log.error(`control: ${String(e)}`);
    return null;
  });

  // Prometheus text on the LAN address; the firewall admits only firewall.management networks.
  const r0 = running();
  const metrics = await serveMetrics(
    sys,
    r0.resolved.lanHost,
    MANAGEMENT_PORTS.metrics,
    [r0.config.interfaces.lan.name, r0.config.interfaces.wan.name],
    log,
  ).catch((e: unknown) => {
    log.error(`metrics: ${String(e)}`);
    return null;
  });

  // The fleet connection follows the running mqtt section and device id: a change reconnects.
  const fleetKey = () => JSON.stringify([running().config.mqtt, running().resolved.deviceId]);
  let fleet = new FleetAgent({ device, sys, bus, mqtt: running().config.mqtt, log });
  let fleetFor = fleetKey();
  await fleet.start().catch((e: unknown) => log.error(`fleet: ${String(e)}`));
  bus.on("applied", "fleet-restart", async () => {
    if (fleetKey() === fleetFor) return;
    log("fleet: broker settings or device id changed; reconnecting");
    await fleet.stop();
    fleet = new FleetAgent({ device, sys, bus, mqtt: running().config.mqtt, log });
    fleetFor = fleetKey();
    await fleet.start();
  });

  // The watchdog follows the event loop, not the health interval (which may be longer than
  // WatchdogSec): a blocked loop, or a health cycle stuck for 10 minutes, stops the feeding.
  let cycleStartedAt: number | null = null;
  const feeder = setInterval(() => {
    if (cycleStartedAt !== null && sys.now() - cycleStartedAt > HUNG_CYCLE_MS) return;
    void notify.watchdog();
  }, WATCHDOG_FEED_MS);
  await notify.ready(`revision ${applier.running?.revision}`);
  void notify.watchdog();

  const cycle = async () => {
    if (cycleStartedAt !== null) return; // the previous cycle is still running
    cycleStartedAt = sys.now();
    try {
      await followWan().catch((e: unknown) => log.error(`wan: ${String(e)}`));
      const h = await device.runHealth();
      const failed = h.probes.filter((p) => p.status !== "ok");
      if (failed.length > 0) log.warn(`health ${h.status}: ${failed.map((p) => `${p.name}: ${p.detail}`).join("; ")}`);
      else log.debug(`health ok: ${h.probes.map((p) => p.name).join(", ")}`);
      // Repairs go through the applier's queue, so they never interleave with an apply or a revert.
      const repaired = await applier.repair(failed.map((p) => p.name));
      if (repaired.length > 0) log(`repair: ${repaired.join(", ")} put back`);
      await notify.status(`revision ${running().revision}, health ${h.status}`);
    } finally {
      cycleStartedAt = null;
    }
  };
  // The health timer follows health.intervalSec when a change sets it.
  let timer: NodeJS.Timeout | undefined;
  let interval = 0;
  const schedule = () => {
    const want = running().config.health.intervalSec * 1000;
    if (want === interval) return;
    interval = want;
    clearInterval(timer);
    timer = setInterval(() => void cycle().catch((e: unknown) => log.error(`health: ${String(e)}`)), interval);
  };
  bus.on("applied", "health-interval", schedule);
  schedule();
  await cycle().catch((e: unknown) => log.error(`health: ${String(e)}`));

  const shutdown = async () => {
    clearInterval(timer);
    clearInterval(feeder);
    clearTimeout(wanTimer);
    stopWatch();
    applier.close();
    control?.close();
    metrics?.close();
    await fleet.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => void shutdown());
}

main().catch((err: unknown) => {
  log.error(`gate64-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
