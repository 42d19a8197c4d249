import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { contains, formatIPv6, hasHostBits, overlaps, parseIPv4, parseIPv6, parsePrefix } from "../../agent/src/lib/ip.js";

describe("ip", () => {
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
