// A unified kernel image (a PE file: .linux, .initrd, .cmdline, .osrel, .dtb ...) and the one
// thing that differs between the two slots' UKIs: the slot letter in the kernel command line
// (root=PARTLABEL=gate64-root-<slot> rauc.slot=<slot>). The build and the update bundle carry one
// UKI, made for slot a; the pre-install handler writes the other slot's letters into a copy. The
// two UKIs ukify would build are 15 MB each and differ in those two bytes (docs/updates.md).
import type { Slot } from "./boot-entries.js";

/** Bytes as text, one character per byte (the PE headers and the command line are ASCII). */
const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");

export interface PeSection {
  name: string;
  /** Where the section's bytes start in the file, and how many of them are its content. */
  offset: number;
  size: number;
}

/** The PE file's sections, in the section table's order. */
export function peSections(file: Uint8Array): PeSection[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const fail = (why: string): never => {
    throw new Error(`not a PE file: ${why}`);
  };
  if (file.byteLength < 0x40) fail(`${file.byteLength} bytes`);
  const pe = view.getUint32(0x3c, true);
  if (pe + 24 > file.byteLength || view.getUint32(pe, true) !== 0x00004550) fail("no PE signature");
  const count = view.getUint16(pe + 6, true);
  const table = pe + 24 + view.getUint16(pe + 20, true);
  if (table + count * 40 > file.byteLength) fail("the section table runs past the end");
  const sections: PeSection[] = [];
  for (let i = 0; i < count; i++) {
    const at = table + i * 40;
    const name = latin1(file.subarray(at, at + 8)).replace(/\0+$/, "");
    const size = Math.min(view.getUint32(at + 8, true), view.getUint32(at + 16, true));
    const offset = view.getUint32(at + 20, true);
    if (offset + size > file.byteLength) fail(`section ${name} runs past the end`);
    sections.push({ name, offset, size });
  }
  return sections;
}

/** A section's content (a view into the file, not a copy). */
export function peSection(file: Uint8Array, name: string): Uint8Array | undefined {
  const s = peSections(file).find((x) => x.name === name);
  return s && file.subarray(s.offset, s.offset + s.size);
}

// The command line's two slot letters. Each must appear exactly once: a UKI that names its root
// some other way is refused rather than booted into the wrong slot.
const SLOT_ARGS = [/(?<=(?:^|\s)root=PARTLABEL=gate64-root-)[ab](?=\s|\0|$)/g, /(?<=(?:^|\s)rauc\.slot=)[ab](?=\s|\0|$)/g];

/** Where in the file the command line's two slot letters are, and the slot they name. */
function slotLetters(file: Uint8Array): { at: number[]; slot: Slot } {
  const cmdline = peSections(file).find((x) => x.name === ".cmdline");
  if (cmdline === undefined) throw new Error("the UKI has no .cmdline section");
  const text = latin1(file.subarray(cmdline.offset, cmdline.offset + cmdline.size));
  const matches = SLOT_ARGS.map((re) => [...text.matchAll(re)]);
  if (matches.some((m) => m.length !== 1))
    throw new Error(
      `the UKI's command line must name its slot once in root=PARTLABEL=gate64-root-<slot> and rauc.slot=<slot>: ${text.trim()}`,
    );
  const [root, rauc] = matches.map((m) => m[0]?.[0]);
  if (root !== rauc) throw new Error(`the UKI's command line names two slots: root ${root}, rauc.slot ${rauc}`);
  return { at: matches.map((m) => cmdline.offset + (m[0]?.index ?? 0)), slot: root as Slot };
}

/** The slot a UKI boots, from its .cmdline (both letters must agree). */
export const ukiSlot = (file: Uint8Array): Slot => slotLetters(file).slot;

/**
 * A copy of the UKI that boots `slot`: the command line's slot letters rewritten in place (the
 * same length, so no offset in the file moves) and the PE checksum made to match, if it has one.
 */
export function ukiForSlot(file: Uint8Array, slot: Slot): Uint8Array {
  const { at } = slotLetters(file);
  const out = new Uint8Array(file);
  for (const i of at) out[i] = slot.charCodeAt(0);
  const sum = checksumOffset(out);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (view.getUint32(sum, true) !== 0) view.setUint32(sum, peChecksum(out), true);
  return out;
}

const checksumOffset = (file: Uint8Array): number => new DataView(file.buffer, file.byteOffset).getUint32(0x3c, true) + 24 + 64;

/** The optional header's CheckSum: the file's 16-bit words summed with end-around carries, the field as 0, plus the length. */
export function peChecksum(file: Uint8Array): number {
  const skip = checksumOffset(file);
  if (skip % 2 !== 0) throw new Error("not a PE file: its header starts at an odd offset");
  // Up to 2^53 / 65,535 words fit in a double before the carries are folded: any UKI does.
  let sum = 0;
  const end = file.byteLength - (file.byteLength % 2);
  for (let i = 0; i < end; i += 2) sum += (file[i] as number) | ((file[i + 1] as number) << 8);
  if (end < file.byteLength) sum += file[end] as number;
  sum -= (file[skip] as number) | ((file[skip + 1] as number) << 8);
  sum -= (file[skip + 2] as number) | ((file[skip + 3] as number) << 8);
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return (sum + file.byteLength) >>> 0;
}
