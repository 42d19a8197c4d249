// Transactional apply on the fake system: plans, reverts, confirmation, rollback and power cuts.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { Applier } from "../../agent/src/apply/applier.js";
import { validateConfig } from "../../agent/src/config/validate.js";
import type { HealthReport } from "../../agent/src/observe/health.js";
import { PATHS } from "../../agent/src/paths.js";
import { FakeSystem } from "../../agent/src/system/fake.js";

const BASE = {
  interfaces: {
    lan: { name: "lan", ipv6: { address: "2001:db8:64::1/64" } },
    wan: { name: "wan", ipv4: { mode: "static", address: "198.51.100.2/24", gateway: "198.51.100.1" } },
  },
  dns64: { upstreams: ["198.51.100.53"] },
  health: { applyVerifySec: 5 },
};
const withUpstream = (u: string) => ({ ...BASE, dns64: { upstreams: [u] } });

let sys: FakeSystem;
let healthy: (config: unknown) => boolean;
let applier: Applier;
/** The probe names each verification round asked for (null: every probe). */
let asked: (string[] | null)[];

function report(ok: boolean): HealthReport {
  return {
    status: ok ? "ok" : "failed",
    checkedAt: "",
    probes: [{ name: "dns64", status: ok ? "ok" : "failed", detail: ok ? "fine" : "upstream silent", durationMs: 1 }],
  };
}

beforeEach(async () => {
  sys = new FakeSystem();
  healthy = () => true;
  applier = new Applier({
    sys,
    facts: async () => ({ deviceId: "t1" }),
    check: async (r, only) => {
      asked.push(only ? [...only].sort() : null);
      return report(healthy(r.config));
    },
    log: () => undefined,
    pollMs: 5,
  });
  const v = validateConfig(BASE);
  assert.ok(v.ok);
  asked = [];
  assert.equal((await applier.boot(v.config, BASE)).error, undefined);
  sys.commands.length = 0;
  asked = [];
});

