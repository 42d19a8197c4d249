// The lab's view of a gate64 disk: where its partitions are (read from the GPT the image build
// wrote from the board's layout.json, so no offset is written down twice) and a way to change
// files on its ESP, for raw disks (mtools at an offset) and qcow2 ones (the ESP's bytes out with
// qemu-img dd and back in with qemu-io: no nbd device or FUSE mount needed).
import { execFileSync } from "node:child_process";
import { closeSync, openSync, readFileSync, readSync, rmSync } from "node:fs";

const SECTOR = 512;

export interface Partition {
  name: string;
  startBytes: number;
  sizeBytes: number;
}

/** The partitions of a GPT from the disk's first 34 sectors (protective MBR, header, entries). */
export function parseGpt(head: Buffer): Partition[] {
  if (head.subarray(SECTOR, SECTOR + 8).toString("latin1") !== "EFI PART") throw new Error("no GPT header at LBA 1");
  const entriesLba = Number(head.readBigUInt64LE(SECTOR + 72));
  const count = head.readUInt32LE(SECTOR + 80);
  const size = head.readUInt32LE(SECTOR + 84);
  const parts: Partition[] = [];
  for (let i = 0; i < count; i++) {
    const at = entriesLba * SECTOR + i * size;
    if (at + size > head.length) break;
    const e = head.subarray(at, at + size);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40));
    const name = e.subarray(56, 128).toString("utf16le").replace(/\0.*$/s, "");
    parts.push({ name, startBytes: first * SECTOR, sizeBytes: (last - first + 1) * SECTOR });
  }
  return parts;
}

const isQcow2 = (disk: string) => disk.endsWith(".qcow2");

/** `length` bytes of a raw file from byte `at`. */
export function readBytes(file: string, at: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const fd = openSync(file, "r");
  try {
    readSync(fd, buf, 0, length, at);
  } finally {
    closeSync(fd);
  }
  return buf;
}

function head(disk: string): Buffer {
  const bytes = 34 * SECTOR;
  if (isQcow2(disk)) {
    const out = `${disk}.gpt`;
    execFileSync("qemu-img", ["dd", "-f", "qcow2", "-O", "raw", `bs=${SECTOR}`, "count=34", `if=${disk}`, `of=${out}`]);
    try {
      return readFileSync(out);
    } finally {
      rmSync(out, { force: true });
    }
  }
  return readBytes(disk, 0, bytes);
}

export function partition(disk: string, name: string): Partition {
  const p = parseGpt(head(disk)).find((x) => x.name === name);
  if (!p) throw new Error(`${disk}: no partition ${name}`);
  return p;
}

/**
 * Runs `edit` with an mtools image spec ("file@@offset") of the disk's ESP and keeps what it
 * wrote. For qcow2 the ESP is edited as a raw copy and written back.
 */
export function editEsp(disk: string, edit: (mtoolsImage: string) => void): void {
  const esp = partition(disk, "gate64-esp");
  if (!isQcow2(disk)) {
    edit(`${disk}@@${esp.startBytes}`);
    return;
  }
  const copy = `${disk}.esp`;
  const mib = 1024 * 1024;
  if (esp.startBytes % mib || esp.sizeBytes % mib) throw new Error("the ESP is not MiB-aligned");
  const dd = [`bs=${mib}`, `skip=${esp.startBytes / mib}`, `count=${esp.sizeBytes / mib}`];
  try {
    execFileSync("qemu-img", ["dd", "-f", "qcow2", "-O", "raw", ...dd, `if=${disk}`, `of=${copy}`]);
    edit(copy);
    execFileSync("qemu-io", ["-f", "qcow2", "-c", `write -q -s ${copy} ${esp.startBytes} ${esp.sizeBytes}`, disk]);
  } finally {
    rmSync(copy, { force: true });
  }
}
