// gate64-agent: the daemon on the device. A small core wires the modules: the applier (boot and
// transactional changes), the boot retries, the health loop (probes, repairs), the watchdog, the
// control socket (the console CLI), metrics and fleet reporting. Each module's failure is logged with its name, and
// none of them keeps the others from starting: a box whose configuration fails to apply stays
// reachable on its console and over the fleet, to be fixed.
import "./zod-jitless.js";
import * as nodeModule from "node:module";
import { Applier } from "../apply/applier.js";
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
import { bootCandidates } from "./boot-candidates.js";
import { BootRetry } from "./boot-retry.js";
import { pruneCompileCaches } from "./compile-cache.js";
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
  let first = true;
  for await (const { config, input, source } of bootCandidates(sys, applier.revisions, log)) {
    // The NAT64 probe's namespace is the same whatever the configuration: made now, beside the
    // boot apply (which waits for CoreDNS with the CPUs to spare), not in the first health round,
    // of whose 2.1 s on a TCG reboot it took 0.9. A failure here is the first round's to retry.
    if (first && config.nat64.enabled) void ensureProbeNamespace(sys).catch((e: unknown) => log.error(`probe namespace: ${String(e)}`));
    first = false;
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
  pruneCompileCaches(sys, process.env.NODE_COMPILE_CACHE).then(
    (removed) => {
      if (removed.length > 0) log(`removed the compile caches of other firmware versions: ${removed.join(", ")}`);
    },
    (err: unknown) => log.warn(`compile caches: ${err instanceof Error ? err.message : String(err)}`),
  );

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
