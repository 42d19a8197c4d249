// A board profile: image/boards/<name>/board.json over image/arch/<arch>.json, with the board's
// layout.json. The schema below is the list of keys the build and the lab read; a key it does not
// know is an error, so a profile holds nothing that nothing reads (docs/image.md, "Boards").
// `node --import tsx scripts/board.ts NAME` prints the merged profile (scripts/build-image reads it
// with jq) or names the field that is wrong and exits 2.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";

export const IMAGE_DIR = resolve(import.meta.dirname, "../image");

const comment = { $comment: z.string().optional() };
const packageName = z.string().regex(/^[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?$/, "a Debian package name (optionally :arch)");

const Lab = z.strictObject({
  ...comment,
  qemu: z.string().regex(/^qemu-system-[a-z0-9_]+$/),
  machine: z.string().min(1),
  cpu: z.string().min(1),
  firmwareCode: z.string().startsWith("/"),
  firmwareVars: z.string().startsWith("/"),
  devices: z.array(z.string().min(1)),
  /** vCPUs, where the architecture's lab VM needs other than the lab's (scripts/lab/lab.json). */
  cpus: z.number().int().min(1).max(8).optional(),
  /** How long the lab waits for a boot's healthy report. A TCG guest runs on what the host gives
   * its thread: an arm64 first boot was healthy 132-191 s after QEMU started in lab and CI runs,
   * an x86-64 one 88-140 s. */
  firstHealthySec: z.number().int().min(60).max(1800),
});

const Arch = z.strictObject({
  ...comment,
  debianArch: z.string().regex(/^[a-z0-9]+$/),
  goArch: z.string().regex(/^[a-z0-9]+$/),
  efiArch: z.enum(["x64", "aa64"]),
  rootPartitionType: z.uuid(),
  kernelPackage: packageName,
  headersPackage: packageName,
  crossTriplet: z
    .string()
    .regex(/^[a-z0-9_]+-linux-gnu$/)
    .nullable(),
  buildPackages: z.array(packageName),
  nodeRuntime: z.string().regex(/^node-linux-(x64|arm64)@\d+\.\d+\.\d+$/),
  ptyPrebuild: z.string().regex(/^@lydell\/node-pty-linux-(x64|arm64)@\d+\.\d+\.\d+$/),
  lab: Lab,
});

const Board = z.strictObject({
  ...comment,
  arch: z.string().regex(/^[a-z0-9]+$/),
  suite: z.string().regex(/^[a-z]+$/),
  boot: z.literal("uefi-uki"),
  console: z.string().regex(/^tty[A-Za-z]+\d+,\d+$/, "a serial device and its speed, like ttyS0,115200"),
  cmdline: z.string(),
  deviceTree: z
    .string()
    .regex(/^[a-z0-9_-]+\/[a-z0-9_.-]+\.dtb$/, "a path under the kernel's device-tree directory, like rockchip/x.dtb")
    .nullable(),
  kernelPackage: packageName.optional(),
  /** Added to the build stage's packages (a bootloader package, for example). The stage is shared
   * by the boards of one architecture and suite, so every one of them gets these too. */
  buildPackages: z.array(packageName).optional(),
});

const Partition = z.strictObject({
  ...comment,
  label: z.string().regex(/^gate64-[a-z0-9-]+$/),
  type: z.enum(["esp", "root", "data"]),
  sizeMiB: z.number().int().positive(),
  fs: z.enum(["vfat", "squashfs", "ext4", "empty"]),
});

const Layout = z.strictObject({
  ...comment,
  /** Where the first partition starts: boards whose boot ROM reads a loader from raw sectors keep room for it. */
  firstPartitionMiB: z.number().int().positive(),
  /** Files written into the raw space before the first partition (path in the build stage, byte offset). */
  raw: z.array(z.strictObject({ ...comment, file: z.string().startsWith("/"), offsetBytes: z.number().int().min(17_408) })),
  partitions: z.array(Partition).min(1),
});

export type BoardProfile = Omit<z.infer<typeof Arch>, "$comment"> &
  Omit<z.infer<typeof Board>, "$comment" | "buildPackages" | "kernelPackage"> & { name: string; layout: z.infer<typeof Layout> };

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

function parse<T>(schema: z.ZodType<T>, file: string): T {
  const r = schema.safeParse(readJson(file));
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new Error(`${file}: ${issue?.path.join(".") || "(top)"}: ${issue?.message}`);
}

export function boardNames(image = IMAGE_DIR): string[] {
  return readdirSync(join(image, "boards")).filter((n) => existsSync(join(image, "boards", n, "board.json")));
}

/** The profile of image/boards/<name> (`image`: another image/ tree, for tests). */
export function loadBoard(name: string, image = IMAGE_DIR): BoardProfile {
  const dir = join(image, "boards", name);
  if (!/^[a-z0-9-]+$/.test(name) || !existsSync(join(dir, "board.json"))) {
    throw new Error(`no board ${name} (have: ${boardNames(image).join(", ")})`);
  }
  const board = parse(Board, join(dir, "board.json"));
  const archFile = join(image, "arch", `${board.arch}.json`);
  if (!existsSync(archFile)) throw new Error(`${join(dir, "board.json")}: arch: no ${archFile}`);
  const arch = parse(Arch, archFile);
  const layout = parse(Layout, join(dir, "layout.json"));
  const end = layout.firstPartitionMiB * 1024 * 1024;
  for (const r of layout.raw) {
    if (r.offsetBytes >= end) throw new Error(`${join(dir, "layout.json")}: raw: ${r.file} starts at or after the first partition`);
  }
  const { buildPackages: _own, kernelPackage, $comment: _b, ...own } = board;
  const { $comment: _a, ...shared } = arch;
  // scripts/build-image builds one stage per architecture and suite, for all of their boards.
  const siblings = boardNames(image)
    .map((n) => parse(Board, join(image, "boards", n, "board.json")))
    .filter((b) => b.arch === board.arch && b.suite === board.suite);
  return {
    ...shared,
    ...own,
    name,
    kernelPackage: kernelPackage ?? shared.kernelPackage,
    buildPackages: [...new Set([...shared.buildPackages, ...siblings.flatMap((b) => b.buildPackages ?? [])])],
    layout,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  try {
    process.stdout.write(`${JSON.stringify(loadBoard(process.argv[2] ?? ""), null, 2)}\n`);
  } catch (e) {
    process.stderr.write(`board: ${(e as Error).message}\n`);
    process.exit(2);
  }
}
