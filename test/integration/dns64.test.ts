// DNS64 against real parts: our CoreDNS build, run with a Corefile from the agent's renderer,
// forwarding to NSD serving a test zone, queried by dig from a client namespace over IPv6 and
// IPv4, UDP and TCP. Everything lives in namespaces this test creates and removes.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { after, before, describe, it } from "node:test";
import { validateConfig } from "../../agent/src/config/validate.js";
import { parseCorednsCounters, servedCorefileId, servedQueries } from "../../agent/src/observe/metrics.js";
import { resolve } from "../../agent/src/render/context.js";
import { COREDNS_METRICS, COREDNS_READY, loadedId, renderCorefile } from "../../agent/src/render/corefile.js";
import { answersOfType, dig } from "../../scripts/lab/dig.js";
import { type Daemon, link, Namespace, waitFor } from "../../scripts/lab/netns.js";
import { writeNsdConf } from "../../scripts/lab/nsd.js";

const COREDNS = resolvePath("out/coredns/amd64/coredns");
const BOX6 = "2001:db8:64::1";
const BOX4 = "192.0.2.1";
const CLIENT6 = "2001:db8:64::100";
const OUTSIDER6 = "2001:db8:65::5";
const OUTSIDER4 = "198.18.0.5";

// 11.22.33.44 etc. are only DNS data here: no packet is sent to them.
const ZONE = `$ORIGIN gate64.test.
$TTL 300
@          SOA ns hostmaster 1 3600 600 86400 120
@          NS  ns
ns         A   11.22.33.1
a-only     A   11.22.33.44
dual       A   11.22.33.45
dual       AAAA 2001:db8:1::45
mapped     A   11.22.33.46
mapped     AAAA ::ffff:11.22.33.46
private    A   10.1.2.3
loopback   A   127.0.0.1
linklocal  A   169.254.1.1
broadcast  A   255.255.255.255
doc        A   198.51.100.7
mixed      A   11.22.33.48
mixed      A   10.0.0.1
cname      CNAME a-only
chain      CNAME cname
short 5    A   11.22.33.47
nodata     TXT "no addresses here"
`;

const REVERSE = `$ORIGIN 22.11.in-addr.arpa.
$TTL 300
@          SOA ns.gate64.test. hostmaster.gate64.test. 1 3600 600 86400 120
@          NS  ns.gate64.test.
44.33      PTR a-only.gate64.test.
`;

/** A config as an operator would write it for this network; rendered by the real renderer. */
function corefileFor(overrides: { nat64?: object; dns64?: object }): string {
  const v = validateConfig({
    interfaces: {
      lan: { name: "lan", ipv6: { address: `${BOX6}/64` } },
      wan: { name: "wan", ipv4: { mode: "static", address: "198.51.100.2/24", gateway: "198.51.100.1" } },
    },
    nat64: overrides.nat64 ?? {},
    dns64: { upstreams: ["127.0.0.1:5300"], listen: ["lan", BOX4], acl: ["lan", "192.0.2.0/24"], ...overrides.dns64 },
  });
  assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
  return renderCorefile(resolve(v.config, { deviceId: "dns64-test" }));
}

let box: Namespace;
let client: Namespace;
let dir: string;
let coredns: Daemon | undefined;
/** The running CoreDNS's Corefile. */
let current = "";
/** What the running CoreDNS printed (its log goes to stdout). */
let corednsLog = "";

async function startCoreDNS(corefile: string, file = join(dir, `Corefile.${Date.now()}`)): Promise<void> {
  await coredns?.stop();
  writeFileSync(file, corefile);
  current = file;
  corednsLog = "";
  coredns = box.spawn(COREDNS, ["-conf", file], { log: (text) => (corednsLog += text) });
  await waitFor("CoreDNS ready", () => box.exec("curl", ["-sf", "http://127.0.0.1:8181/ready"]) !== null);
  // forward's first health check can lag the ready plugin; wait until answers flow.
  await waitFor("CoreDNS answering", () => dig(client, BOX6, "dual.gate64.test", "A").status === "NOERROR");
}

