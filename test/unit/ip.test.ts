import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addressReady, ifInet6Line } from "../../agent/src/lib/if-inet6.js";
import { contains, embedIPv4, formatIPv6, hasHostBits, overlaps, parseIPv4, parseIPv6, parsePrefix } from "../../agent/src/lib/ip.js";

describe("ip", () => {
  it("embeds an IPv4 address bit for bit as RFC 6052 section 2.2 places it, for every prefix length", () => {
    // The reference: bit i of the IPv4 address at position length + i, skipping bits 64-71 (the
    // "u" octet) below /96; bits past 127 fall off.
    const reference = (pool6: bigint, length: number, v4: bigint) => {
      let out = pool6;
      for (let i = 0; i < 32; i++) {
        const at = length < 96 && length + i >= 64 ? length + i + 8 : length + i;
        if (at <= 127 && (v4 >> BigInt(31 - i)) & 1n) out |= 1n << BigInt(127 - at);
      }
      return out;
    };
    const v4s = [0n, 0xffffffffn, 0x80000001n, 0xc0000221n, 0x0a0b0c0dn];
    for (let length = 0; length <= 128; length++) {
      const net = length === 0 ? 0n : (0x20010db8_00640000_ff9b0000_00000000n >> BigInt(128 - length)) << BigInt(128 - length);
      for (const v4 of v4s)
        assert.equal(embedIPv4({ family: 6, value: net, length }, v4), reference(net, length, v4), `/${length} ${v4.toString(16)}`);
    }
  });

  it("parses and formats IPv6 canonically (RFC 5952)", () => {
    for (const [input, canonical] of [
      ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
      ["64:ff9b::192.0.2.1", "64:ff9b::c000:201"],
      ["::", "::"],
      ["::1", "::1"],
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
      ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ] as const) {
      const v = parseIPv6(input);
      assert.notEqual(v, null, input);
      assert.equal(formatIPv6(v as bigint), canonical);
    }
  });

  it("rejects malformed addresses", () => {
    for (const bad of ["", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "g::1", "1:2:3:4:5:6:7", "fe80::1%eth0"]) {
      assert.equal(parseIPv6(bad), null, bad);
    }
    for (const bad of ["1.2.3", "256.1.1.1", "01.2.3.4", "1.2.3.4.5", "a.b.c.d", ""]) assert.equal(parseIPv4(bad), null, bad);
  });

  it("knows containment, overlap and host bits", () => {
    const p = (s: string) => parsePrefix(s) ?? assert.fail(s);
    assert.ok(contains(p("10.0.0.0/8"), p("10.1.0.0/16")));
    assert.ok(!contains(p("10.1.0.0/16"), p("10.0.0.0/8")));
    assert.ok(overlaps(p("10.1.0.0/16"), p("10.0.0.0/8")));
    assert.ok(!overlaps(p("10.0.0.0/8"), p("2001:db8::/32")));
    assert.ok(hasHostBits(p("192.0.2.1/24")));
    assert.ok(!hasHostBits(p("64:ff9b::/96")));
    assert.equal(parsePrefix("10.0.0.0/33"), null);
    assert.equal(parsePrefix("::/129"), null);
  });
});

describe("/proc/net/if_inet6", () => {
  // Lines as a kernel writes them: the LAN address during DAD (flags 0xc0: tentative), then after it.
  const tentative = "20010db8006400000000000000000001 02 40 00 c0      lan\nfe800000000000000000000000000001 02 40 20 80      lan\n";
  const ready = "20010db8006400000000000000000001 02 40 00 80      lan\n";
  it("knows an address usable only once duplicate address detection passed, on its interface", () => {
    assert.equal(addressReady(tentative, "lan", "2001:db8:64::1"), false);
    assert.equal(addressReady(ready, "lan", "2001:db8:64::1"), true);
    assert.equal(addressReady(ready, "wan", "2001:db8:64::1"), false);
    assert.equal(addressReady(ready, "lan", "2001:db8:64::2"), false);
    assert.equal(addressReady(ifInet6Line("lan", "fd00::1"), "lan", "fd00::1"), true);
  });
});
