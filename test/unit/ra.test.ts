import assert from "node:assert/strict";
import { it } from "node:test";
import { bytesFromTcpdump, parseRouterAdvert } from "../../scripts/lab/ra.js";

// An RA as tcpdump -x prints it: router lifetime 1800, prefix 2001:db8:64::/64,
// RDNSS 2001:db8:64::1 (lifetime 3600), PREF64 64:ff9b::/96 (lifetime 1800).
const DUMP = `
	0x0000:  6000 0000 0058 3aff fe80 0000 0000 0000
	0x0010:  5054 00ff fe64 0001 ff02 0000 0000 0000
	0x0020:  0000 0000 0000 0001 8600 0000 4000 0708
	0x0030:  0000 0000 0000 0000 0304 40c0 0001 5180
	0x0040:  0000 3840 0000 0000 2001 0db8 0064 0000
	0x0050:  0000 0000 0000 0000 1903 0000 0000 0e10
	0x0060:  2001 0db8 0064 0000 0000 0000 0000 0001
	0x0070:  2602 0708 0064 ff9b 0000 0000 0000 0000
`;

it("decodes prefix, RDNSS and PREF64 options of a router advertisement", () => {
  const ra = parseRouterAdvert(bytesFromTcpdump(DUMP));
  assert.equal(ra.routerLifetime, 1800);
  assert.deepEqual(ra.prefixes, [{ prefix: "2001:db8:64::/64", autonomous: true, validLifetime: 86400, preferredLifetime: 14400 }]);
  assert.deepEqual(ra.rdnss, [{ lifetime: 3600, servers: ["2001:db8:64::1"] }]);
  assert.deepEqual(ra.pref64, [{ prefix: "64:ff9b::/96", lifetime: 1800 }]);
});

it("refuses what is not an RA", () => {
  assert.throws(() => parseRouterAdvert(new Uint8Array(60)), /not an ICMPv6 router advertisement/);
});
