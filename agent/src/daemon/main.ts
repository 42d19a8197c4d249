// gate64-agent: the daemon on the device. A small core wires the modules: the applier (boot and
// transactional changes), the boot retries, the health loop (probes, repairs), the watchdog, the
// control socket (the console CLI), metrics and fleet reporting. Each module's failure is logged with its name, and
// none of them keeps the others from starting: a box whose configuration fails to apply stays
// reachable on its console and over the fleet, to be fixed.
import "./zod-jitless.js";
import * as nodeModule from "node:module";
import { Applier } from "../apply/applier.js";
import { keptCopyName, type MigrationPlan, planMigration } from "../config/migrate.js";
import { validateConfigText } from "../config/parse-text.js";
import type { Config } from "../config/schema.js";
import { formatProblems, validateConfig } from "../config/validate.js";
import { Device } from "../device/device.js";
import { EventBus } from "../device/events.js";
import { readJson } from "../lib/read-json.js";
import { readFacts } from "../observe/facts.js";
import { checkHealth } from "../observe/health.js";
import { readInventory } from "../observe/inventory.js";
import { ensureProbeNamespace } from "../observe/probe-ns.js";
import { PATHS } from "../paths.js";
import { IdentitySchema } from "../provision/schema.js";
import { withCommandLog } from "../system/command-log.js";
import { realSystem } from "../system/real.js";
import type { System } from "../system/system.js";
import { Updater } from "../update/updater.js";
import { BootRetry } from "./boot-retry.js";
import { ControlSocket } from "./control.js";
import { FleetConnection } from "./fleet-connection.js";
import { HealthLoop } from "./health-loop.js";
import { createLogger } from "./log.js";
import { MetricsServer } from "./metrics-server.js";
import { type Module, startAll, stopAll } from "./module.js";
import { StatusFile } from "./status-file.js";
import { INTERFACE_WAIT_MS, waitForInterfaces } from "./wait-interfaces.js";
import { WanFollower } from "./wan-follower.js";
import { notifier, WatchdogFeeder } from "./watchdog.js";

const log = createLogger();

interface Loaded {
  config: Config;
  input: unknown;
  source: string;
}

/**
 * config.json in this firmware's format: an older one is migrated (the original kept as
 * config.v<N>.json until this slot is blessed); one a newer firmware wrote is read from the copy
 * that firmware kept for this version (the box came back from an update).
 */
async function configText(sys: System): Promise<{ text: string | null; source: string }> {
  const text = await sys.readFile(PATHS.config);
  if (text === null) return { text, source: PATHS.config };
  let plan: MigrationPlan;
  try {
    plan = planMigration(JSON.parse(text));
  } catch {
    return { text, source: PATHS.config }; // validation says what is wrong with it
  }
  if (plan.kind === "current") return { text, source: PATHS.config };
  if (plan.kind === "newer") {
    const kept = `${PATHS.data}/${plan.fallback}`;
    log(`config: ${PATHS.config} is format ${plan.version}, newer than this firmware's; reading ${kept}`);
    return { text: await sys.readFile(kept), source: kept };
  }
  const copy = `${PATHS.data}/${keptCopyName(plan.from)}`;
  if ((await sys.readFile(copy)) === null) await sys.writeFileAtomic(copy, text, 0o600);
  const migrated = `${JSON.stringify(plan.config, null, 2)}\n`;
  await sys.writeFileAtomic(PATHS.config, migrated, 0o600);
  log(`config: migrated ${PATHS.config} from format ${plan.from}; the original is kept as ${copy}`);
  return { text: migrated, source: PATHS.config };
}

