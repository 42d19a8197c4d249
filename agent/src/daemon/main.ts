// gate64-agent: the daemon on the device. Loads the configuration, applies it, keeps checking
// that translation works (repairing Jool and CoreDNS when they fail), and reports to the fleet.
import { join } from "node:path";
import { validateConfigText } from "../config/parse-text.js";
import type { Config } from "../config/schema.js";
import { formatProblems } from "../config/validate.js";
import { PATHS } from "../paths.js";
import { IdentitySchema } from "../provision/schema.js";
import { resolve } from "../render/context.js";
import { type RenderedFiles, renderAll } from "../render/index.js";
import { realSystem } from "../system/real.js";
import type { System } from "../system/system.js";
import { EventBus } from "./events.js";
import { wanIPv4 } from "./facts.js";
import { Fleet } from "./fleet.js";
import { checkHealth, type HealthReport } from "./health.js";
import { install } from "./install.js";
import { notifier } from "./watchdog.js";

const log = (line: string) => process.stdout.write(`${line}\n`);

async function loadConfig(sys: System): Promise<{ config: Config; source: string }> {
  for (const file of [PATHS.config, PATHS.defaultConfig]) {
    const text = await sys.readFile(file);
    if (text === null) continue;
    const v = validateConfigText(text);
    if (v.ok) return { config: v.config, source: file };
    log(`config: ${file} refused, falling back:\n${formatProblems(v.problems)}`);
  }
  throw new Error(`no usable configuration in ${PATHS.config} or ${PATHS.defaultConfig}`);
}

async function deviceId(sys: System): Promise<string> {
  const text = await sys.readFile(PATHS.identity);
  const parsed = text === null ? null : IdentitySchema.safeParse(JSON.parse(text));
  return parsed?.success ? parsed.data.deviceId : "unprovisioned";
}

async function writeRevision(sys: System, files: RenderedFiles, revision: number): Promise<string> {
  const dir = join(PATHS.run, `rev-${revision}`);
  await sys.remove(dir);
  for (const [rel, text] of Object.entries(files)) await sys.writeFileAtomic(join(dir, rel), text);
  await sys.swapSymlink(`rev-${revision}`, PATHS.current);
  return dir;
}

async function main(): Promise<void> {
  const sys = realSystem;
  const notify = notifier(sys);
  const bus = new EventBus(log);
  const id = await deviceId(sys);
  const { config, source } = await loadConfig(sys);
  const version = ((await sys.readFile(PATHS.version)) ?? "dev").trim();
  log(`gate64-agent ${version}: device ${id}, config from ${source}`);

  const wan = await wanIPv4(sys, config, 60_000);
  const facts = { deviceId: id, ...(wan === undefined ? {} : { wanIPv4: wan }) };
  const resolved = resolve(config, facts);
  const files = renderAll(config, facts);
  const dir = await writeRevision(sys, files, 1);
  const services = await install(sys, config, dir, null, files);
  log(`applied revision 1: ${services.join(", ")}`);
  bus.emit("applied", { revision: 1, services });

  let lastHealth: HealthReport | null = null;
  const fleet = new Fleet({
    config,
    deviceId: id,
    version,
    bus,
    log,
    state: () => ({
      deviceId: id,
      firmware: version,
      revision: 1,
      health: lastHealth?.status ?? "unknown",
      lan: resolved.lanAddress,
      wanIPv4: wan ?? null,
    }),
  });
  await fleet.start();
  await notify.ready(`applied revision 1`);

  const cycle = async () => {
    const h = await checkHealth(sys, resolved);
    lastHealth = h;
    bus.emit("health", h);
    const failed = h.probes.filter((p) => p.status !== "ok");
    if (failed.length > 0) log(`health ${h.status}: ${failed.map((p) => `${p.name}: ${p.detail}`).join("; ")}`);
    // Repairs: put back what the running system lost.
    if (failed.some((p) => p.name === "jool")) await sys.run("jool", ["file", "handle", join(PATHS.current, "jool/nat64.json")]);
    if (failed.some((p) => p.name === "coredns" || p.name === "dns64")) await sys.run("systemctl", ["restart", "coredns.service"]);
    await notify.status(`health ${h.status}`);
    // The watchdog is fed only by a loop that ran; a failed box still pings so that systemd
    // does not restart the agent in a loop while the agent itself is repairing.
    await notify.watchdog();
  };
  await cycle();
  const timer = setInterval(() => void cycle().catch((e: unknown) => log(`health: ${String(e)}`)), config.health.intervalSec * 1000);

  const shutdown = async () => {
    clearInterval(timer);
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
