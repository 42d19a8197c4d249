// A hardware inventory of the box: what it is (vendor, model, serial, board), its CPU, memory,
// storage, OS and kernel, and its NICs with MAC, speed and driver, read from the kernel's own
// files (DMI or the device tree, /proc, /sys/block, /sys/class/net) and one systemd-detect-virt:
// systeminformation reads the same through 145-183 processes, 8-12 s of the TCG lab VM's CPU,
// which held a console apply in that window to 12 s (docs/protocol.md#inventory). Read once per
// agent start; a part that cannot be read is absent, never an error.
import { arch, release } from "node:os";
import { join } from "node:path";
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

const DMI = "/sys/class/dmi/id";
/** Boards without DMI (most ARM boards) name themselves in the device tree. */
const DT_MODEL = "/sys/firmware/devicetree/base/model";

/** A file's text, or null when it is absent or unreadable (some attributes refuse a read). */
const read = (sys: System, path: string): Promise<string | null> => sys.readFile(path).catch(() => null);

/** A kernel attribute file's text without its trailing newline or NUL, or undefined. */
async function attr(sys: System, path: string): Promise<string | undefined> {
  const t = await read(sys, path);
  return t === null ? undefined : known(t.replace(/[\0\n]+$/, ""));
}

/** `KEY=value` lines (os-release, uevent), quotes removed. */
function keyValues(text: string | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of (text ?? "").matchAll(/^([A-Z_]+)=(.*)$/gm)) out.set(m[1] as string, (m[2] as string).replace(/^"(.*)"$/, "$1"));
  return out;
}

async function cpuInfo(sys: System): Promise<Inventory["cpu"]> {
  const text = (await read(sys, "/proc/cpuinfo")) ?? "";
  const cores = text.match(/^processor\s*:/gm)?.length;
  // x86 names the model; ARM kernels may name only the board's SoC (Hardware) or nothing.
  const model = /^(?:model name|Hardware|cpu model)\s*:\s*(.+)$/m.exec(text)?.[1];
  return defined({ model: known(model), cores: cores || undefined, arch: arch() });
}

/** The entries of a /sys class directory backed by a device, sorted: disks without loop, RAM or
 * device-mapper devices; NICs without lo, bridges, veths or tunnels. */
async function withDevice(sys: System, dir: string): Promise<string[]> {
  const names = (await sys.list(dir)).sort();
  const backed = await Promise.all(names.map(async (n) => (await sys.list(join(dir, n))).includes("device")));
  return names.filter((_, i) => backed[i]);
}

async function storage(sys: System): Promise<Inventory["storage"]> {
  const out: Inventory["storage"] = [];
  for (const dev of await withDevice(sys, "/sys/block")) {
    const sectors = Number(await attr(sys, join("/sys/block", dev, "size")));
    if (!Number.isFinite(sectors) || sectors <= 0) continue;
    const rotational = await attr(sys, join("/sys/block", dev, "queue/rotational"));
    const type = dev.startsWith("nvme") ? "NVMe" : rotational === "1" ? "HD" : rotational === "0" ? "SSD" : undefined;
    out.push(defined({ device: `/dev/${dev}`, sizeBytes: sectors * 512, type }));
  }
  return out.slice(0, 32);
}

async function nics(sys: System): Promise<Inventory["nics"]> {
  const out: Inventory["nics"] = [];
  for (const name of await withDevice(sys, "/sys/class/net")) {
    const dir = join("/sys/class/net", name);
    const speed = Number(await attr(sys, join(dir, "speed"))); // -1 or unreadable while the link is down
    out.push(
      defined({
        name: name.slice(0, 256),
        mac: await attr(sys, join(dir, "address")),
        speedMbps: num(speed),
        driver: known(keyValues(await read(sys, join(dir, "device/uevent"))).get("DRIVER")),
      }),
    );
  }
  return out.slice(0, 64);
}

export async function readInventory(sys: System, firmware: string): Promise<Inventory> {
  const t0 = sys.now();
  const rss0 = process.memoryUsage.rss();
  const f0 = await forks(sys);
  const a = (name: string) => attr(sys, join(DMI, name));
  const [manufacturer, dmiModel, serial, boardVendor, boardName, dtModel] = await Promise.all([
    a("sys_vendor"),
    a("product_name"),
    a("product_serial"),
    a("board_vendor"),
    a("board_name"),
    attr(sys, DT_MODEL),
  ]);
  // Exit 0 and a name inside a VM; "none" and exit 1 on hardware.
  const virt = await sys.run("systemd-detect-virt", ["--vm"]).catch(() => null);
  const osRelease = keyValues(await read(sys, "/etc/os-release"));
  const meminfo = /^MemTotal:\s+(\d+) kB$/m.exec((await read(sys, "/proc/meminfo")) ?? "");
  const inv: Omit<Inventory, "cost" | "readAt"> = {
    system: defined({
      manufacturer,
      model: dmiModel ?? dtModel,
      serial,
      virtual: virt === null || virt.stdout.trim() === "" ? undefined : virt.code === 0,
    }),
    board: defined({ manufacturer: boardVendor, model: boardName }),
    cpu: await cpuInfo(sys),
    ...(meminfo ? { memoryBytes: Number(meminfo[1]) * 1024 } : {}),
    storage: await storage(sys),
    os: defined({ distro: known(osRelease.get("NAME")), release: known(osRelease.get("VERSION_ID")), kernel: release() }),
    firmware,
    nics: await nics(sys),
  };
  const f1 = await forks(sys);
  return {
    ...inv,
    cost: { ms: sys.now() - t0, processes: f0 === null || f1 === null ? null : f1 - f0, rssDeltaBytes: process.memoryUsage.rss() - rss0 },
    readAt: new Date(sys.now()).toISOString(),
  };
}
