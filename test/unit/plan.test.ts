// The apply planner as data: which steps a change, an agent start and a repair take.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { plan, probesToVerify, repairSteps } from "../../agent/src/apply/plan.js";
import { validateConfig } from "../../agent/src/config/validate.js";
import { type RenderedFiles, renderAll } from "../../agent/src/render/index.js";

function render(extra: object = {}): RenderedFiles {
  const v = validateConfig({ interfaces: { lan: { name: "lan" }, wan: { name: "wan" } }, ...extra });
  assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
  return renderAll(v.config, { deviceId: "p", wanIPv4: "198.51.100.2/24" });
}

describe("plan", () => {
  const base = render();

  it("is empty when nothing changed: the box runs what was rendered", () => {
    assert.deepEqual(plan(base, base), []);
  });

  it("reloads only what a change touches, in order", () => {
    assert.deepEqual(plan(base, render({ dns64: { upstreams: ["198.51.100.53"] } })), [
      { service: "coredns", when: "changed", reload: true },
    ]);
    assert.deepEqual(plan(base, render({ dns64: { acl: ["lan", "2001:db8:99::/48"] } })), [
      { service: "firewall", when: "changed" },
      { service: "coredns", when: "changed", reload: true },
    ]);
    assert.deepEqual(plan(base, render({ nat64: { timeouts: { udpSec: 600 } } })), [{ service: "jool", when: "changed", recreate: false }]);
  });

  it("drops the BIB entries of a pool4 address the WAN gave up, and only then", () => {
    const v = validateConfig({ interfaces: { lan: { name: "lan" }, wan: { name: "wan" } } });
    assert.ok(v.ok);
    const renumbered = renderAll(v.config, { deviceId: "p", wanIPv4: "198.51.100.3/24" });
    const jool = plan(base, renumbered).find((s) => s.service === "jool");
    assert.deepEqual(jool, {
      service: "jool",
      when: "changed",
      recreate: false,
      purge: [
        { protocol: "tcp", prefix: "198.51.100.2/32" },
        { protocol: "udp", prefix: "198.51.100.2/32" },
        { protocol: "icmp", prefix: "198.51.100.2/32" },
      ],
    });
    // A change that keeps pool4, and a boot (nothing known in effect), drop nothing.
    const timeouts = plan(base, render({ nat64: { timeouts: { udpSec: 600 } } })).find((s) => s.service === "jool");
    assert.ok(timeouts && !("purge" in timeouts));
    assert.ok(plan(null, base, { boot: true }).every((s) => !("purge" in s)));
  });

  it("recreates the Jool instance only when pool6 changes", () => {
    const steps = plan(base, render({ nat64: { pool6: "2001:db8:64::/96" } }));
    assert.deepEqual(
      steps.find((s) => s.service === "jool"),
      { service: "jool", when: "changed", recreate: true },
    );
  });

  it("at a boot with nothing put into effect before applies everything, asking the live instance about pool6 and networkd's directory about its files", () => {
    assert.deepEqual(
      plan(null, base, { boot: true }).map((s) => [s.service, s.when, "recreate" in s ? s.recreate : null]),
      [
        ["sysctl", "changed", null],
        ["hostname", "changed", null],
        ["firewall", "changed", null],
        ["network", "if-down", null],
        ["jool", "changed", "if-pool6-differs"],
        ["offloads", "changed", null],
        ["coredns", "changed", null],
      ],
    );
  });

  it("at an agent start after the same files were in effect (kept on /data across a reboot) re-runs the cheap steps and checks the rest", () => {
    assert.deepEqual(plan(base, base, { boot: true }), [
      { service: "sysctl", when: "changed" },
      { service: "hostname", when: "changed" },
      { service: "firewall", when: "if-down" },
      { service: "network", when: "if-down" },
      { service: "jool", when: "if-down", recreate: false },
      { service: "offloads", when: "changed" },
      { service: "coredns", when: "if-down", reload: true },
    ]);
  });

  it("at a boot whose WAN lease changed since the kept files, reloads Jool's pool4 (and purges the old address) and checks the rest", () => {
    const v = validateConfig({ interfaces: { lan: { name: "lan" }, wan: { name: "wan" } } });
    assert.ok(v.ok);
    const renumbered = renderAll(v.config, { deviceId: "p", wanIPv4: "198.51.100.3/24" });
    assert.deepEqual(
      plan(base, renumbered, { boot: true }).map((s) => [s.service, s.when, "purge" in s ? s.purge?.length : 0]),
      [
        ["sysctl", "changed", 0],
        ["hostname", "changed", 0],
        ["firewall", "changed", 0],
        ["network", "if-down", 0],
        ["jool", "changed", 3],
        ["offloads", "changed", 0],
        ["coredns", "if-down", 0],
      ],
    );
  });

  it("repairs what the failed probes name, and nothing for probes no reload fixes", () => {
    assert.deepEqual(repairSteps(["dns64", "jool", "upstream-dns"], base), [
      { service: "jool", when: "changed", recreate: "if-pool6-differs" },
      { service: "coredns", when: "changed", reload: false },
    ]);
    assert.deepEqual(repairSteps(["upstream-dns", "wan-ipv4"], base), []);
  });

  it("verifies what the reloaded services can break, plus NAT64; everything after a global change", () => {
    const sorted = (s: ReadonlySet<string> | null) => (s === null ? null : [...s].sort());
    assert.deepEqual(sorted(probesToVerify(["coredns"])), ["coredns", "dns64", "nat64", "upstream-dns"]);
    assert.deepEqual(sorted(probesToVerify(["jool", "offloads"])), ["jool", "nat64", "offloads", "pool4"]);
    assert.deepEqual(sorted(probesToVerify([])), ["nat64"], "a change that reloads nothing still proves translation");
    for (const global of ["network", "firewall", "sysctl"] as const)
      assert.equal(probesToVerify(["coredns", global]), null, `${global}: every probe`);
  });
});