before(async () => {
  assert.ok(existsSync(COREDNS), `${COREDNS} is missing: run npm run build:coredns`);
  dir = mkdtempSync(join(tmpdir(), "gate64-dns64-"));
  writeFileSync(join(dir, "gate64.test.zone"), ZONE);
  writeFileSync(join(dir, "reverse.zone"), REVERSE);
  const nsdConf = writeNsdConf(dir, { address: "127.0.0.1", port: 5300 }, [
    { name: "gate64.test", file: "gate64.test.zone" },
    { name: "22.11.in-addr.arpa", file: "reverse.zone" },
  ]);
  box = Namespace.create("dnsbox");
  client = Namespace.create("dnscli");
  link(box, "lan", client, "eth0");
  box.ip("addr", "add", `${BOX6}/64`, "dev", "lan", "nodad");
  box.ip("addr", "add", `${BOX4}/24`, "dev", "lan");
  box.ip("-6", "route", "add", "2001:db8:65::/64", "dev", "lan");
  box.ip("route", "add", "198.18.0.0/24", "dev", "lan");
  client.ip("addr", "add", `${CLIENT6}/64`, "dev", "eth0", "nodad");
  client.ip("addr", "add", `${OUTSIDER6}/64`, "dev", "eth0", "nodad");
  client.ip("addr", "add", "192.0.2.100/24", "dev", "eth0");
  client.ip("addr", "add", `${OUTSIDER4}/24`, "dev", "eth0");
  box.spawn("nsd", ["-d", "-c", nsdConf]);
  await waitFor("NSD", () => box.exec("dig", ["@127.0.0.1", "-p", "5300", "a-only.gate64.test", "A", "+short"]).trim() === "11.22.33.44");
});

