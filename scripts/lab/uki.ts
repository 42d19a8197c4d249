// The sections of a unified kernel image (a PE file): .linux, .initrd, .cmdline, .dtb, ...
// Tests read a board's UKI with it to check what the image build put in.

/** Section name -> its bytes (the raw data, trimmed to the section's virtual size). */
export function peSections(file: Buffer): Map<string, Buffer> {
  const pe = file.readUInt32LE(0x3c);
  if (file.subarray(pe, pe + 4).toString("latin1") !== "PE\0\0") throw new Error("not a PE file");
  const count = file.readUInt16LE(pe + 6);
  const optionalSize = file.readUInt16LE(pe + 20);
  const table = pe + 24 + optionalSize;
  const sections = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const at = table + i * 40;
    const name = file
      .subarray(at, at + 8)
      .toString("latin1")
      .replace(/\0+$/, "");
    const virtualSize = file.readUInt32LE(at + 8);
    const rawSize = file.readUInt32LE(at + 16);
    const rawAt = file.readUInt32LE(at + 20);
    sections.set(name, file.subarray(rawAt, rawAt + Math.min(virtualSize, rawSize)));
  }
  return sections;
}
