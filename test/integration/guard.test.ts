// The translator's guard against the real kernel's nftables, for every RFC 6052 prefix length:
// the ruleset the agent renders is loaded into a "box" namespace, a LAN client, a WAN neighbour
// and a probe namespace send UDP to addresses under pool6, and the guard's named counters and a
// counter at Jool's hook priority (-75, behind the guard) say which packets would reach the
// translator. Jool itself runs only in the lab VM (test/e2e); the host kernel has no module.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { validateConfig } from "../../agent/src/config/validate.js";
import { embedIPv4, formatIPv6, type Prefix, parseIPv4, parsePrefix } from "../../agent/src/lib/ip.js";
import { parseGuardCounters } from "../../agent/src/observe/metrics.js";
import { renderAll } from "../../agent/src/render/index.js";
import { isRoot, link, Namespace } from "../../scripts/lab/netns.js";

const LAN = { box: "fd00:64::1", client: "fd00:64::2" };
const WAN = { box: "fd00:ff::1", neighbour: "fd00:ff::2" };
const PROBE = { box: "fd64:6464:6464::1", ns: "fd64:6464:6464::2" };
const WAN_IPV4 = "198.51.100.2/24";

/** "none": the address is not under pool6 at all, so neither the guard nor Jool sees it. */
type Verdict = "translated" | "foreign" | "reserved" | "special" | "own" | "nonglobal" | "none";
type From = "client" | "wan" | "probe";

interface Case {
  from: From;
  v4: string;
  port: number;
  want: (wellKnown: boolean, length: number) => Verdict;
  /** Sets the "u" octet (bits 64-71), which RFC 6052 requires to be zero. */
  uOctet?: number;
}

const always = (v: Verdict) => () => v;
const CASES: Case[] = [
  { from: "client", v4: "11.22.33.44", port: 443, want: always("translated") },
  { from: "client", v4: "127.0.0.1", port: 53, want: always("special") },
  { from: "client", v4: "127.0.0.54", port: 53, want: always("special") },
  { from: "client", v4: "0.0.0.1", port: 9, want: always("special") },
  { from: "client", v4: "169.254.0.1", port: 9, want: always("special") },
  { from: "client", v4: "192.0.0.8", port: 9, want: always("special") },
  { from: "client", v4: "224.0.0.1", port: 9, want: always("special") },
  { from: "client", v4: "240.0.0.1", port: 9, want: always("special") },
  { from: "client", v4: "255.255.255.255", port: 9, want: always("special") },
  { from: "client", v4: "198.51.100.2", port: 53, want: always("own") },
  { from: "client", v4: "198.51.100.2", port: 9164, want: always("own") },
  { from: "client", v4: "198.51.100.255", port: 9, want: always("own") },
  // Hairpinning: the WAN address at a pool4 port is another LAN client's mapping.
  { from: "client", v4: "198.51.100.2", port: 40000, want: always("translated") },
  { from: "client", v4: "10.1.2.3", port: 80, want: (wk) => (wk ? "nonglobal" : "translated") },
  { from: "client", v4: "203.0.113.7", port: 80, want: (wk) => (wk ? "nonglobal" : "translated") },
  // Allow-listed in dns64.allowNonGlobal below.
  { from: "client", v4: "192.0.2.1", port: 80, want: always("translated") },
  { from: "client", v4: "11.22.33.44", port: 443, uOctet: 0xff, want: (_wk, len) => (len < 96 ? "reserved" : "none") },
  { from: "wan", v4: "11.22.33.44", port: 443, want: always("foreign") },
  { from: "probe", v4: "10.1.2.3", port: 53, want: always("translated") },
  { from: "probe", v4: "127.0.0.1", port: 53, want: always("special") },
];

const POOL6 = [
  "2001:db8::/32",
  "2001:db8:100::/40",
  "2001:db8:122::/48",
  "2001:db8:122:300::/56",
  "2001:db8:122:344::/64",
  "2001:db8:122:344::/96",
  "64:ff9b::/96",
];

function destination(pool6: string, c: Case): string {
  const p = parsePrefix(pool6) as Prefix;
  let a = embedIPv4(p, parseIPv4(c.v4) as bigint);
  if (c.uOctet !== undefined) a |= BigInt(c.uOctet) << 56n;
  return formatIPv6(a);
}

function rulesetFor(pool6: string): string {
  const v = validateConfig({
    interfaces: {
      lan: { name: "lan", ipv6: { address: `${LAN.box}/64` } },
      wan: { name: "wan", ipv4: { mode: "static", address: WAN_IPV4, gateway: "198.51.100.1" } },
    },
    nat64: { pool6 },
    dns64: { upstreams: ["198.51.100.53"], allowNonGlobal: ["192.0.2.0/24"] },
  });
  assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
  const files = renderAll(v.config, { deviceId: "guard-test", wanIPv4: WAN_IPV4, localIPv4: [WAN_IPV4] });
  // A counter at Jool's hook priority: what passes the guard is what Jool would translate.
  // What is untracked there, each side: Jool keeps its own state (guard.ts, translator_notrack).
  const observe = [
    "table inet observe {",
    "    chain jool {",
    "        type filter hook prerouting priority -75; policy accept;",
    `        ip6 daddr ${pool6} counter name "reached"`,
    `        ip6 daddr ${pool6} ct state untracked counter name "untracked6"`,
    `        ip daddr ${WAN_IPV4.split("/")[0]} ct state untracked counter name "untracked4"`,
    "    }",
    ...["reached", "untracked6", "untracked4"].map((n) => `    counter ${n} {\n    }`),
    "}",
  ].join("\n");
  return `${files["nftables/gate64.nft"]}\n${observe}\n`;
}

