// Transactional apply on the fake system: plans, reverts, confirmation, rollback and power cuts.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { Applier } from "../../agent/src/apply/applier.js";
import { validateConfig } from "../../agent/src/config/validate.js";
import type { HealthReport } from "../../agent/src/daemon/health.js";
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

function report(ok: boolean): HealthReport {
  return {
    status: ok ? "ok" : "failed",
    checkedAt: "",
    probes: [{ name: "dns64", status: ok ? "ok" : "failed", detail: ok ? "fine" : "upstream silent", durationMs: 1 }],
  };
}

beforeEach(async () => {
  sys = new FakeSystem();
  // The LAN address is there (install waits for it before restarting CoreDNS).
  sys.handlers.set("ip", () => ({ code: 0, stdout: "inet6 2001:db8:64::1/64 scope global", stderr: "" }));
  healthy = () => true;
  applier = new Applier({
    sys,
    facts: async () => ({ deviceId: "t1" }),
    check: async (r) => report(healthy(r.config)),
    log: () => undefined,
    pollMs: 5,
  });
  const v = validateConfig(BASE);
  assert.ok(v.ok);
  await applier.boot(v.config, BASE);
  sys.commands.length = 0;
});

describe("apply", () => {
  it("commits a healthy change and reloads only what changed", async () => {
    const r = await applier.apply(withUpstream("198.51.100.54"), { by: "test" });
    assert.equal(r.outcome, "committed");
    assert.deepEqual(r.outcome === "committed" && r.services, ["coredns"]);
    assert.ok(sys.commands.includes("systemctl restart coredns.service"));
    assert.ok(!sys.commands.some((c) => c.startsWith("jool")), sys.commands.join("\n"));
    assert.deepEqual(JSON.parse(sys.files.get(PATHS.config) ?? "").dns64.upstreams, ["198.51.100.54"]);
    assert.equal(sys.links.get(PATHS.current), `rev-${r.outcome === "committed" ? r.revision : 0}`);
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
