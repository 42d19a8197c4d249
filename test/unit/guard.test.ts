// The translator's guard as data: RFC 6052 embedding for every prefix length, the rendered chain
// per length (golden files under test/golden/guard/), agreement with the DNS64 plugin's lists,
// and the parts of the datapath that follow the WAN (pool4, probe targets, refresh).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Applier } from "../../agent/src/apply/applier.js";
import { NEVER_TRANSLATE, NON_GLOBAL } from "../../agent/src/config/special-ipv4.js";
import { validateConfig } from "../../agent/src/config/validate.js";
import { contains, embedIPv4, embedPrefix, formatIPv6, type Prefix, parseIPv4, parsePrefix } from "../../agent/src/lib/ip.js";
import { resolvConfTargets } from "../../agent/src/observe/health.js";
import { translatedTarget } from "../../agent/src/observe/probe-ns.js";
import { PATHS } from "../../agent/src/paths.js";
import { type Facts, renderAll } from "../../agent/src/render/index.js";
import { FakeSystem } from "../../agent/src/system/fake.js";

const P = (s: string) => parsePrefix(s) as Prefix;
const LENGTHS: [number, string][] = [
  [32, "2001:db8::/32"],
  [40, "2001:db8:100::/40"],
  [48, "2001:db8:122::/48"],
  [56, "2001:db8:122:300::/56"],
  [64, "2001:db8:122:344::/64"],
  [96, "64:ff9b::/96"],
];

function configFor(pool6: string, extra: object = {}) {
  const v = validateConfig({
    interfaces: { lan: { name: "lan", ipv6: { address: "fd00:64::1/64" } }, wan: { name: "wan" } },
    nat64: { pool6 },
    dns64: { allowNonGlobal: ["192.0.2.0/24"] },
    ...extra,
  });
  assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
  return v.config;
}

