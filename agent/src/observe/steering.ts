// The live side of render/steering.ts: the box's CPUs, a NIC's interrupts and receive queues, and
// how its receive work is placed now.
import { irqsOf, parseCpuList, placement, type SteeringPlan, sameMask } from "../render/steering.js";
import type { System } from "../system/system.js";

export const CPUS_ONLINE = "/sys/devices/system/cpu/online";

export async function onlineCpus(sys: System): Promise<number[]> {
  return parseCpuList((await sys.readFile(CPUS_ONLINE)) ?? "0");
}

/** The rps_cpus files of a NIC's receive queues. */
export async function rpsFiles(sys: System, dev: string): Promise<string[]> {
  const queues = (await sys.list(`/sys/class/net/${dev}/queues`)).filter((q) => q.startsWith("rx-")).sort();
  return queues.map((q) => `/sys/class/net/${dev}/queues/${q}/rps_cpus`);
}

export async function nicIrqs(sys: System, dev: string): Promise<number[]> {
  const device = `/sys/class/net/${dev}/device`;
  let msi = await sys.list(`${device}/msi_irqs`);
  // A virtio NIC's device is the virtio function; the PCI device above it has the vectors.
  if (msi.length === 0) msi = await sys.list(`${device}/../msi_irqs`);
  return irqsOf(dev, msi, msi.length > 0 ? "" : ((await sys.readFile("/proc/interrupts")) ?? ""));
}

/** What differs from the plan: a receive queue whose RPS mask is not the one planned. */
export async function steeringDrift(sys: System, plan: SteeringPlan): Promise<string[]> {
  const cpus = await onlineCpus(sys);
  const wrong: string[] = [];
  for (const [dev, entry] of Object.entries(plan)) {
    const want = placement(entry, cpus).rpsMask;
    for (const file of await rpsFiles(sys, dev)) {
      const now = (await sys.readFile(file))?.trim();
      if (now !== undefined && !sameMask(now, want)) wrong.push(`${dev} ${file.split("/").at(-2)} rps ${now} (want ${want})`);
    }
  }
  return wrong;
}