after(async () => {
  await coredns?.stop();
  await client?.destroy();
  await box?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** CoreDNS's metrics page, as Prometheus text. */
const metrics = () => box.exec("curl", ["-sf", "http://127.0.0.1:9153/metrics"]);

/** The sum of a CoreDNS counter's series, from its metrics endpoint. */
const counter = (name: string) =>
  metrics()
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`))
    .reduce((n, l) => n + Number(l.split(" ").pop()), 0);

const WKP = (v4hex: string) => `64:ff9b::${v4hex}`;

describe("DNS64 under the well-known prefix", () => {
  before(() => startCoreDNS(corefileFor({})));

  it("synthesizes AAAA for an A-only name (UDP and TCP)", () => {
    for (const tcp of [false, true]) {
      const r = dig(client, BOX6, "a-only.gate64.test", "AAAA", { tcp });
      assert.equal(r.status, "NOERROR");
      assert.deepEqual(answersOfType(r, "AAAA"), [WKP("b16:212c")], r.raw);
    }
  });

  it("keeps a real AAAA and does not synthesize", () => {
    const r = dig(client, BOX6, "dual.gate64.test", "AAAA");
    assert.deepEqual(answersOfType(r, "AAAA"), ["2001:db8:1::45"]);
  });

  it("treats a ::ffff:0:0/96 AAAA as absent and synthesizes from the A record", () => {
    const r = dig(client, BOX6, "mapped.gate64.test", "AAAA");
    assert.deepEqual(answersOfType(r, "AAAA"), [WKP("b16:212e")], r.raw);
  });

  it("never synthesizes from loopback, link-local, broadcast or private addresses", () => {
    for (const name of ["loopback", "linklocal", "broadcast", "private", "doc"]) {
      const r = dig(client, BOX6, `${name}.gate64.test`, "AAAA");
      assert.equal(r.status, "NOERROR", name);
      assert.deepEqual(answersOfType(r, "AAAA"), [], `${name}: ${r.raw}`);
    }
  });

  it("synthesizes only the translatable addresses of a mixed RRset", () => {
    const r = dig(client, BOX6, "mixed.gate64.test", "AAAA");
    assert.deepEqual(answersOfType(r, "AAAA"), [WKP("b16:2130")], r.raw);
  });

  it("preserves CNAME chains", () => {
    const r = dig(client, BOX6, "chain.gate64.test", "AAAA", { tcp: true });
    assert.deepEqual(answersOfType(r, "CNAME"), ["cname.gate64.test.", "a-only.gate64.test."]);
    assert.deepEqual(answersOfType(r, "AAAA"), [WKP("b16:212c")]);
  });

  it("passes NXDOMAIN and NODATA through", () => {
    const nx = dig(client, BOX6, "missing.gate64.test", "AAAA");
    assert.equal(nx.status, "NXDOMAIN");
    const nodata = dig(client, BOX6, "nodata.gate64.test", "AAAA");
    assert.equal(nodata.status, "NOERROR");
    assert.deepEqual(nodata.answer, []);
    assert.equal(nodata.authority[0]?.type, "SOA");
  });

  it("caps TTLs by the A record's TTL and the negative caching TTL", () => {
    const short = dig(client, BOX6, "short.gate64.test", "AAAA");
    const ttlShort = short.answer.find((a) => a.type === "AAAA")?.ttl ?? -1;
    assert.ok(ttlShort >= 0 && ttlShort <= 5, `short TTL ${ttlShort}`);
    const long = dig(client, BOX6, "a-only.gate64.test", "AAAA");
    const ttlLong = long.answer.find((a) => a.type === "AAAA")?.ttl ?? -1;
    assert.ok(ttlLong > 0 && ttlLong <= 120, `A TTL 300, SOA minimum 120, got ${ttlLong}`);
  });

  it("answers ipv4only.arpa locally with the configured prefix (RFC 7050)", () => {
    const r = dig(client, BOX6, "ipv4only.arpa", "AAAA");
    assert.equal(r.status, "NOERROR");
    assert.deepEqual(answersOfType(r, "AAAA").sort(), [WKP("c000:aa"), WKP("c000:ab")]);
  });

  it("maps PTR queries for synthesized addresses to in-addr.arpa (RFC 6147 5.3.1)", () => {
    const r = dig(client, BOX6, "c.2.1.2.6.1.b.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.9.f.f.4.6.0.0.ip6.arpa", "PTR");
    assert.equal(r.status, "NOERROR", r.raw);
    assert.deepEqual(answersOfType(r, "CNAME"), ["44.33.22.11.in-addr.arpa."]);
    assert.deepEqual(answersOfType(r, "PTR"), ["a-only.gate64.test."]);
  });

  it("does not synthesize for queries over IPv4 unless configured", () => {
    const r = dig(client, BOX4, "a-only.gate64.test", "AAAA");
    assert.equal(r.status, "NOERROR");
    assert.deepEqual(answersOfType(r, "AAAA"), []);
  });

  it("answers a repeated AAAA from one cache lookup: the synthesized answer is what is cached", () => {
    const hits = () => counter("coredns_cache_hits_total");
    assert.deepEqual(answersOfType(dig(client, BOX6, "cname.gate64.test", "AAAA"), "AAAA"), [WKP("b16:212c")]);
    const before = hits();
    const r = dig(client, BOX6, "cname.gate64.test", "AAAA");
    assert.deepEqual(answersOfType(r, "AAAA"), [WKP("b16:212c")], r.raw);
    // Below dns64rfc the cache would be asked twice: the AAAA (NODATA) and the A it synthesizes from.
    assert.equal(hits() - before, 1);
    // The IPv4 listener has its own cache: the synthesized answer never reaches an IPv4 client.
    assert.deepEqual(answersOfType(dig(client, BOX4, "cname.gate64.test", "AAAA"), "AAAA"), []);
  });

  it("refuses clients outside the ACL, over IPv6 and IPv4, UDP and TCP, and counts them", () => {
    const before = counter("coredns_clients_refused_total");
    for (const tcp of [false, true]) {
      const r = dig(client, BOX6, "a-only.gate64.test", "AAAA", { source: OUTSIDER6, tcp });
      assert.equal(r.status, "REFUSED");
      assert.match(r.raw, /EDE: 15 \(Blocked\)/);
      assert.equal(dig(client, BOX6, "ipv4only.arpa", "AAAA", { source: OUTSIDER6, tcp }).status, "REFUSED");
      assert.equal(dig(client, BOX4, "a-only.gate64.test", "A", { source: OUTSIDER4, tcp }).status, "REFUSED");
      // The same server, from inside the ACL, answers.
      assert.equal(dig(client, BOX4, "a-only.gate64.test", "A", { tcp }).status, "NOERROR");
    }
    assert.equal(counter("coredns_clients_refused_total") - before, 6);
  });

  it("listens only for DNS on its bind addresses and for ready and metrics on 127.0.0.1", () => {
    const binds = [...readFileSync(current, "utf8").matchAll(/^ +bind (.+)$/gm)].flatMap((m) => (m[1] ?? "").split(" "));
    const asked = new Set([...binds.map((a) => (a.includes(":") ? `[${a}]:53` : `${a}:53`)), COREDNS_READY, COREDNS_METRICS]);
    for (const proto of ["-t", "-u"]) {
      // ss -H -l -n -p: state, queues, local address:port, peer, process
      const listening = box
        .exec("ss", ["-Hlnp", proto])
        .split("\n")
        .filter((l) => l.includes('"coredns"'))
        .map((l) => l.trim().split(/\s+/)[3] ?? "");
      const expected = proto === "-t" ? asked : new Set([...asked].filter((a) => a.endsWith(":53")));
      assert.deepEqual(new Set(listening), expected, `ss ${proto}: ${listening.join(" ")}`);
    }
  });
});

describe("DNS64 with an operator allow-list and IPv4 clients", () => {
  before(() => startCoreDNS(corefileFor({ dns64: { allowNonGlobal: ["198.51.100.0/24"], allowIPv4: true } })));

  it("synthesizes allow-listed documentation addresses, and no others", () => {
    assert.deepEqual(answersOfType(dig(client, BOX6, "doc.gate64.test", "AAAA"), "AAAA"), [WKP("c633:6407")]);
    assert.deepEqual(answersOfType(dig(client, BOX6, "private.gate64.test", "AAAA"), "AAAA"), []);
  });

  it("synthesizes for IPv4 clients when allowIPv4 is set", () => {
    const r = dig(client, BOX4, "a-only.gate64.test", "AAAA", { tcp: true });
    assert.deepEqual(answersOfType(r, "AAAA"), [WKP("b16:212c")]);
  });
});

describe("CoreDNS's query counter, as the agent reads it (telemetry's dnsQueries)", () => {
  for (const cache of [true, false])
    it(`counts every served query with the cache ${cache ? "on" : "off"}`, async () => {
      await startCoreDNS(corefileFor({ dns64: { cache: { enabled: cache } } }));
      const served = () => servedQueries(parseCorednsCounters(metrics())) ?? 0;
      const [before, metricsBefore] = [served(), counter("coredns_dns_requests_total")];
      for (const name of ["a-only", "dual", "a-only"]) assert.equal(dig(client, BOX6, `${name}.gate64.test`, "AAAA").status, "NOERROR");
      assert.equal(dig(client, BOX4, "dual.gate64.test", "A").status, "NOERROR");
      // Four client queries; the A lookup behind a synthesis goes to the forwarder below dns64rfc
      // and is not a query the server counts.
      assert.equal(served() - before, 4);
      // The metrics plugin sits below the cache: the repeated AAAA, a cache hit, never reaches it.
      assert.equal(counter("coredns_dns_requests_total") - metricsBefore, cache ? 3 : 4);
    });
});

describe("DNS64 under a network-specific prefix", () => {
  before(() => startCoreDNS(corefileFor({ nat64: { pool6: "2001:db8:6464::/96" } })));

  it("carries private addresses (RFC 6052 3.1 restricts only the well-known prefix)", () => {
    assert.deepEqual(answersOfType(dig(client, BOX6, "private.gate64.test", "AAAA"), "AAAA"), ["2001:db8:6464::a01:203"]);
  });

  it("still never synthesizes loopback", () => {
    assert.deepEqual(answersOfType(dig(client, BOX6, "loopback.gate64.test", "AAAA"), "AAAA"), []);
  });

  it("answers ipv4only.arpa with the network-specific prefix", () => {
    assert.deepEqual(answersOfType(dig(client, BOX6, "ipv4only.arpa", "AAAA"), "AAAA").sort(), [
      "2001:db8:6464::c000:aa",
      "2001:db8:6464::c000:ab",
    ]);
  });
});

describe("reloading CoreDNS in place (SIGUSR1, as an apply does)", () => {
  const file = () => join(dir, "Corefile.reload");
  const served = () => servedCorefileId(metrics());
  const reloadTo = async (corefile: string) => {
    writeFileSync(file(), corefile);
    coredns?.child.kill("SIGUSR1");
  };
  before(() => startCoreDNS(corefileFor({}), file()));

  it("serves the new Corefile, and says so by its id", async () => {
    const first = corefileFor({});
    assert.equal(served(), loadedId(first));
    assert.deepEqual(answersOfType(dig(client, BOX6, "a-only.gate64.test", "AAAA"), "AAAA"), [WKP("b16:212c")]);
    const nsp = corefileFor({ nat64: { pool6: "2001:db8:6464::/96" } });
    assert.notEqual(loadedId(nsp), loadedId(first));
    await reloadTo(nsp);
    await waitFor("the new Corefile's id", () => served() === loadedId(nsp));
    assert.deepEqual(answersOfType(dig(client, BOX6, "a-only.gate64.test", "AAAA"), "AAAA"), ["2001:db8:6464::b16:212c"]);
  });

  it("keeps the running Corefile, and its id, when the new one cannot start", async () => {
    const running = served();
    // Valid to parse, but the address is not on the box: binding it fails during the reload.
    const unbindable = corefileFor({ dns64: { listen: ["2001:db8:64::99"] } });
    await reloadTo(unbindable);
    await waitFor("the reload to fail", () => /Restart failed: .*cannot assign requested address/.test(corednsLog));
    assert.equal(served(), running);
    assert.equal(dig(client, BOX6, "a-only.gate64.test", "AAAA").status, "NOERROR");
  });
});

describe("the CoreDNS build", () => {
  it("lists exactly the chosen plugin set", () => {
    const wanted = readFileSync("image/coredns/plugins.txt", "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "" && !l.startsWith("#"));
    const listed = execFileSync(COREDNS, ["-plugins"], { encoding: "utf8" })
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.endsWith(":"));
    assert.deepEqual(listed.sort(), wanted.sort());
  });

  it("starts from a Corefile that names health, as older firmware kept one on /data", async () => {
    // The first boot of an update starts CoreDNS from the kept Corefile before the agent renders its own.
    await startCoreDNS(corefileFor({}).replace(/^( +)(loaded .*)$/m, "$1health 127.0.0.1:8080\n$1$2"));
    assert.equal(box.exec("curl", ["-sf", "http://127.0.0.1:8080/health"]), "OK");
  });

  it("runs its plugins in the order docs/dns64.md gives", () => {
    const list = /directives = \[\]string\{([^}]*)\}/.exec(readFileSync("image/coredns/main.go", "utf8"))?.[1] ?? "";
    const order = [...list.matchAll(/"([a-z0-9]+)"/g)].map((m) => m[1]);
    assert.ok(order.length > 5, "no directive list in image/coredns/main.go");
    assert.match(readFileSync("docs/dns64.md", "utf8"), new RegExp(`^\`${order.join(", ")}\`$`, "m"));
  });
});
