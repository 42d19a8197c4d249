// Carries out a plan (plan.ts) on the running system, step by step in the plan's order. Each step
// says what it did so the caller can report it; a failed step throws with the tool's own message.
import { join } from "node:path";
import type { Config } from "../config/schema.js";
import { joolInstanceLoaded, joolPool6 } from "../observe/jool.js";
import { nicIrqs, onlineCpus, rpsFiles } from "../observe/steering.js";
import { PATHS } from "../paths.js";
import { type RenderedFiles, RULESET_FILE } from "../render/index.js";
import { JOOL_INSTANCE } from "../render/jool.js";
import type { OffloadPlan } from "../render/offloads.js";
import { placement, type SteeringPlan } from "../render/steering.js";
import type { System } from "../system/system.js";
import type { Service, Step } from "./plan.js";

export class StepError extends Error {
  constructor(
    readonly service: Service,
    message: string,
  ) {
    super(`${service}: ${message}`);
  }
}

async function must(sys: System, service: Service, cmd: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await sys.run(cmd, args, timeoutMs === undefined ? {} : { timeoutMs });
  if (r.code !== 0) throw new StepError(service, `${cmd} ${args.join(" ")} failed: ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
  return r.stdout;
}

/** /proc/sys's file for a sysctl key: a key with a slash is the path already (an interface name may hold a dot, lan.100); the dotted form's dots are slashes. */
function sysctlPath(key: string): string {
  return join(PATHS.procSys, key.includes("/") ? key : key.replaceAll(".", "/"));
}

/** A write into /proc/sys, failing as its step with the key and the kernel's word. */
async function writeSysctl(sys: System, service: Service, key: string, value: string): Promise<void> {
  await sys.writeKernelFile(sysctlPath(key), `${value}\n`).catch((e: Error) => {
    throw new StepError(service, `${key} = ${value}: ${e.message}`);
  });
}

/** Every setting of a rendered sysctl.d file, in its order. */
export async function writeSysctls(sys: System, text: string): Promise<void> {
  for (const [k, v] of sysctlEntries(text)) await writeSysctl(sys, "sysctl", k, v);
}

export function sysctlEntries(text: string): [key: string, value: string][] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const [k, ...v] = l.split("=");
      return [(k ?? "").trim(), v.join("=").trim()];
    });
}

/** The running CoreDNS's PID, from its unit's cgroup (no process to start: `systemctl` costs 0.1 s under TCG). */
async function corednsPid(sys: System): Promise<number | null> {
  const pid = Number(((await sys.readFile(PATHS.corednsProcs)) ?? "").split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Each NIC's interrupts to its CPU and its receive queues' RPS to the others (render/steering.ts).
 * An interrupt its chip cannot move stays where it is, and a kernel without RPS has no mask to
 * write: neither breaks translation.
 */
async function steer(sys: System, plan: SteeringPlan): Promise<void> {
  const cpus = await onlineCpus(sys);
  const ignore = () => undefined;
  for (const [dev, entry] of Object.entries(plan)) {
    const { irqCpu, rpsMask } = placement(entry, cpus);
    for (const irq of await nicIrqs(sys, dev))
      await sys.writeKernelFile(`/proc/irq/${irq}/smp_affinity_list`, String(irqCpu)).catch(ignore);
    for (const file of await rpsFiles(sys, dev)) await sys.writeKernelFile(file, rpsMask).catch(ignore);
  }
}

/** The rendered .network files by their name in networkd's directory (gate64-*: what is ours there). */
function networkFiles(next: RenderedFiles): Map<string, string> {
  const out = new Map<string, string>();
  for (const [rel, text] of Object.entries(next)) if (rel.startsWith("network/")) out.set(`gate64-${rel.slice("network/".length)}`, text);
  return out;
}

/** The files of ours in networkd's directory now, by name. */
async function networkFilesThere(sys: System): Promise<string[]> {
  return (await sys.list(PATHS.networkdDir)).filter((n) => n.startsWith("gate64-"));
}

/** Whether networkd's directory holds exactly these files (networkd read them when it started). */
async function networkKept(sys: System, next: RenderedFiles): Promise<boolean> {
  const want = networkFiles(next);
  const have = await networkFilesThere(sys);
  if (have.length !== want.size) return false;
  for (const name of have) if ((await sys.readFile(join(PATHS.networkdDir, name))) !== want.get(name)) return false;
  return true;
}

/** Whether a step marked "if-down" has nothing to do: its service runs. */
async function isUp(sys: System, service: Service, next: RenderedFiles): Promise<boolean> {
  if (service === "jool") return joolInstanceLoaded(sys, 0);
  if (service === "coredns") return (await corednsPid(sys)) !== null;
  if (service === "network") return networkKept(sys, next);
  // The record is the boot's (applier.ts removes it after the agent's first boot apply): an
  // agent restarted later cannot know that the kernel still holds that ruleset.
  if (service === "firewall") return (await sys.readFile(PATHS.datapathRuleset)) === next[RULESET_FILE];
  return false;
}

type Run = (sys: System, config: Config, path: (rel: string) => string, next: RenderedFiles, step: Step) => Promise<void>;

const RUN: Record<Service, Run> = {
  // Written into /proc/sys, as `sysctl -w` and `hostname` would, without a process each: a
  // boot apply started 5 of them, about 0.3 s apiece under TCG.
  sysctl: async (sys, _c, _p, next) => writeSysctls(sys, next["sysctl.d/90-gate64.conf"] ?? ""),
  hostname: async (sys, _c, _p, next) => {
    await writeSysctl(sys, "hostname", "kernel/hostname", (next.hostname ?? "gate64").trim());
  },
  firewall: async (sys, _c, path) => {
    await must(sys, "firewall", "nft", ["-f", path(RULESET_FILE)]);
  },
  network: async (sys, config, _p, next) => {
    const ours = networkFiles(next);
    for (const name of await networkFilesThere(sys)) if (!ours.has(name)) await sys.remove(join(PATHS.networkdDir, name));
    for (const [name, text] of ours) await sys.writeFileAtomic(join(PATHS.networkdDir, name), text);
    await must(sys, "network", "networkctl", ["reload"]);
    await must(sys, "network", "networkctl", ["reconfigure", config.interfaces.lan.name, config.interfaces.wan.name]).catch(
      () => undefined,
    );
  },
  jool: async (sys, _c, path, next, step) => {
    // systemd-modules-load loads it at boot (modules-load.d): modprobe only if it is not there.
    if ((await sys.readFile(join(PATHS.modules, "jool", "initstate"))) === null) await must(sys, "jool", "modprobe", ["jool"]);
    const jool = step.service === "jool" ? step : null;
    const recreate = jool?.recreate ?? false;
    const pool6 = (JSON.parse(next["jool/nat64.json"] ?? "{}") as { global?: { pool6?: string } }).global?.pool6;
    // Recreated (every session lost) only when pool6 differs: Jool cannot change it live.
    if ((await joolInstanceLoaded(sys, 0)) && (recreate === true || (recreate === "if-pool6-differs" && (await joolPool6(sys)) !== pool6)))
      await must(sys, "jool", "jool", ["instance", "remove", JOOL_INSTANCE]);
    // A prefix leaving pool4 takes its BIB entries with it (no --quick), before the new pool4 is
    // in: one that is not in the live pool4 (an instance just recreated) has none to drop.
    for (const p of jool?.purge ?? []) await sys.run("jool", ["-i", JOOL_INSTANCE, "pool4", "remove", `--${p.protocol}`, p.prefix]);
    await must(sys, "jool", "jool", ["file", "handle", path("jool/nat64.json")]);
  },
  offloads: async (sys, _c, _p, next) => {
    for (const [dev, features] of Object.entries(JSON.parse(next["offloads.json"] ?? "{}") as OffloadPlan)) {
      // Drivers without a feature refuse it; what they do not have cannot break translation.
      await sys.run("ethtool", ["-K", dev, ...Object.entries(features).flat()]);
    }
    await steer(sys, JSON.parse(next["steering.json"] ?? "{}") as SteeringPlan);
  },
  // CoreDNS binds the LAN address, which need not be there yet (a new address in its DAD): the
  // image allows binding an address the box does not have (ip_nonlocal_bind, image.md).
  coredns: async (sys, _c, _p, _n, step) => {
    // A reload that fails leaves the old Corefile serving: the coredns probe sees its id and the
    // change does not verify.
    const pid = step.service === "coredns" && step.reload ? await corednsPid(sys) : null;
    if (pid !== null) await must(sys, "coredns", "kill", ["-USR1", String(pid)]);
    // Not waited for: its start may wait for the WAN's resolvers (coredns.service). A boot, an
    // apply and a repair then poll its readiness (applier.ts).
    else await must(sys, "coredns", "systemctl", ["restart", "--no-block", "coredns.service"]);
  },
};

/**
 * Runs the steps with the files staged in `dir`; returns the services it reloaded. `onDone` hears
 * of each service as its step ends (an apply times its steps with it).
 */
export async function execute(
  sys: System,
  config: Config,
  dir: string,
  next: RenderedFiles,
  steps: readonly Step[],
  onDone?: (service: Service) => void,
): Promise<Service[]> {
  const done: Service[] = [];
  for (const step of steps) {
    if (step.when === "if-down" && (await isUp(sys, step.service, next))) continue;
    await RUN[step.service](sys, config, (rel) => join(dir, rel), next, step);
    done.push(step.service);
    onDone?.(step.service);
  }
  return done;
}