async function loadConfigs(sys: System): Promise<Loaded[]> {
  const out: Loaded[] = [];
  const main = await configText(sys);
  for (const [file, text] of [
    [main.source, main.text],
    [PATHS.defaultConfig, await sys.readFile(PATHS.defaultConfig)],
  ] as const) {
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
  const main = loaded.filter((l) => l.source !== PATHS.defaultConfig);
  const fallback = loaded.filter((l) => l.source === PATHS.defaultConfig);
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
  const sys = withCommandLog(realSystem, log.debug);
  const notify = notifier(sys);
  const bus = new EventBus(log.error);
  const id = await deviceId(sys);
  const version = ((await sys.readFile(PATHS.version)) ?? "dev").trim();
  const startedAt = sys.now();

  const applier = new Applier({
    sys,
    log,
    facts: (c) => readFacts(sys, c, id),
    check: (r, only) => checkHealth(sys, r, only),
    onChange: (r) => bus.emit("applied", r),
  });
  // config.json first; if it cannot be put into effect, the next candidate, while the failed one
  // is tried again later (boot-retry.ts). The failure stays in health (probe "boot-apply") until
  // a change is committed.
  const retry: BootRetry = new BootRetry({ apply: (input, meta) => device.apply(input, meta), bus, log });
  // One wait for every candidate together: each names lan and wan, and waiting anew for a NIC that
  // is gone would outlast the unit's TimeoutStartSec (180 s) by the third candidate.
  const interfacesBy = sys.now() + INTERFACE_WAIT_MS;
  const candidates = await bootCandidates(sys, applier);
  // The NAT64 probe's namespace is the same whatever the configuration: made now, beside the boot
  // apply (which waits for CoreDNS with the CPUs to spare), not in the first health round, of
  // whose 2.1 s on a TCG reboot it took 0.9. A failure here is the first round's to retry.
  if (candidates[0]?.config.nat64.enabled) void ensureProbeNamespace(sys).catch((e: unknown) => log.error(`probe namespace: ${String(e)}`));
  for (const { config, input, source } of candidates) {
    log.setLevel(config.logging.level);
    log(`gate64-agent ${version}: device ${id}, config from ${source}`);
    await waitForInterfaces(sys, config, log, interfacesBy - sys.now());
    const boot = await applier.boot(config, input);
    if (boot.error === undefined) {
      log(`applied revision ${applier.running?.revision}: ${boot.services.join(", ")}`);
      retry.booted(source);
      break;
    }
    retry.failed(source, input, boot.error);
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
    check: async (r) => retry.report(await checkHealth(sys, r)),
    log,
    startedAt,
    inventory: () => readInventory(sys, version),
  });
  const running = () => device.running();
  bus.on("applied", "log-level", () => log.setLevel(running().config.logging.level));
  bus.on("health", "update", () => updater.refresh());

  // The long-running parts, started in this order and stopped in reverse.
  const wan = new WanFollower({ sys, applier, device, log });
  const health = new HealthLoop({ sys, device, applier, bus, wan, notify, log });
  const modules: Module[] = [
    // First: a change committed on the console or over the fleet ends the boot failure.
    retry,
    wan,
    new ControlSocket({ device, log }),
    new StatusFile({ sys, device, bus, log }),
    new MetricsServer({ sys, device, log }),
    new FleetConnection({ device, sys, bus, log }),
    new WatchdogFeeder({ sys, notify, busySince: () => health.busySince }),
  ];
  // The first health round runs while the modules start: loading mqtt.js and connecting to the
  // broker take seconds under TCG, and a fleet connection publishes the last health report when
  // it comes up, so the first healthy report waits for the longer of the two, not both.
  const firstRound = startAll([health], log);
  await startAll(modules, log);
  await notify.ready(`revision ${applier.running?.revision}`);
  // Node writes its compile cache (NODE_COMPILE_CACHE, set by the unit) only at exit otherwise,
  // which a power cut or a watchdog kill never reaches. Node < 22.10 has no such call.
  (nodeModule as { flushCompileCache?: () => void }).flushCompileCache?.();
  await firstRound;
  // After the first health round: reading files, it takes no time from the boot's probes.
  void device.inventory();

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