describe("the translator's guard (nftables in namespaces)", { skip: !isRoot() && "needs root for namespaces" }, () => {
  let box: Namespace;
  const senders = {} as Record<From, Namespace>;
  const dir = mkdtempSync(join(tmpdir(), "gate64-guard-"));

  before(() => {
    box = Namespace.create("gbox");
    senders.client = Namespace.create("gcli");
    senders.wan = Namespace.create("gwan");
    senders.probe = Namespace.create("gprb");
    link(box, "lan", senders.client, "eth0");
    link(box, "wan", senders.wan, "eth0");
    link(box, "gprobe0", senders.probe, "eth0");
    box.exec("sysctl", ["-q", "-w", "net.ipv6.conf.all.forwarding=1"]);
    const addr = (ns: Namespace, dev: string, a: string) => ns.ip("-6", "addr", "add", `${a}/64`, "dev", dev, "nodad");
    addr(box, "lan", LAN.box);
    addr(box, "wan", WAN.box);
    addr(box, "gprobe0", PROBE.box);
    addr(senders.client, "eth0", LAN.client);
    addr(senders.wan, "eth0", WAN.neighbour);
    addr(senders.probe, "eth0", PROBE.ns);
    senders.client.ip("-6", "route", "add", "default", "via", LAN.box);
    senders.probe.ip("-6", "route", "add", "default", "via", PROBE.box);
    senders.wan.ip("-6", "route", "add", "default", "via", WAN.box);
    // Past the guard, packets leave by the WAN (on the box Jool would take them first).
    box.ip("-6", "route", "add", "default", "via", WAN.neighbour);
  });

  after(async () => {
    for (const ns of [box, ...Object.values(senders)]) await ns?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The rendered ruleset for pool6, with the observe table, in the box; unload() removes both. */
  const load = (pool6: string) => {
    const file = join(dir, "ruleset.nft");
    writeFileSync(file, rulesetFor(pool6));
    box.exec("nft", ["-f", file]);
  };
  const unload = () => {
    for (const table of ["gate64", "observe"]) box.exec("nft", ["delete", "table", "inet", table]);
  };

  /** The observe table's counters by name. */
  const observed = (): Record<string, number> =>
    Object.fromEntries(
      (
        JSON.parse(box.exec("nft", ["-j", "list", "counters", "table", "inet", "observe"])) as {
          nftables: { counter?: { name: string; packets: number } }[];
        }
      ).nftables.flatMap((i) => (i.counter ? [[i.counter.name, i.counter.packets]] : [])),
    );
  const counters = (): Record<string, number> => ({
    ...parseGuardCounters(box.exec("nft", ["-j", "list", "counters", "table", "inet", "gate64"])),
    translated: observed().reached ?? 0,
  });

  for (const pool6 of POOL6) {
    it(`pool6 ${pool6}: only LAN and probe traffic to translatable destinations reaches Jool`, () => {
      load(pool6);
      const length = (parsePrefix(pool6) as Prefix).length;
      const wellKnown = pool6 === "64:ff9b::/96";
      const wrong: string[] = [];
      for (const c of CASES) {
        const dst = destination(pool6, c);
        const before = counters();
        senders[c.from].exec("bash", ["-c", `echo gate64 > /dev/udp/${dst}/${c.port}`]);
        const afterCount = counters();
        const moved = Object.keys(afterCount).filter((k) => afterCount[k] !== before[k]);
        const want = c.want(wellKnown, length);
        if (want === "none" ? moved.length !== 0 : moved.length !== 1 || moved[0] !== want)
          wrong.push(`${c.from} -> [${dst}]:${c.port} (${c.v4}): want ${want}, counters moved: ${moved.join(", ") || "none"}`);
      }
      assert.deepEqual(wrong, []);
      unload();
    });
  }

  it("conntrack leaves the translator's packets alone, and tracks the box's own", () => {
    load("64:ff9b::/96");
    box.ip("addr", "add", WAN_IPV4, "dev", "wan");
    senders.wan.ip("addr", "add", "198.51.100.1/24", "dev", "eth0");
    const sent = (from: Namespace, dst: string, port: number) => {
      const before = observed();
      from.exec("bash", ["-c", `echo gate64 > /dev/udp/${dst}/${port}`]);
      const after = observed();
      return {
        untracked6: (after.untracked6 ?? 0) - (before.untracked6 ?? 0),
        untracked4: (after.untracked4 ?? 0) - (before.untracked4 ?? 0),
      };
    };
    // LAN to pool6, and the internet to pool4 (UDP 32768-65535 on the WAN address by default).
    assert.deepEqual(sent(senders.client, "64:ff9b::b16:212c", 443), { untracked6: 1, untracked4: 0 });
    assert.deepEqual(sent(senders.wan, "198.51.100.2", 40000), { untracked6: 0, untracked4: 1 });
    // The box's own ports (system.ephemeralPorts 16384-32767, and its services) stay tracked.
    assert.deepEqual(sent(senders.wan, "198.51.100.2", 20000), { untracked6: 0, untracked4: 0 });
    assert.deepEqual(sent(senders.wan, "198.51.100.2", 53), { untracked6: 0, untracked4: 0 });
    unload();
  });
});
