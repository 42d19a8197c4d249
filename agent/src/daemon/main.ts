// gate64-agent: the daemon on the device. A small core wires the modules: the applier (boot and
// transactional changes), the health loop (probes, repairs), the watchdog, the control socket (the
// console CLI), metrics and fleet reporting. Each module's failure is logged with its name, and
// none of them keeps the others from starting: a box whose configuration fails to apply stays
// reachable on its console and over the fleet, to be fixed.
import { Applier } from "../apply/applier.js";
import { validateConfigText } from "../config/parse-text.js";
import type { Config } from "../config/schema.js";
import { formatProblems, validateConfig } from "../config/validate.js";
import { Device } from "../device/device.js";
import { EventBus } from "../device/events.js";
import { readJson } from "../lib/read-json.js";
import { readFacts } from "../observe/facts.js";
import { checkHealth } from "../observe/health.js";
import { PATHS } from "../paths.js";
import { IdentitySchema } from "../provision/schema.js";
import { realSystem } from "../system/real.js";
import type { System } from "../system/system.js";
import { Updater } from "../update/updater.js";
import { ControlSocket } from "./control.js";
import { FleetConnection } from "./fleet-connection.js";
import { HealthLoop } from "./health-loop.js";
import { createLogger } from "./log.js";
import { MetricsServer } from "./metrics-server.js";
import { type Module, startAll, stopAll } from "./module.js";
import { WanFollower } from "./wan-follower.js";
import { notifier, WatchdogFeeder } from "./watchdog.js";

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

  // Firmware updates: what the last attempt came to is settled before anything is reported.
  const updater = new Updater({
    sys,
    log,
    version,
    blocker: () =>
      applier.awaitingConfirmation === null
        ? null
        : `a configuration change is awaiting confirmation (revision ${applier.awaitingConfirmation})`,
    onChange: (s) => bus.emit("update", s),
  });
  await updater.recover().catch((e: unknown) => log.error(`update: ${String(e)}`));

  const device = new Device({
    updater,
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
  bus.on("health", "update", () => updater.refresh());

  // The long-running parts, started in this order and stopped in reverse.
  const wan = new WanFollower({ sys, applier, device, log });
  const health = new HealthLoop({ sys, device, applier, bus, wan, notify, log });
  const modules: Module[] = [
    wan,
    new ControlSocket({ device, log }),
    new MetricsServer({ sys, device, log }),
    new FleetConnection({ device, sys, bus, log }),
    new WatchdogFeeder({ sys, notify, busySince: () => health.busySince }),
  ];
  await startAll(modules, log);
  await notify.ready(`revision ${applier.running?.revision}`);
  await startAll([health], log);

  const shutdown = async () => {
    await stopAll([...modules, health], log);
    applier.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => void shutdown());
}

main().catch((err: unknown) => {
  log.error(`gate64-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
