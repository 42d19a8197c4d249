// gate64-agent: the daemon on the device. A small core wires the modules: the applier (boot and
// transactional changes), the health loop (probes, repairs, watchdog), the control socket (the
// console CLI) and fleet reporting. Each module's failure is logged with its name.
import { join } from "node:path";
import { Applier } from "../apply/applier.js";
import { diffConfigs } from "../apply/revisions.js";
import { validateConfigText } from "../config/parse-text.js";
import type { Config } from "../config/schema.js";
import { formatProblems } from "../config/validate.js";
import { CONTROL_SOCKET, type ControlRequest } from "../control/protocol.js";
import { serveControl } from "../control/server.js";
import { PATHS } from "../paths.js";
import { IdentitySchema } from "../provision/schema.js";
import { MANAGEMENT_PORTS } from "../render/nftables.js";
import { realSystem } from "../system/real.js";
import type { System } from "../system/system.js";
import { EventBus } from "./events.js";
import { wanIPv4 } from "./facts.js";
import { Fleet } from "./fleet.js";
import { checkHealth, type HealthReport } from "./health.js";
import { serveMetrics } from "./metrics.js";
import { notifier } from "./watchdog.js";

const log = (line: string) => process.stdout.write(`${line}\n`);

async function loadConfig(sys: System): Promise<{ config: Config; input: unknown; source: string }> {
  for (const file of [PATHS.config, PATHS.defaultConfig]) {
    const text = await sys.readFile(file);
    if (text === null) continue;
    const v = validateConfigText(text);
    if (v.ok) return { config: v.config, input: JSON.parse(text), source: file };
    log(`config: ${file} refused, falling back:\n${formatProblems(v.problems)}`);
  }
  throw new Error(`no usable configuration in ${PATHS.config} or ${PATHS.defaultConfig}`);
}

async function deviceId(sys: System): Promise<string> {
  const text = await sys.readFile(PATHS.identity);
  const parsed = text === null ? null : IdentitySchema.safeParse(JSON.parse(text));
  return parsed?.success ? parsed.data.deviceId : "unprovisioned";
}

