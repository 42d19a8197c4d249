// A hardware inventory of the box from systeminformation: what it is (vendor, model, serial,
// board), its CPU, memory, storage, OS and kernel, and its NICs with MAC, speed and driver. Read
// once per agent start, after the boot settled and never on the health or telemetry path
// (systeminformation takes ~0.3 s on a PC and 8.3 s with 145 processes under TCG:
// docs/protocol.md#inventory). A part that cannot be read is absent, never an error.
import { z } from "zod";
import type { System } from "../system/system.js";

const text = z.string().max(256);

export const InventorySchema = z.strictObject({
  system: z.strictObject({
    manufacturer: text.optional(),
    model: text.optional(),
    serial: text.optional(),
    virtual: z.boolean().optional(),
  }),
  board: z.strictObject({ manufacturer: text.optional(), model: text.optional() }),
  cpu: z.strictObject({ model: text.optional(), cores: z.number().int().optional(), arch: text.optional() }),
  memoryBytes: z.number().int().optional(),
  storage: z.array(z.strictObject({ device: text, sizeBytes: z.number(), type: text.optional() })).max(32),
  os: z.strictObject({ distro: text.optional(), release: text.optional(), kernel: text.optional() }),
  firmware: text,
  nics: z.array(z.strictObject({ name: text, mac: text.optional(), speedMbps: z.number().optional(), driver: text.optional() })).max(64),
  /** What reading it cost on this box: wall time, processes started (system-wide count), RSS growth. */
  cost: z.strictObject({ ms: z.number(), processes: z.number().int().nullable(), rssDeltaBytes: z.number().int() }),
  readAt: z.string().max(40),
});
export type Inventory = z.infer<typeof InventorySchema>;

/** One line for people: "Vendor Model, CPU x cores, 1.0 GiB, lan 02:..:01 1000 Mb/s e1000e, ...". */
export function hardwareLine(i: Inventory): string {
  const what =
    [i.system.manufacturer, i.system.model].filter(Boolean).join(" ") ||
    [i.board.manufacturer, i.board.model].filter(Boolean).join(" ") ||
    "unknown hardware";
  const cpu = i.cpu.model ? `${i.cpu.model}${i.cpu.cores ? ` x${i.cpu.cores}` : ""}` : undefined;
  const mem = i.memoryBytes === undefined ? undefined : `${(i.memoryBytes / 1024 ** 3).toFixed(1)} GiB`;
  const nics = i.nics.map((n) =>
    [n.name, n.mac, n.speedMbps === undefined ? undefined : `${n.speedMbps} Mb/s`, n.driver].filter(Boolean).join(" "),
  );
  return [what, cpu, mem, ...nics].filter(Boolean).join(", ");
}

/** Placeholders firmware vendors leave in DMI fields mean "not known". */
const known = (v: unknown): string | undefined => {
  if (typeof v !== "string") return undefined;
  const s = v.trim();
  return s === "" || s === "-" || /^(default string|to be filled by o\.e\.m\.|not specified|none|unknown)$/i.test(s)
    ? undefined
    : s.slice(0, 256);
};
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined);

/** Drops undefined fields: the schema's optional fields are absent, not undefined, on the wire. */
function defined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

async function forks(sys: System): Promise<number | null> {
  const m = /^processes (\d+)$/m.exec((await sys.readFile("/proc/stat")) ?? "");
  return m ? Number(m[1]) : null;
}

export async function readInventory(sys: System, firmware: string): Promise<Inventory> {
  const t0 = sys.now();
  const rss0 = process.memoryUsage.rss();
  const f0 = await forks(sys);
  const si = await import("systeminformation");
  const safe = async <T>(p: () => Promise<T>): Promise<T | null> => p().catch(() => null);
  const [system, board, cpu, mem, disks, os, nics] = await Promise.all([
    safe(() => si.system()),
    safe(() => si.baseboard()),
    safe(() => si.cpu()),
    safe(() => si.mem()),
    safe(() => si.diskLayout()),
    safe(() => si.osInfo()),
    safe(() => si.networkInterfaces()),
  ]);
  const list = Array.isArray(nics) ? nics : nics ? [nics] : [];
  const physical = list.filter((n) => n.iface !== "lo" && !n.virtual);
  // The driver is not in systeminformation's answer: the kernel names it under /sys.
  const driver = async (name: string) => {
    const r = await sys.run("ethtool", ["-i", name]);
    return r.code === 0 ? known(/^driver: (.+)$/m.exec(r.stdout)?.[1]) : undefined;
  };
  const nicList = await Promise.all(
    physical
      .slice(0, 64)
      .map(async (n) =>
        defined({ name: n.iface.slice(0, 256), mac: known(n.mac), speedMbps: num(n.speed), driver: await driver(n.iface) }),
      ),
  );
  const f1 = await forks(sys);
  return {
    system: defined({
      manufacturer: known(system?.manufacturer),
      model: known(system?.model),
      serial: known(system?.serial),
      virtual: system?.virtual,
    }),
    board: defined({ manufacturer: known(board?.manufacturer), model: known(board?.model) }),
    cpu: defined({
      model: known([cpu?.manufacturer, cpu?.brand].filter(Boolean).join(" ")),
      cores: num(cpu?.cores),
      arch: known(os?.arch),
    }),
    ...(num(mem?.total) === undefined ? {} : { memoryBytes: num(mem?.total) as number }),
    storage: (disks ?? [])
      .filter((d) => num(d.size) !== undefined && known(d.device) !== undefined)
      .slice(0, 32)
      .map((d) => defined({ device: known(d.device) as string, sizeBytes: d.size, type: known(d.type) })),
    os: defined({ distro: known(os?.distro), release: known(os?.release), kernel: known(os?.kernel) }),
    firmware,
    nics: nicList,
    cost: { ms: sys.now() - t0, processes: f0 === null || f1 === null ? null : f1 - f0, rssDeltaBytes: process.memoryUsage.rss() - rss0 },
    readAt: new Date(sys.now()).toISOString(),
  };
}
