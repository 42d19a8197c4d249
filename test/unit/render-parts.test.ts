// Each renderer reads only its part of the resolved config (render/index.ts), so an apply renders
// again only the files whose part changed and reuses the running revision's others.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { validateConfig } from "../../agent/src/config/validate.js";
import { type Facts, type Resolved, resolve } from "../../agent/src/render/context.js";
import { corefileInput, loadedId, renderCorefile } from "../../agent/src/render/corefile.js";
import { renderParts, renderResolved } from "../../agent/src/render/index.js";
import { joolInput, renderJool } from "../../agent/src/render/jool.js";
import { networkdInput, renderNetworkd } from "../../agent/src/render/networkd.js";
import { nftablesInput, renderNftables } from "../../agent/src/render/nftables.js";
import { offloadsInput, renderOffloads } from "../../agent/src/render/offloads.js";
import { renderSysctl, sysctlInput } from "../../agent/src/render/sysctl.js";

const examples = readdirSync("docs/examples")
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(join("docs/examples", f), "utf8")) as Record<string, unknown>);

const FACTS: Facts[] = [
  { deviceId: "parts-1" },
  { deviceId: "parts-2", wanIPv4: "198.51.100.2/24", localIPv4: ["198.51.100.2/24", "192.0.2.1/30"] },
];

function resolved(input: unknown, facts: Facts): Resolved {
  const v = validateConfig(input);
  assert.ok(v.ok, JSON.stringify(!v.ok && v.problems));
  return resolve(v.config, facts);
}

describe("renderers by part", () => {
  it("each renders from its part what it renders from the whole resolved config", () => {
    for (const example of examples)
      for (const facts of FACTS) {
        // pool4 on the WAN's address and RA's PREF64: the parts that read the WAN and pool6.
        for (const input of [example, { ...example, nat64: { pool4: [{ protocol: "tcp", prefix: "wan", ports: "40000-49999" }] } }]) {
          const r = resolved(input, facts);
          assert.equal(renderCorefile(corefileInput(r)), renderCorefile(r));
          assert.equal(renderJool(joolInput(r)), renderJool(r));
          assert.deepEqual(renderNetworkd(networkdInput(r)), renderNetworkd(r));
          assert.equal(renderNftables(nftablesInput(r)), renderNftables(r));
          assert.deepEqual(renderOffloads(offloadsInput(r)), renderOffloads(r));
          assert.equal(renderSysctl(sysctlInput(r)), renderSysctl(r));
        }
      }
  });

  const base = examples.find((e) => (e.identity as { deviceId?: string } | undefined)?.deviceId === "lab-1") as Record<string, unknown>;
  const facts = FACTS[1] as Facts;
  const dns64 = base.dns64 as Record<string, unknown>;
  const cases: [string, Record<string, unknown>, Facts, string[]][] = [
    ["nothing", base, facts, []],
    ["the DNS64 upstream", { ...base, dns64: { ...dns64, upstreams: ["192.0.2.53"] } }, facts, ["coredns/"]],
    ["the hostname", { ...base, identity: { deviceId: "lab-1", hostname: "edge-7" } }, facts, ["hostname"]],
    ["WAN ping", { ...base, firewall: { wanPing: true } }, facts, ["nftables/"]],
    ["the WAN's address", base, { ...facts, wanIPv4: "198.51.100.9/24" }, ["jool/", "nftables/"]],
    ["the ephemeral ports", { ...base, system: { ephemeralPorts: "10000-19999" } }, facts, ["sysctl.d/"]],
    ["pool6", { ...base, nat64: { pool6: "2001:db8:46::/96" } }, facts, ["coredns/", "jool/", "network/", "nftables/"]],
  ];
  for (const [what, input, nextFacts, expected] of cases)
    it(`renders again what a change of ${what} touches, and the same files as a whole render`, () => {
      const earlier = resolved(base, facts);
      const next = resolved(input, nextFacts);
      const parts = renderParts(next, { resolved: earlier, files: renderResolved(earlier) });
      assert.deepEqual(parts.rendered, expected);
      assert.deepEqual(parts.files, renderResolved(next));
      assert.deepEqual(Object.keys(parts.files), Object.keys(parts.files).sort(), "files in code-unit order");
    });
});

describe("the Corefile's loaded id", () => {
  it("is one hex id, the same for the same Corefile and another when anything else in it changes", () => {
    const base = examples[0] as Record<string, unknown>;
    const corefile = (input: unknown) => renderCorefile(resolved(input, FACTS[0] as Facts));
    const first = corefile(base);
    assert.match(loadedId(first) ?? "", /^[0-9a-f]{16}$/);
    assert.equal(first.split("\n").filter((l) => l.trim().startsWith("loaded ")).length, 1);
    assert.equal(corefile(base), first);
    const other = corefile({ ...base, dns64: { ...(base.dns64 as object), upstreams: ["192.0.2.53"] } });
    assert.notEqual(loadedId(other), loadedId(first));
  });
});