async function main(): Promise<void> {
  const sys = realSystem;
  const notify = notifier(sys);
  const bus = new EventBus(log);
  const id = await deviceId(sys);
  const version = ((await sys.readFile(PATHS.version)) ?? "dev").trim();
  const startedAt = sys.now();
  const { config: bootConfig, input, source } = await loadConfig(sys);
  log(`gate64-agent ${version}: device ${id}, config from ${source}`);

  const applier = new Applier({
    sys,
    log,
    facts: async (c) => {
      const wan = await wanIPv4(sys, c, 60_000);
      return { deviceId: id, ...(wan === undefined ? {} : { wanIPv4: wan }) };
    },
    check: (r) => checkHealth(sys, r),
  });
  const services = await applier.boot(bootConfig, input);
  log(`applied revision ${applier.running?.revision}: ${services.join(", ")}`);

  let lastHealth: HealthReport | null = null;
  const running = () => {
    const r = applier.running;
    if (r === null) throw new Error("no configuration is running");
    return r;
  };
  const state = () => ({
    deviceId: id,
    firmware: version,
    revision: applier.running?.revision ?? null,
    awaitingConfirmation: applier.awaitingConfirmation,
    health: lastHealth?.status ?? "unknown",
    lan: applier.running?.resolved.lanAddress ?? null,
    wanIPv4: applier.running?.resolved.wanIPv4 ?? null,
    uptimeSec: Math.round((sys.now() - startedAt) / 1000),
  });

  const handle = async (req: ControlRequest): Promise<unknown> => {
    switch (req.cmd) {
      case "status":
        return { ...state(), healthReport: lastHealth };
      case "health":
        lastHealth = await checkHealth(sys, running().resolved);
        bus.emit("health", lastHealth);
        return lastHealth;
      case "config.show":
        return req.revision === undefined ? running().input : ((await applier.revisions.get(req.revision))?.config ?? null);
      case "config.history":
        return (await applier.revisions.list()).map(({ config: _c, ...rest }) => rest);
      case "config.diff": {
        const from = req.from === 0 ? null : await applier.revisions.get(req.from);
        const to = req.to === undefined ? running().input : (await applier.revisions.get(req.to))?.config;
        return diffConfigs(from?.config ?? {}, to ?? {});
      }
      case "config.apply":
        return applier.apply(req.config, {
          by: req.by,
          ...(req.message ? { message: req.message } : {}),
          ...(req.confirmSec ? { confirmSec: req.confirmSec } : {}),
        });
      case "config.confirm":
        return applier.confirm(req.by);
      case "config.rollback":
        return applier.rollback(req.revision, { by: req.by });
      case "reboot":
        log(`reboot requested by ${req.by}`);
        setTimeout(() => void sys.run("systemctl", ["reboot"]), 1000);
        return { rebooting: true };
    }
  };
  const control = await serveControl(join(PATHS.run, CONTROL_SOCKET), handle, log);

  // Prometheus text on the LAN address; the firewall admits only firewall.management networks.
  const r0 = running();
  const metrics = await serveMetrics(
    sys,
    r0.resolved.lanHost,
    MANAGEMENT_PORTS.metrics,
    [r0.config.interfaces.lan.name, r0.config.interfaces.wan.name],
    log,
  ).catch((e: unknown) => {
    log(`metrics: ${String(e)}`);
    return null;
  });

  const fleet = new Fleet({ config: running().config, deviceId: id, version, bus, log, state });
  await fleet.start().catch((e: unknown) => log(`fleet: ${String(e)}`));
  await notify.ready(`revision ${applier.running?.revision}`);

  const cycle = async () => {
    const r = running();
    const h = await checkHealth(sys, r.resolved);
    lastHealth = h;
    bus.emit("health", h);
    const failed = h.probes.filter((p) => p.status !== "ok");
    if (failed.length > 0) log(`health ${h.status}: ${failed.map((p) => `${p.name}: ${p.detail}`).join("; ")}`);
    // Repairs put back what the running system lost (a removed Jool instance, a dead CoreDNS).
    if (failed.some((p) => p.name === "jool")) {
      await sys.run("modprobe", ["jool"]);
      await sys.run("jool", ["file", "handle", join(PATHS.current, "jool/nat64.json")]);
      log("repair: Jool instance re-applied");
    }
    if (failed.some((p) => p.name === "offloads")) {
      for (const [dev, features] of Object.entries(
        JSON.parse((await sys.readFile(join(PATHS.current, "offloads.json"))) ?? "{}") as Record<string, Record<string, string>>,
      ))
        await sys.run("ethtool", ["-K", dev, ...Object.entries(features).flat()]);
      log("repair: NIC offloads set again");
    }
    if (failed.some((p) => p.name === "coredns" || p.name === "dns64")) {
      await sys.run("systemctl", ["restart", "coredns.service"]);
      log("repair: CoreDNS restarted");
    }
    await notify.status(`revision ${r.revision}, health ${h.status}`);
    // The loop ran: feed the watchdog. A hung loop (or agent) stops feeding it and systemd
    // restarts the agent; failures of Jool or CoreDNS are the loop's to repair, not a reason.
    await notify.watchdog();
  };
  await cycle().catch((e: unknown) => log(`health: ${String(e)}`));
  const timer = setInterval(
    () => void cycle().catch((e: unknown) => log(`health: ${String(e)}`)),
    running().config.health.intervalSec * 1000,
  );

  const shutdown = async () => {
    clearInterval(timer);
    applier.close();
    control.close();
    metrics?.close();
    await fleet.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => void shutdown());
}

main().catch((err: unknown) => {
  log(`gate64-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