describe("apply", () => {
  it("commits a healthy change and reloads only what changed", async () => {
    const r = await applier.apply(withUpstream("198.51.100.54"), { by: "test" });
    assert.equal(r.outcome, "committed");
    assert.deepEqual(r.outcome === "committed" && r.services, ["coredns"]);
    // Each step timed, in order, one install step per service reloaded.
    const steps = r.outcome === "committed" ? (r.steps ?? []) : [];
    assert.deepEqual(
      steps.map((s) => s.step),
      ["validate", "render", "stage", "install coredns", "verify", "commit"],
    );
    assert.ok(steps.every((s) => Number.isInteger(s.ms) && s.ms >= 0));
    // CoreDNS's readiness first, then what a CoreDNS reload can break, plus the NAT64 probe.
    assert.deepEqual(asked, [["coredns"], ["coredns", "dns64", "nat64", "upstream-dns"]]);
    assert.ok(sys.commands.includes("systemctl restart --no-block coredns.service"));
    assert.ok(!sys.commands.some((c) => c.startsWith("jool")), sys.commands.join("\n"));
    // The ruleset did not change: nft does not check it again.
    assert.ok(!sys.commands.some((c) => c.startsWith("nft")), sys.commands.join("\n"));
    assert.deepEqual(JSON.parse(sys.files.get(PATHS.config) ?? "").dns64.upstreams, ["198.51.100.54"]);
    assert.equal(sys.links.get(PATHS.current), `rev-${r.outcome === "committed" ? r.revision : 0}`);
  });

  it("reloads a running CoreDNS in place, and restarts it to repair it", async () => {
    sys.files.set(PATHS.corednsProcs, "4242\n");
    const r = await applier.apply(withUpstream("198.51.100.54"), { by: "test" });
    assert.deepEqual(r.outcome === "committed" && r.services, ["coredns"]);
    assert.deepEqual(
      sys.commands.filter((c) => /coredns|kill/.test(c)),
      ["kill -USR1 4242"],
    );
    sys.commands.length = 0;
    healthy = () => false;
    assert.deepEqual(await applier.repair(["dns64"]), { services: ["coredns"], passedAgain: [] });
    assert.deepEqual(sys.commands, ["systemctl restart --no-block coredns.service"]);
  });

  it("waits for a (re)started CoreDNS to be ready at boot, and before it tests what CoreDNS does", async () => {
    let starting = 3;
    applier = new Applier({
      sys,
      facts: async () => ({ deviceId: "t1" }),
      check: async (_r, only) => {
        asked.push(only ? [...only].sort() : null);
        return report(only?.size === 1 ? --starting <= 0 : true);
      },
      log: () => undefined,
      pollMs: 5,
    });
    const v = validateConfig(BASE);
    assert.ok(v.ok);
    asked = [];
    await applier.boot(v.config, BASE);
    // The boot waits too: the first health round comes right after it.
    assert.deepEqual(asked, [["coredns"], ["coredns"], ["coredns"]]);
    asked = [];
    starting = 3;
    assert.equal((await applier.apply(withUpstream("198.51.100.54"), { by: "test" })).outcome, "committed");
    assert.deepEqual(asked, [["coredns"], ["coredns"], ["coredns"], ["coredns", "dns64", "nat64", "upstream-dns"]]);
  });

  it("recreates the Jool instance only when pool6 changes", async () => {
    await applier.apply({ ...BASE, nat64: { timeouts: { udpSec: 600 } } }, { by: "test" });
    assert.ok(sys.commands.some((c) => c.startsWith("jool file handle")));
    assert.ok(!sys.commands.includes("jool instance remove default"));
    sys.handlers.set("jool", (args) => ({ code: 0, stdout: args[0] === "instance" ? "default,netfilter\n" : "", stderr: "" }));
    sys.commands.length = 0;
    await applier.apply({ ...BASE, nat64: { pool6: "2001:db8:6464::/96" } }, { by: "test" });
    assert.ok(sys.commands.includes("jool instance remove default"), sys.commands.join("\n"));
  });

  it("logs each verification round that fails, and commits once one passes", async () => {
    const lines: string[] = [];
    let rounds = 0;
    const logged = new Applier({
      sys,
      facts: async () => ({ deviceId: "t1" }),
      check: async (_r, only) => report(only?.has("nat64") !== true || ++rounds > 2),
      log: (l) => lines.push(l),
      pollMs: 5,
    });
    const v = validateConfig(BASE);
    assert.ok(v.ok);
    await logged.boot(v.config, BASE);
    const r = await logged.apply(withUpstream("198.51.100.57"), { by: "test" });
    assert.equal(r.outcome, "committed");
    assert.deepEqual(
      lines.filter((l) => l.includes("not verified yet")),
      Array(2).fill(`apply: revision ${r.outcome === "committed" ? r.revision : 0} not verified yet: dns64: upstream silent (1 ms)`),
    );
  });

  it("reverts a valid config that breaks translation, with the reason", async () => {
    healthy = (c) => (c as { dns64: { upstreams: string[] } }).dns64.upstreams[0] !== "203.0.113.99";
    const before = sys.files.get(PATHS.config);
    const r = await applier.apply(withUpstream("203.0.113.99"), { by: "test" });
    assert.equal(r.outcome, "reverted");
    assert.match(r.outcome === "reverted" ? r.reason : "", /dns64: upstream silent/);
    assert.equal(sys.files.get(PATHS.config), before, "config.json must not change");
    assert.equal(sys.links.get(PATHS.current), "rev-0");
    assert.deepEqual(applier.running?.config.dns64.upstreams, ["198.51.100.53"]);
    const hist = await applier.revisions.list();
    assert.equal(hist.at(-1)?.outcome, "reverted");
  });

  it("refuses an invalid config and changes nothing", async () => {
    const r = await applier.apply({ ...BASE, nat64: { pool6: "64:ff9b::/80" } }, { by: "test" });
    assert.equal(r.outcome, "refused");
    assert.match(r.outcome === "refused" ? (r.problems[0]?.path ?? "") : "", /nat64.pool6/);
    assert.deepEqual(sys.commands, []);
    assert.equal(sys.links.get(PATHS.current), "rev-0");
  });

  it("refuses a ruleset nft rejects, before swapping anything", async () => {
    sys.handlers.set("nft", (args) =>
      args[0] === "-c" ? { code: 1, stdout: "", stderr: "Error: syntax error" } : { code: 0, stdout: "", stderr: "" },
    );
    const r = await applier.apply({ ...BASE, firewall: { wanPing: true } }, { by: "test" });
    assert.equal(r.outcome, "refused");
    assert.equal(sys.links.get(PATHS.current), "rev-0");
  });

  it("keeps a confirmed revision", async () => {
    const r = await applier.apply(withUpstream("198.51.100.55"), { by: "test", confirmSec: 5 });
    assert.equal(r.outcome, "pending");
    assert.notEqual(JSON.parse(sys.files.get(PATHS.config) ?? "{}").dns64?.upstreams?.[0], "198.51.100.55", "not committed before confirm");
    const c = await applier.confirm("test");
    assert.equal(c.outcome, "committed");
    assert.deepEqual(JSON.parse(sys.files.get(PATHS.config) ?? "").dns64.upstreams, ["198.51.100.55"]);
  });

  it("reverts an unconfirmed revision when its time runs out", async () => {
    const r = await applier.apply(withUpstream("198.51.100.56"), { by: "test", confirmSec: 0.05 });
    assert.equal(r.outcome, "pending");
    await new Promise((res) => setTimeout(res, 150));
    assert.deepEqual(applier.running?.config.dns64.upstreams, ["198.51.100.53"]);
    assert.equal((await applier.revisions.list()).at(-1)?.outcome, "reverted");
    assert.match((await applier.revisions.list()).at(-1)?.reason ?? "", /not confirmed within 0.05 s/);
  });

  it("rolls back to an earlier revision as a new revision", async () => {
    const a = await applier.apply(withUpstream("198.51.100.57"), { by: "test" });
    await applier.apply(withUpstream("198.51.100.58"), { by: "test" });
    const r = await applier.rollback(a.outcome === "committed" ? a.revision : -1, { by: "test" });
    assert.equal(r.outcome, "committed");
    assert.deepEqual(applier.running?.config.dns64.upstreams, ["198.51.100.57"]);
    assert.equal((await applier.revisions.list()).at(-1)?.message, `rollback to revision ${a.outcome === "committed" ? a.revision : -1}`);
  });

  it("a power cut while committing leaves the old config.json whole", async () => {
    sys.files.set(PATHS.config, `${JSON.stringify(BASE)}\n`);
    const before = sys.files.get(PATHS.config);
    // Staging and the revision record are written; the cut comes before config.json.
    const writesBeforeCommit = Object.keys(applier.running?.files ?? {}).length + 1;
    sys.failWritesAfter = writesBeforeCommit;
    await assert.rejects(applier.apply(withUpstream("198.51.100.59"), { by: "test" }), /power cut/);
    assert.equal(sys.files.get(PATHS.config), before);
  });
});

