// Hairpinning through the NAT64 (RFC 6146 section 3.8), run on the IPv6-only client: socket A
// learns its mapping (pool4 address and port) from the reflector, then socket B sends to that
// mapping under the NAT64 prefix; the box must turn the packet around to A.
// Usage: node hairpin.mjs REFLECTOR_IPV6 PORT PREFIX96  -> prints JSON, exits 1 on failure.
import { createSocket } from "node:dgram";

const [reflector, port, prefix] = process.argv.slice(2);
const a = createSocket("udp6");
const b = createSocket("udp6");
const fail = (why) => {
  console.log(JSON.stringify({ ok: false, why }));
  process.exit(1);
};
setTimeout(() => fail("timed out"), 10_000).unref();
const once = (sock) => new Promise((res) => sock.once("message", (msg, from) => res({ text: String(msg), from })));

a.bind(0, async () => {
  a.send("who am i", Number(port), reflector);
  const mapped = (await once(a)).text;
  const [addr4, port4] = mapped.split(":");
  const token = `hairpin-${process.pid}`;
  const got = once(a);
  b.send(token, Number(port4), `${prefix.replace(/::\/96$/, "::")}${addr4}`);
  const { text, from } = await got;
  if (text !== token) fail(`A got "${text}"`);
  console.log(JSON.stringify({ ok: true, mappingOfA: mapped, from: `[${from.address}]:${from.port}` }));
  process.exit(0);
});