describe("RFC 6052 embedding", () => {
  it("places 192.0.2.33 as RFC 6052 section 2.4's table does", () => {
    const table: [string, string][] = [
      ["2001:db8::/32", "2001:db8:c000:221::"],
      ["2001:db8:100::/40", "2001:db8:1c0:2:21::"],
      ["2001:db8:122::/48", "2001:db8:122:c000:2:2100::"],
      ["2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"],
      ["2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0"],
      ["2001:db8:122:344::/96", "2001:db8:122:344::c000:221"],
    ];
    for (const [pool6, want] of table) assert.equal(formatIPv6(embedIPv4(P(pool6), parseIPv4("192.0.2.33") as bigint)), want, pool6);
  });

  it("places the health probe's targets the same way", () => {
    assert.deepEqual(translatedTarget("64:ff9b::/96", "198.51.100.80:80"), ["64:ff9b::c633:6450", "80"]);
    assert.deepEqual(translatedTarget("2001:db8:100::/40", "192.0.2.33:53"), ["2001:db8:1c0:2:21::", "53"]);
  });

  it("an IPv4 prefix becomes an IPv6 prefix that holds exactly its addresses", () => {
    for (const [, pool6] of LENGTHS)
      for (const v4 of ["127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "198.51.100.255/32", "100.64.0.0/10", "198.18.0.0/15"]) {
        const p = P(v4);
        const six = embedPrefix(P(pool6), p);
        const size = 1n << BigInt(32 - p.length);
        const inside = [p.value, p.value + size - 1n, p.value + size / 2n];
        const outside = [p.value - 1n, p.value + size].filter((a) => a >= 0n && a < 1n << 32n);
        for (const a of inside) assert.ok(contains(six, { family: 6, value: embedIPv4(P(pool6), a), length: 128 }), `${v4} ${pool6}`);
        for (const a of outside) assert.ok(!contains(six, { family: 6, value: embedIPv4(P(pool6), a), length: 128 }), `${v4} ${pool6}`);
      }
  });
});

describe("the guard's chain", () => {
  for (const [length, pool6] of LENGTHS)
    it(`renders pool6 /${length} (golden)`, () => {
      const files = renderAll(configFor(pool6), { deviceId: "g", wanIPv4: "198.51.100.2/24", localIPv4: ["198.51.100.2/24"] });
      const nft = files["nftables/gate64.nft"] as string;
      const guard = nft.slice(nft.indexOf("    counter guard_foreign"), nft.indexOf("    chain input"));
      const file = join("test/golden/guard", `pool6-${length}.nft`);
      if (process.env.UPDATE_GOLDEN === "1") {
        mkdirSync("test/golden/guard", { recursive: true });
        writeFileSync(file, guard);
      }
      assert.equal(guard, readFileSync(file, "utf8"));
    });

  it("holds the same special ranges as the DNS64 plugin (image/coredns/dns64rfc/address.go)", () => {
    const go = readFileSync("image/coredns/dns64rfc/address.go", "utf8");
    const list = (name: string) =>
      [...(new RegExp(`var ${name} = prefixes\\(([^)]*)\\)`).exec(go)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(list("neverTranslate"), [...NEVER_TRANSLATE]);
    assert.deepEqual(list("nonGlobal"), [...NON_GLOBAL]);
  });

  it("leaves Jool disabled while pool4 waits for a WAN address, rather than use Jool's fallback range", () => {
    const config = configFor("64:ff9b::/96");
    const jool = (facts: Facts) => JSON.parse(renderAll(config, facts)["jool/nat64.json"] as string);
    assert.equal(jool({ deviceId: "g" }).global["manually-enabled"], false);
    assert.deepEqual(jool({ deviceId: "g" }).pool4, []);
    assert.equal(jool({ deviceId: "g", wanIPv4: "203.0.113.9/24" }).global["manually-enabled"], true);
    assert.equal(jool({ deviceId: "g", wanIPv4: "203.0.113.9/24" }).pool4[0].prefix, "203.0.113.9/32");
  });
});

describe("datapath rules", () => {
  it("refuses a PREF64 lifetime shorter than the router lifetime (RFC 8781 section 4.1)", () => {
    const v = validateConfig({
      interfaces: { lan: { name: "lan" }, wan: { name: "wan" } },
      routerAdvertisements: { routerLifetimeSec: 1800, pref64LifetimeSec: 600 },
    });
    assert.ok(!v.ok);
    assert.deepEqual(
      v.problems.map((p) => p.path),
      ["routerAdvertisements.pref64LifetimeSec"],
    );
  });

  it("refuses a pool4 prefix in a range that is never translated", () => {
    const v = validateConfig({
      interfaces: { lan: { name: "lan" }, wan: { name: "wan" } },
      nat64: { pool4: [{ protocol: "tcp", prefix: "127.0.0.0/30", ports: "1-65535" }] },
    });
    assert.ok(!v.ok);
    assert.deepEqual(
      v.problems.map((p) => p.path),
      ["nat64.pool4[0].prefix"],
    );
  });

  it("probes the resolvers the WAN learned when upstreams are 'dhcp'", () => {
    const text = "# generated\nnameserver 198.51.100.53\nnameserver 2001:db8::53\nnameserver 192.168.1.1\nsearch lan\n";
    assert.deepEqual(resolvConfTargets(text), ["198.51.100.53:53", "192.168.1.1:53"]);
  });
});

describe("following the WAN", () => {
  it("re-renders pool4 and the guard for a new DHCP address without a new revision", async () => {
    const sys = new FakeSystem();
    let wan = "198.51.100.2/24";
    const applier = new Applier({
      sys,
      facts: async () => ({ deviceId: "t", wanIPv4: wan, localIPv4: [wan] }),
      check: async () => ({ status: "ok", checkedAt: "", probes: [] }),
      log: () => undefined,
    });
    const config = configFor("64:ff9b::/96");
    await applier.boot(config, {});
    const revision = applier.running?.revision;
    sys.commands.length = 0;
    assert.deepEqual(await applier.refresh(), [], "nothing changed, nothing done");
    assert.equal(sys.commands.length, 0, sys.commands.join("\n"));

    wan = "198.51.100.3/24";
    assert.deepEqual(await applier.refresh(), ["firewall", "jool"]);
    assert.equal(applier.running?.revision, revision);
    assert.equal(applier.running?.resolved.wanIPv4, "198.51.100.3");
    const dir = join(PATHS.render, `rev-${revision}`);
    assert.match(sys.files.get(join(dir, "jool/nat64.json")) ?? "", /"prefix": "198\.51\.100\.3\/32"/);
    assert.match(sys.files.get(join(dir, "nftables/gate64.nft")) ?? "", /64:ff9b::c633:6403\/128/);
    // The running instance is updated in place: its sessions on unchanged pool4 entries stay.
    assert.ok(sys.commands.some((c) => c.startsWith("jool file handle")));
    assert.ok(!sys.commands.some((c) => c.startsWith("jool instance remove")), sys.commands.join("\n"));
  });
});
