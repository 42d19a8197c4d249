// Decodes a Router Advertisement from tcpdump's hex dump (tcpdump -x prints the IPv6 packet),
// including the options this box sends: prefix information, RDNSS (RFC 8106) and PREF64
// (RFC 8781), which the installed rdisc6 does not decode.
import { formatIPv6 } from "../../agent/src/lib/ip.js";

export interface RouterAdvert {
  routerLifetime: number;
  prefixes: { prefix: string; validLifetime: number; preferredLifetime: number; autonomous: boolean }[];
  rdnss: { lifetime: number; servers: string[] }[];
  pref64: { prefix: string; lifetime: number }[];
}

const PLC_LENGTHS = [96, 64, 56, 48, 40, 32];

export function bytesFromTcpdump(text: string): Uint8Array {
  const hex = text
    .split("\n")
    .filter((l) => /^\s*0x[0-9a-f]+:/.test(l))
    .map((l) => l.replace(/^\s*0x[0-9a-f]+:\s*/, "").replace(/\s+/g, ""))
    .join("");
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
}

function addr(b: Uint8Array, at: number): string {
  let v = 0n;
  for (let i = 0; i < 16; i++) v = (v << 8n) | BigInt(b[at + i] ?? 0);
  return formatIPv6(v);
}

const u16 = (b: Uint8Array, at: number) => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
const u32 = (b: Uint8Array, at: number) => u16(b, at) * 65536 + u16(b, at + 2);

/** Parses an IPv6 packet holding an ICMPv6 Router Advertisement (type 134). */
export function parseRouterAdvert(b: Uint8Array): RouterAdvert {
  if ((b[0] ?? 0) >> 4 !== 6 || b[6] !== 58 || b[40] !== 134) throw new Error("not an ICMPv6 router advertisement");
  const ra: RouterAdvert = { routerLifetime: u16(b, 46), prefixes: [], rdnss: [], pref64: [] };
  let at = 56;
  while (at + 2 <= b.length) {
    const type = b[at] ?? 0;
    const len = (b[at + 1] ?? 0) * 8;
    if (len === 0) break;
    if (type === 3) {
      const plen = b[at + 2] ?? 0;
      ra.prefixes.push({
        prefix: `${addr(b, at + 16)}/${plen}`,
        autonomous: ((b[at + 3] ?? 0) & 0x40) !== 0,
        validLifetime: u32(b, at + 4),
        preferredLifetime: u32(b, at + 8),
      });
    } else if (type === 25) {
      const servers: string[] = [];
      for (let o = at + 8; o + 16 <= at + len; o += 16) servers.push(addr(b, o));
      ra.rdnss.push({ lifetime: u32(b, at + 4), servers });
    } else if (type === 38) {
      const field = u16(b, at + 2);
      const plc = field & 0x7;
      const bytes = new Uint8Array(16);
      bytes.set(b.subarray(at + 4, at + 16));
      ra.pref64.push({ prefix: `${addr(bytes, 0)}/${PLC_LENGTHS[plc] ?? "?"}`, lifetime: field & 0xfff8 });
    }
    at += len;
  }
  return ra;
}
