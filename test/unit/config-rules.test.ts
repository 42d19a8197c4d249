// One test per cross-field rule: a config that breaks it is refused with the field named, and
// the nearest config that keeps it passes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateConfig } from "../../agent/src/config/validate.js";

const base = () =>
  ({
    interfaces: { lan: { name: "lan" }, wan: { name: "wan" } },
  }) as Record<string, any>;

function refused(config: unknown, path: string, reason: RegExp): void {
  const v = validateConfig(config);
  assert.equal(v.ok, false, "expected a refusal");
  if (v.ok) return;
  const hit = v.problems.find((p) => p.path === path && reason.test(p.message));
  assert.ok(hit, `no problem at ${path} matching ${reason}; got ${JSON.stringify(v.problems)}`);
}

function accepted(config: unknown) {
  const v = validateConfig(config);
  assert.ok(v.ok, `expected acceptance; got ${JSON.stringify(!v.ok && v.problems)}`);
  return v;
}

describe("config defaults", () => {
  it("gives a working box from a minimal file", () => {
    const v = accepted(base());
    assert.equal(v.config.nat64.pool6, "64:ff9b::/96");
    assert.equal(v.config.routerAdvertisements.pref64, true);
    assert.equal(v.config.dns64.openResolver, false);
    assert.deepEqual(v.config.dns64.acl, ["lan"]);
    assert.equal(v.config.mqtt.enabled, false);
    assert.equal(v.config.nat64.pool4.length, 3);
  });

  it("sizes pool4 for real use and reports capacity", () => {
    const v = accepted(base());
    const tcp = v.capacity.find((c) => c.protocol === "tcp");
    assert.ok(tcp && tcp.mappings >= 32768, JSON.stringify(tcp));
    assert.ok(tcp.sustainedPerSec > 100);
    assert.deepEqual(v.warnings, []);
  });

  it("warns when pool4 is as small as Jool's own default", () => {
    const c = base();
    c.nat64 = { pool4: [{ protocol: "tcp", prefix: "wan", ports: "61001-65535" }] };
    const v = accepted(c);
    assert.equal(v.capacity.find((x) => x.protocol === "tcp")?.sustainedPerSec, 18);
    assert.match(v.warnings[0]?.message ?? "", /sustains only 18 new connections/);
  });
});