describe("what an agent restart, a power cut or a stray file must not cost", () => {
  const bootAgain = async (extra: Partial<ConstructorParameters<typeof Applier>[0]> = {}) => {
    const again = new Applier({
      sys,
      facts: async () => ({ deviceId: "t1" }),
      check: async () => report(true),
      log: () => undefined,
      pollMs: 5,
      ...extra,
    });
    const input = JSON.parse(sys.files.get(PATHS.config) ?? JSON.stringify(BASE));
    const v = validateConfig(input);
    assert.ok(v.ok);
    return { again, boot: await again.boot(v.config, input) };
  };

  it("a power cut between config.json and its record boots the new config under its own revision", async () => {
    const r = await applier.apply(withUpstream("198.51.100.60"), { by: "test", confirmSec: 30 });
    assert.equal(r.outcome, "pending");
    applier.close();
    // confirm() writes config.json, then the record: the cut comes between the two.
    const w = sys.writeFileAtomic.bind(sys);
    let writes = 0;
    sys.writeFileAtomic = async (path, data) => {
      if (writes++ === 1) throw new Error("power cut");
      return w(path, data);
    };
    await assert.rejects(applier.confirm("test"), /power cut/);
    sys.writeFileAtomic = w;
    const { again } = await bootAgain();
    assert.equal(again.running?.revision, r.outcome === "pending" ? r.revision : -1);
    assert.deepEqual(again.running?.config.dns64.upstreams, ["198.51.100.60"]);
    assert.equal((await again.revisions.get(again.running?.revision ?? -1))?.outcome, "committed");
  });

  it("reads the history from the newest record down only as far as config.json's own", async () => {
    for (const u of ["198.51.100.62", "198.51.100.63", "198.51.100.64"]) await applier.apply(withUpstream(u), { by: "test" });
    applier.close();
    const records = (await applier.revisions.list()).length;
    const read = sys.readFile.bind(sys);
    const reads: string[] = [];
    sys.readFile = (path: string) => {
      if (path.includes("/revisions/")) reads.push(path);
      return read(path);
    };
    try {
      const { again } = await bootAgain();
      assert.deepEqual(again.running?.config.dns64.upstreams, ["198.51.100.64"]);
      assert.ok(records >= 3, `${records} records`);
      assert.deepEqual(reads, [reads[0]], "only the newest record, which config.json holds");
    } finally {
      sys.readFile = read;
    }
  });

  it("boots a config.json that no record holds (edited by hand) under the newest committed revision", async () => {
    const last = await applier.apply(withUpstream("198.51.100.65"), { by: "test" });
    applier.close();
    sys.files.set(PATHS.config, `${JSON.stringify(withUpstream("198.51.100.66"), null, 2)}\n`);
    const { again } = await bootAgain();
    assert.deepEqual(again.running?.config.dns64.upstreams, ["198.51.100.66"]);
    assert.equal(again.running?.revision, last.outcome === "committed" ? last.revision : -1);
  });

  it("a revision left pending by an agent restart is recorded as reverted, not pending forever", async () => {
    const r = await applier.apply(withUpstream("198.51.100.61"), { by: "test", confirmSec: 30 });
    applier.close();
    const { again } = await bootAgain();
    const rec = await again.revisions.get(r.outcome === "pending" ? r.revision : -1);
    assert.equal(rec?.outcome, "reverted");
    assert.match(rec?.reason ?? "", /restarted before it was confirmed/);
    assert.deepEqual(again.running?.config.dns64.upstreams, ["198.51.100.53"]);
  });

  it("announces a revert when a confirmation runs out, so the fleet connection follows it", async () => {
    const seen: string[] = [];
    const { again } = await bootAgain({ onChange: (r) => seen.push(r.outcome) });
    await again.apply(withUpstream("198.51.100.62"), { by: "test", confirmSec: 0.05 });
    await new Promise((res) => setTimeout(res, 150));
    assert.deepEqual(seen, ["reverted"]);
  });

  it("commits a change that renders no file (mqtt, health) instead of calling it unchanged", async () => {
    const r = await applier.apply({ ...BASE, health: { ...BASE.health, intervalSec: 120 } }, { by: "test" });
    assert.equal(r.outcome, "committed");
    assert.equal(applier.running?.config.health.intervalSec, 120);
    assert.equal(JSON.parse(sys.files.get(PATHS.config) ?? "{}").health.intervalSec, 120);
    assert.equal((await applier.apply({ ...BASE, health: { ...BASE.health, intervalSec: 120 } }, { by: "test" })).outcome, "unchanged");
  });

  it("refuses a change made from a revision the box has moved past", async () => {
    const base = applier.running?.revision ?? 0;
    await applier.apply(withUpstream("198.51.100.63"), { by: "fleet" });
    const r = await applier.apply(withUpstream("198.51.100.64"), { by: "console", baseRevision: base });
    assert.equal(r.outcome, "refused");
    assert.match(r.outcome === "refused" ? (r.problems[0]?.message ?? "") : "", /not 0 that this change was made from/);
    assert.deepEqual(applier.running?.config.dns64.upstreams, ["198.51.100.63"]);
  });

  it("moves a damaged revision record aside and boots on", async () => {
    await applier.apply(withUpstream("198.51.100.65"), { by: "test" });
    const dir = `${PATHS.data}/revisions`;
    sys.files.set(`${dir}/000001.json`, "{ not json");
    const lines: string[] = [];
    const { again, boot } = await bootAgain({ log: (l) => lines.push(l) });
    assert.equal(boot.error, undefined);
    assert.ok(again.running !== null);
    assert.ok(
      lines.some((l) => /000001\.json is damaged \(not JSON\); moved to/.test(l)),
      lines.join("\n"),
    );
    assert.ok(![...sys.files.keys()].includes(`${dir}/000001.json`));
    assert.ok(!lines.join("\n").includes("not json"), "the content is never logged");
    // The number is not given again.
    const r = await again.apply(withUpstream("198.51.100.66"), { by: "test" });
    assert.ok(r.outcome === "committed" && r.revision > 1);
  });

  it("records a large refused input by its digest, and keeps only system.keepRevisions records", async () => {
    const huge = { ...BASE, junk: "x".repeat(100_000) };
    await applier.apply(huge, { by: "test" });
    const rec = (await applier.revisions.list()).at(-1);
    assert.equal(rec?.outcome, "refused");
    assert.match(JSON.stringify(rec?.config), /bytes, sha256 [0-9a-f]{64}/);
    const keep = { ...BASE, system: { keepRevisions: 5 } };
    for (let i = 0; i < 8; i++) await applier.apply({ ...keep, dns64: { upstreams: [`198.51.100.${70 + i}`] } }, { by: "test" });
    assert.equal((await applier.revisions.list()).length, 5);
    const runDirs = (await sys.list(PATHS.render)).filter((n) => n.startsWith("rev-"));
    assert.deepEqual(runDirs, [`rev-${applier.running?.revision}`]);
  });

  it("a failed boot apply does not throw: the agent reports it and stays reachable", async () => {
    // The LAN NIC is not there: its /proc/sys directory neither.
    sys.absent.add(`${PATHS.procSys}/net/ipv6/conf/lan`);
    const { again, boot } = await bootAgain();
    assert.match(boot.error ?? "", /sysctl: net\/ipv6\/conf\/lan\/accept_ra = 0: ENOENT: .*\/proc\/sys\/net\/ipv6\/conf\/lan\/accept_ra/);
    assert.ok(again.running !== null, "the rendered config is known, so the console and the fleet can fix it");
  });

  it("after a boot apply that failed part-way, the next apply installs every service, not only what changed", async () => {
    sys.handlers.set("nft", () => ({ code: 1, stdout: "", stderr: "timed out" }));
    const { again, boot } = await bootAgain();
    assert.match(boot.error ?? "", /^firewall: nft -f/);
    sys.handlers.delete("nft");
    sys.commands.length = 0;
    assert.equal((await again.apply(withUpstream("198.51.100.65"), { by: "test" })).outcome, "committed");
    const installed = sys.commands.filter((c) =>
      /^(nft -f|networkctl reload|jool file handle|systemctl restart --no-block coredns)/.test(c),
    );
    assert.equal(installed.length, 4, sys.commands.join("\n"));
    sys.commands.length = 0;
    assert.equal((await again.apply(withUpstream("198.51.100.66"), { by: "test" })).outcome, "committed");
    assert.ok(!sys.commands.some((c) => /^(nft -f|networkctl|jool file)/.test(c)), "whole again: only CoreDNS's change");
  });

  it("reverts a failed install only in the services it reached", async () => {
    sys.handlers.set("jool", (args) =>
      args[0] === "file" ? { code: 1, stdout: "", stderr: "Invalid argument" } : { code: 0, stdout: "", stderr: "" },
    );
    const r = await applier.apply({ ...withUpstream("198.51.100.67"), nat64: { timeouts: { udpSec: 600 } } }, { by: "test" });
    assert.equal(r.outcome, "reverted");
    assert.match(r.outcome === "reverted" ? r.reason : "", /^install failed: jool: jool file handle/);
    // Jool is loaded again with the old file; CoreDNS, after Jool in the order, was never touched.
    assert.equal(sys.commands.filter((c) => c.startsWith("jool file handle")).length, 2, sys.commands.join("\n"));
    assert.ok(!sys.commands.some((c) => c.includes("coredns")), sys.commands.join("\n"));
  });

  it("a boot writes the kernel settings and the hostname into /proc/sys, and loads Jool only if it is not loaded", async () => {
    sys.commands.length = 0;
    await bootAgain();
    const at = (key: string) => sys.files.get(`${PATHS.procSys}/${key}`);
    assert.equal(at("net/ipv4/ip_forward"), "1\n");
    assert.equal(at("net/ipv6/conf/all/forwarding"), "1\n");
    assert.match(at("net/ipv4/ip_local_port_range") ?? "", /^\d+ \d+\n$/);
    assert.equal(at("net/ipv6/conf/lan/accept_ra"), "0\n");
    assert.equal(at("kernel/hostname"), "gate64-t1\n");
    assert.ok(!sys.commands.some((c) => /^(sysctl|hostname)\b/.test(c)), sys.commands.join("\n"));
    assert.ok(sys.commands.includes("modprobe jool"), "jool is not loaded: modprobe");
    sys.files.set(`${PATHS.modules}/jool/initstate`, "live\n");
    sys.commands.length = 0;
    await bootAgain();
    assert.ok(!sys.commands.includes("modprobe jool"), sys.commands.join("\n"));
  });

  it("after a reboot leaves the links networkd configured from /data alone, and rewrites files that differ", async () => {
    // Nothing under /run survived; networkd read the files the first boot wrote onto /data.
    const dir = PATHS.networkdDir;
    const filesThere = async () => new Map((await sys.list(dir)).map((n) => [n, sys.files.get(`${dir}/${n}`)]));
    const kept = await filesThere();
    assert.deepEqual([...kept.keys()].sort(), ["gate64-20-lan.network", "gate64-20-wan.network"]);
    sys.commands.length = 0;
    const { boot } = await bootAgain();
    assert.ok(!boot.services.includes("network"), boot.services.join(", "));
    assert.ok(!sys.commands.some((c) => c.startsWith("networkctl")), sys.commands.join("\n"));
    // A firmware that renders the LAN's file otherwise, and a file for a NIC no longer named.
    sys.files.set(`${dir}/gate64-20-lan.network`, "[Match]\nName=lan\n");
    sys.files.set(`${dir}/gate64-20-eth9.network`, "[Match]\nName=eth9\n");
    sys.commands.length = 0;
    assert.ok((await bootAgain()).boot.services.includes("network"));
    assert.deepEqual(
      sys.commands.filter((c) => c.startsWith("networkctl")),
      ["networkctl reload", "networkctl reconfigure lan wan"],
    );
    assert.deepEqual(await filesThere(), kept);
  });

  it("an agent restart or a reboot leaves a matching Jool instance and a running CoreDNS alone, and waits for CoreDNS", async () => {
    // The files in effect are the ones the first boot wrote, kept on /data: after a reboot
    // gate64-datapath.service loaded Jool's and systemd started CoreDNS from them.
    const revision = applier.running?.revision;
    for (const [rel, text] of Object.entries(applier.running?.files ?? {})) sys.files.set(`${PATHS.current}/${rel}`, text);
    sys.handlers.set("jool", (args) => ({
      code: 0,
      stdout: args[0] === "instance" ? "default,netfilter\n" : "pool6,64:ff9b::/96\n",
      stderr: "",
    }));
    sys.files.set(PATHS.corednsProcs, "4242\n");
    const removed: string[] = [];
    const remove = sys.remove.bind(sys);
    sys.remove = async (path) => {
      removed.push(path);
      await remove(path);
    };
    sys.commands.length = 0;
    const probed: (string[] | null)[] = [];
    const { boot } = await bootAgain({
      check: async (_r, only) => {
        probed.push(only ? [...only] : null);
        return report(true);
      },
    });
    assert.deepEqual(boot.services.sort(), ["firewall", "hostname", "offloads", "sysctl"]);
    assert.ok(!sys.commands.some((c) => /^jool (instance remove|file handle)/.test(c)), sys.commands.join("\n"));
    assert.ok(!sys.commands.includes("systemctl restart --no-block coredns.service"));
    assert.ok(!sys.commands.some((c) => c.startsWith("networkctl")));
    // The CoreDNS systemd started may still be starting: the first health round would fail it.
    assert.deepEqual(probed, [["coredns"]]);
    // Its Corefile never went missing: the revision in effect is rewritten in place.
    const renderRemoved = removed.filter((path) => path.startsWith(PATHS.render));
    assert.deepEqual(renderRemoved, [], `removed ${renderRemoved.join(", ")} (revision ${revision})`);
  });

  it("after a reboot loads no ruleset gate64-datapath.service loaded from the same file, and an agent restart loads it again", async () => {
    // The files in effect, kept on /data, from which the unit loaded the ruleset.
    for (const [rel, text] of Object.entries(applier.running?.files ?? {})) sys.files.set(`${PATHS.current}/${rel}`, text);
    const ruleset = applier.running?.files["nftables/gate64.nft"] ?? "";
    const loads = () => sys.commands.filter((c) => c.startsWith("nft -f")).length;
    // The unit's record of what it loaded: another file than the render's is loaded over.
    sys.files.set(PATHS.datapathRuleset, "table inet other {}\n");
    sys.commands.length = 0;
    await bootAgain();
    assert.equal(loads(), 1);
    sys.files.set(PATHS.datapathRuleset, ruleset);
    sys.commands.length = 0;
    const { boot } = await bootAgain();
    assert.equal(loads(), 0, sys.commands.join("\n"));
    assert.ok(!boot.services.includes("firewall"));
    // Said once: by a later agent start an apply may have loaded another revision's ruleset.
    assert.equal(sys.files.get(PATHS.datapathRuleset), undefined);
    sys.commands.length = 0;
    await bootAgain();
    assert.equal(loads(), 1);
  });

  it("repairs run in the applier's queue, after an apply in progress", async () => {
    const order: string[] = [];
    healthy = () => true;
    const apply = applier.apply(withUpstream("198.51.100.80"), { by: "test" }).then(() => order.push("apply"));
    const repair = applier.repair(["coredns"]).then(() => order.push("repair"));
    await Promise.all([apply, repair]);
    assert.deepEqual(order, ["apply", "repair"]);
  });

  it("repairs nothing that passes when probed again in its turn (a round beside an apply saw it mid-change)", async () => {
    // A health round ran while this apply reloaded CoreDNS, and its coredns probe failed ("runs
    // Corefile <new>, not <old>"): once the apply has ended, CoreDNS runs what is in effect.
    sys.files.set(PATHS.corednsProcs, "4242\n");
    const apply = applier.apply(withUpstream("198.51.100.80"), { by: "test" });
    const repair = applier.repair(["coredns", "upstream-dns"]);
    await apply;
    sys.commands.length = 0;
    asked = [];
    assert.deepEqual(await repair, { services: [], passedAgain: ["coredns"] });
    // Only what a reload could repair is probed again; nothing is restarted.
    assert.deepEqual(asked, [["coredns"]]);
    assert.deepEqual(sys.commands, []);
  });

  it("probes nothing again when no failed probe is one a reload repairs", async () => {
    assert.deepEqual(await applier.repair(["upstream-dns", "wan-ipv4"]), { services: [], passedAgain: [] });
    assert.deepEqual(asked, []);
  });
});
