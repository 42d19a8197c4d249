// gate64-agent: the daemon on the device. A small core wires the modules: the applier (boot and
// transactional changes), the health loop (probes, repairs, watchdog), the control socket (the
// console CLI) and fleet reporting. Each module's failure is logged with its name.
import { join } from "node:path";
import { Applier } from "../apply/applier.js";
import { validateConfigText } from "../config/parse-text.js";
import type { Config } from "../config/schema.js";
import { formatProblems } from "../config/validate.js";
import { CONTROL_SOCKET, type ControlRequest } from "../control/protocol.js";
import { serveControl } from "../control/server.js";
import { FleetAgent } from "../fleet/agent.js";
import { PATHS } from "../paths.js";
import { IdentitySchema } from "../provision/schema.js";
import { MANAGEMENT_PORTS } from "../render/nftables.js";
import { realSystem } from "../system/real.js";
import type { System } from "../system/system.js";
import { Device } from "./device.js";
import { EventBus } from "./events.js";
import { wanIPv4 } from "./facts.js";
import { checkHealth } from "./health.js";
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

  const device = new Device({ sys, applier, bus, id, firmware: version, check: (r) => checkHealth(sys, r), log, startedAt });
  const running = () => device.running();

  const handle = async (req: ControlRequest): Promise<unknown> => {
    switch (req.cmd) {
      case "status":
        return { ...device.status(), healthReport: device.lastHealth };
      case "health":
        return device.runHealth();
      case "config.show":
        return (await device.configShow(req.revision))?.config ?? null;
      case "config.history":
        return device.history();
      case "config.diff":
        return device.diff(req.from, req.to);
      case "config.apply":
        return device.apply(req.config, {
          by: req.by,
          ...(req.message ? { message: req.message } : {}),
          ...(req.confirmSec ? { confirmSec: req.confirmSec } : {}),
        });
      case "config.confirm":
        return device.confirm(req.by);
      case "config.rollback":
        return device.rollback(req.revision, { by: req.by });
      case "reboot":
        return device.reboot(req.by);
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

  // The fleet connection follows the running mqtt section: a console change to it reconnects.
  let fleet = new FleetAgent({ device, mqtt: running().config.mqtt, log });
  await fleet.start().catch((e: unknown) => log(`fleet: ${String(e)}`));
  bus.on("applied", "fleet-restart", async () => {
    const m = running().config.mqtt;
    if (JSON.stringify(m) === JSON.stringify(fleet.mqtt)) return;
    log("fleet: broker settings changed; reconnecting");
    await fleet.stop();
    fleet = new FleetAgent({ device, mqtt: m, log });
    await fleet.start();
  });
  await notify.ready(`revision ${applier.running?.revision}`);

  const cycle = async () => {
    const r = running();
    const h = await device.runHealth();
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