describe("cross-field rules", () => {
  it("pool4 ports must not overlap the box's ephemeral ports", () => {
    const c = base();
    c.nat64 = { pool4: [{ protocol: "tcp", prefix: "wan", ports: "30000-40000" }] };
    refused(c, "nat64.pool4[0].ports", /overlaps the box's own ephemeral ports/);
    c.system = { ephemeralPorts: "20000-29999" };
    accepted(c);
  });

  it("pool4 on addresses other than the WAN's may use any ports", () => {
    const c = base();
    c.interfaces.wan.ipv4 = { mode: "static", address: "198.51.100.2/24", gateway: "198.51.100.1" };
    c.dns64 = { upstreams: ["192.0.2.53"] };
    c.nat64 = { pool4: [{ protocol: "tcp", prefix: "203.0.113.0/30", ports: "1024-65535" }] };
    accepted(c);
    c.nat64.pool4[0].prefix = "198.51.100.0/30";
    refused(c, "nat64.pool4[0].ports", /ephemeral/);
  });

  it("no duplicate or overlapping pool4 entries", () => {
    const c = base();
    c.nat64 = {
      pool4: [
        { protocol: "udp", prefix: "203.0.113.0/29", ports: "40000-50000" },
        { protocol: "udp", prefix: "203.0.113.4/30", ports: "45000-46000" },
      ],
    };
    refused(c, "nat64.pool4[1]", /overlaps nat64.pool4\[0\]/);
    c.nat64.pool4[1].protocol = "tcp";
    accepted(c);
  });

  it("DNS64 prefix equals pool6 unless explicitly different", () => {
    const c = base();
    c.dns64 = { prefix: "2001:db8:64::/96" };
    refused(c, "dns64.prefix", /differs from nat64.pool6/);
    c.dns64.allowPrefixMismatch = true;
    accepted(c);
  });

  it("an ACL open to the internet needs openResolver", () => {
    const c = base();
    c.dns64 = { acl: ["lan", "0.0.0.0/0"] };
    refused(c, "dns64.acl[1]", /open resolver/);
    c.dns64.openResolver = true;
    accepted(c);
  });

  it("LAN and WAN differ", () => {
    const c = base();
    c.interfaces.wan.name = "lan";
    refused(c, "interfaces.wan.name", /must be different/);
  });

  it("takes retired fields out with a warning naming them, so an old config.json still boots", () => {
    const c = base() as Record<string, unknown> & ReturnType<typeof base>;
    Object.assign(c.interfaces.lan, { mac: "52:54:00:00:00:01" });
    Object.assign(c, { system: { timezone: "Europe/Berlin" } });
    const v = validateConfig(c);
    assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
    assert.deepEqual(
      v.warnings.map((w) => w.path),
      ["system.timezone", "interfaces.lan.mac"],
    );
    assert.ok(!("mac" in v.config.interfaces.lan));
    assert.ok("mac" in c.interfaces.lan, "the caller's input is not changed");
  });

  it("canonicalises addresses and prefixes (RFC 5952), as `ip` prints them", () => {
    const c = base();
    c.interfaces.lan.ipv6 = { address: "2001:DB8:64:0:0::1/64" };
    const v = validateConfig({ ...c, nat64: { pool6: "64:FF9B::/96" }, dns64: { acl: ["2001:0DB8::/32"], upstreams: ["2001:DB8::53"] } });
    assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
    assert.equal(v.config.interfaces.lan.ipv6.address, "2001:db8:64::1/64");
    assert.equal(v.config.nat64.pool6, "64:ff9b::/96");
    assert.deepEqual(v.config.dns64.acl, ["2001:db8::/32"]);
  });

  it("pool6 follows RFC 6052", () => {
    const c = base();
    c.nat64 = { pool6: "64:ff9b::/80" };
    refused(c, "nat64.pool6", /RFC 6052/);
    c.nat64 = { pool6: "2001:db8:0:0:ff00::/96" };
    refused(c, "nat64.pool6", /bits 64-71/);
    c.nat64 = { pool6: "2001:db8:100::/40" };
    accepted(c);
  });

  it("the LAN address is a /64 outside pool6", () => {
    const c = base();
    c.interfaces.lan.ipv6 = { address: "2001:db8:1::1/56" };
    refused(c, "interfaces.lan.ipv6.address", /must be \/64/);
    c.nat64 = { pool6: "2001:db8:64::/96" };
    c.interfaces.lan.ipv6 = { address: "2001:db8:64::1/64" };
    refused(c, "interfaces.lan.ipv6.address", /overlaps nat64.pool6/);
    c.interfaces.lan.ipv6 = { address: "fe80::1/64" };
    refused(c, "interfaces.lan.ipv6.address", /global or unique-local/);
  });

  it("a static WAN gateway lies in its subnet, and needs explicit upstreams", () => {
    const c = base();
    c.interfaces.wan.ipv4 = { mode: "static", address: "198.51.100.2/24", gateway: "192.0.2.1" };
    refused(c, "interfaces.wan.ipv4.gateway", /is not inside/);
    refused(c, "dns64.upstreams", /static WAN/);
  });

  it("RA preferred lifetime does not exceed valid", () => {
    const c = base();
    c.routerAdvertisements = { prefixValidLifetimeSec: 600, prefixPreferredLifetimeSec: 1200 };
    refused(c, "routerAdvertisements.prefixPreferredLifetimeSec", /must not exceed/);
  });

  it("MQTT: a URL when enabled, TLS to remote brokers, cert and key together", () => {
    const c = base();
    c.mqtt = { enabled: true };
    refused(c, "mqtt.url", /required/);
    c.mqtt = { enabled: true, url: "mqtt://broker.example:1883" };
    refused(c, "mqtt.url", /plain mqtt/);
    c.mqtt = { enabled: true, url: "mqtt://127.0.0.1:1883" };
    accepted(c);
    c.mqtt = { enabled: true, url: "mqtts://broker.example", tls: { cert: "/data/c.pem" } };
    refused(c, "mqtt.tls.key", /go together/);
  });

  it("health targets are IPv4 endpoints", () => {
    const c = base();
    c.health = { nat64Targets: ["300.1.1.1:80"] };
    refused(c, "health.nat64Targets[0]", /IPv4 address/);
  });
});

describe("schema errors", () => {
  it("name the field and the reason", () => {
    refused({ interfaces: { lan: { name: "lan" } } }, "interfaces.wan", /expected object/i);
    refused({ ...base(), nat64: { pool6: "64:ff9b::/9x" } }, "nat64.pool6", /IPv6 prefix/);
    refused({ ...base(), nat64: { pool6: "64:ff9b::1/96" } }, "nat64.pool6", /bits set past/);
    refused({ ...base(), routerAdvertisements: { pref64LifetimeSec: 601 } }, "routerAdvertisements.pref64LifetimeSec", /multiple of 8/);
    refused({ ...base(), surprise: 1 }, "(root)", /unknown field "surprise"/);
    refused(
      JSON.parse('{"__proto__": {"x": 1}, "interfaces": {"lan": {"name": "lan"}, "wan": {"name": "wan"}}}'),
      "(root)",
      /unknown field "__proto__"/,
    );
  });
});
