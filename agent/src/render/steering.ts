// Where the NICs' receive work runs. The kernel leaves every NIC interrupt, and so every packet
// the box forwards, on the CPU that booted; in the lab VM (2 vCPUs, one NIC queue each) that CPU
// spent 92-95 % of its time in softirq during a TCP run while the other idled. "spread" puts the
// LAN's interrupts on the first CPU and the WAN's on the second, and steers each NIC's received
// packets (RPS) to the CPUs its interrupts are not on: the translation of one direction runs
// beside the other direction's interrupts, as OpenWrt's packet steering does. Measured against
// "keep" in 5 alternating rounds: NAT64 TCP throughput +19 %, new connections +12 %
// (docs/benchmarks.md#nat64).
import type { Config } from "../config/schema.js";
import type { Part, Resolved } from "./context.js";

/** Per NIC: the CPU (index into the online CPUs, wrapping) that takes its interrupts. */
export type SteeringPlan = Record<string, { irqCpu: number }>;

export type SteeringInput = Part<never, "interfaces"> & { config: { nat64: Pick<Config["nat64"], "steering"> } };

export const steeringInput = (r: Resolved): SteeringInput => ({
  config: { interfaces: r.config.interfaces, nat64: { steering: r.config.nat64.steering } },
});

export function renderSteering(r: SteeringInput): SteeringPlan {
  const { lan, wan } = r.config.interfaces;
  if (r.config.nat64.steering === "keep") return {};
  return { [lan.name]: { irqCpu: 0 }, [wan.name]: { irqCpu: 1 } };
}

/** The CPUs in a kernel CPU list ("0-3,5", /sys/devices/system/cpu/online). */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) throw new Error(`not a CPU list: ${JSON.stringify(text.trim())}`);
    for (let c = Number(m[1]); c <= Number(m[2] ?? m[1]); c++) out.push(c);
  }
  return out;
}

/**
 * What one NIC gets on these CPUs: the CPU for its interrupts and the RPS mask (hex, as
 * rps_cpus reads) of the others. One CPU: nothing to spread, RPS off.
 */
export function placement(entry: { irqCpu: number }, cpus: readonly number[]): { irqCpu: number; rpsMask: string } {
  const irqCpu = cpus[entry.irqCpu % cpus.length] as number;
  if (cpus.length < 2) return { irqCpu, rpsMask: "0" };
  let mask = 0n;
  for (const c of cpus) if (c !== irqCpu) mask |= 1n << BigInt(c);
  return { irqCpu, rpsMask: mask.toString(16) };
}

/** A mask as rps_cpus prints it ("00000002", "00000000,00000001"): leading zeros and commas aside. */
export const sameMask = (a: string, b: string) => BigInt(`0x${a.replace(/,/g, "")}`) === BigInt(`0x${b.replace(/,/g, "")}`);

/**
 * A NIC's interrupts: its MSI vectors (a PCI NIC's device, or a virtio NIC's PCI parent), else the
 * lines of /proc/interrupts named after the interface (`eth0`, `eth0-rx-0`). A NIC on a shared
 * line (a USB NIC's host controller) has none of its own: RPS alone applies.
 */
export function irqsOf(dev: string, msi: readonly string[], procInterrupts: string): number[] {
  if (msi.length > 0) return msi.map(Number).filter(Number.isInteger);
  const named = new RegExp(`(^|\\s)${dev.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(-\\S*)?$`);
  return procInterrupts
    .split("\n")
    .map((line) => /^\s*(\d+):(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && named.test((m[2] as string).trimEnd()))
    .map((m) => Number(m[1]));
}
