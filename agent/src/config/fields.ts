// Reusable field types for the configuration schema. Each carries its own error message so a
// rejection names what was expected, not just "invalid".
import { z } from "zod";
import { type Family, formatAddress, hasHostBits, parseAddress, parsePrefix } from "../lib/ip.js";

/**
 * RFC 5952 text for an address or "address/len" that already parsed (lowercase, zeros compressed):
 * the rest of the agent compares addresses as text with what `ip` prints. Host bits are kept.
 */
export function canonical(text: string): string {
  const p = parsePrefix(text);
  if (p === null) return text;
  const addr = formatAddress(p.family, p.value);
  return text.includes("/") ? `${addr}/${p.length}` : addr;
}

const NAME = { 4: "IPv4", 6: "IPv6" } as const;

/** Address text that `ok` accepts, written back in RFC 5952 form. */
const ipText = (ok: (s: string) => boolean, message: string) => z.string().max(64).refine(ok, { message }).overwrite(canonical);

export const address = (family: Family) => ipText((s) => parseAddress(s)?.family === family, `must be an ${NAME[family]} address`);

/** A network prefix "addr/len" of one family; host bits must be zero. */
export function prefix(family: Family) {
  const name = NAME[family];
  return z
    .string()
    .max(64)
    .superRefine((value, ctx) => {
      const p = parsePrefix(value);
      if (p === null || p.family !== family || !value.includes("/")) {
        const example = family === 4 ? "192.0.2.0/24" : "2001:db8::/64";
        ctx.addIssue({ code: "custom", message: `must be an ${name} prefix like ${example}` });
      } else if (hasHostBits(p)) {
        ctx.addIssue({ code: "custom", message: "has bits set past the prefix length" });
      }
    })
    .overwrite(canonical);
}

/** An interface address with its prefix length, e.g. "198.51.100.2/24" (host bits expected). */
export const interfaceAddress = (family: Family) =>
  ipText(
    (s) => s.includes("/") && parsePrefix(s)?.family === family,
    `must be an ${NAME[family]} address with prefix length, like ${family === 4 ? "198.51.100.2/24" : "2001:db8:1::1/64"}`,
  );

/** Either prefix family. */
export const anyPrefix = ipText((s) => parsePrefix(s) !== null, "must be an IPv4 or IPv6 prefix (address/length)");

export const portRange = z
  .string()
  .regex(/^\d{1,5}-\d{1,5}$/, { message: 'must be a port range "first-last"' })
  .refine(
    (s) => {
      const [a, b] = s.split("-").map(Number) as [number, number];
      return a <= b && b <= 65535;
    },
    { message: "must satisfy first <= last <= 65535" },
  );

export function parsePortRange(s: string): { first: number; last: number } {
  const [first, last] = s.split("-").map(Number) as [number, number];
  return { first, last };
}

export const ifname = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/, { message: "must be a Linux interface name (1-15 characters: letters, digits, _ . -)" });

export const hostname = z
  .string()
  .regex(/^(?=.{1,63}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, { message: "must be a hostname label: 1-63 lowercase letters, digits or '-'" });

export const seconds = (min: number, max: number) => z.number().int().min(min).max(max);

/** Absolute path on the device; no "..", so a config cannot point outside what it means. */
export const devicePath = z
  .string()
  .max(4096)
  .regex(/^\/[^\0]*$/, { message: "must be an absolute path" })
  .refine((s) => !s.split("/").includes(".."), { message: "must not contain '..'" });

/** A DNS server: an address, or address and port ("192.0.2.53:5353", "[2001:db8::53]:5353"). */
export const dnsServer = z
  .string()
  .max(64)
  .refine(
    (s) => {
      const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([0-9.]+):(\d{1,5})$/.exec(s);
      if (m) return parseAddress(m[1] as string) !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
      return parseAddress(s) !== null;
    },
    { message: 'must be an IP address, "IPv4:port" or "[IPv6]:port"' },
  );
