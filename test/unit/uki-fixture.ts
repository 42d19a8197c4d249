// A small PE file shaped like a UKI (PE32+, sections with file offsets and sizes), for unit tests
// of agent/src/update/uki.ts. The lab tests read the image's real UKI.

/** sections: name -> content; checksum: the optional header's CheckSum field as written. */
export function fakeUki(sections: Record<string, string>, checksum = 0x1234): Uint8Array {
  const pe = 0x80;
  const optionalSize = 240;
  const table = pe + 24 + optionalSize;
  const entries = Object.entries(sections);
  let at = 0x200 * Math.ceil((table + entries.length * 40) / 0x200);
  const placed = entries.map(([name, text]) => {
    const bytes = Buffer.from(text, "latin1");
    const raw = 0x200 * Math.ceil(bytes.length / 0x200);
    const s = { name, bytes, offset: at, raw };
    at += raw;
    return s;
  });
  const file = Buffer.alloc(at);
  file.write("MZ", 0, "latin1");
  file.writeUInt32LE(pe, 0x3c);
  file.write("PE\0\0", pe, "latin1");
  file.writeUInt16LE(placed.length, pe + 6);
  file.writeUInt16LE(optionalSize, pe + 20);
  file.writeUInt16LE(0x20b, pe + 24);
  file.writeUInt32LE(checksum, pe + 24 + 64);
  placed.forEach((s, i) => {
    const h = table + i * 40;
    file.write(s.name, h, "latin1");
    file.writeUInt32LE(s.bytes.length, h + 8);
    file.writeUInt32LE(s.raw, h + 16);
    file.writeUInt32LE(s.offset, h + 20);
    s.bytes.copy(file, s.offset);
  });
  return new Uint8Array(file);
}
