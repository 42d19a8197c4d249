// What the agent boots, in order: config.json, the last good revisions, the image default; the
// history is read only when the boot gets past config.json.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RevisionStore } from "../../agent/src/apply/revisions.js";
import { bootCandidates, type Loaded } from "../../agent/src/daemon/boot-candidates.js";
import { createLogger } from "../../agent/src/daemon/log.js";
import { PATHS } from "../../agent/src/paths.js";
import { FakeSystem } from "../../agent/src/system/fake.js";

const base = { interfaces: { lan: { name: "lan", ipv6: { address: "fd00::1/64" } }, wan: { name: "wan" } } };
const withHost = (hostname: string) => ({ ...base, identity: { hostname } });

/** A box with config.json, the image default and five committed revisions (r1..r5: hosts h1..h5, r5 = config.json). */
async function box(): Promise<{ sys: FakeSystem; revisions: RevisionStore; reads: string[] }> {
  const sys = new FakeSystem();
  const reads: string[] = [];
  const read = sys.readFile.bind(sys);
  sys.readFile = (path: string) => {
    reads.push(path);
    return read(path);
  };
  sys.files.set(PATHS.config, JSON.stringify(withHost("h5")));
  sys.files.set(PATHS.defaultConfig, JSON.stringify(withHost("factory")));
  const revisions = new RevisionStore(sys);
  for (let n = 1; n <= 5; n++) await revisions.save({ revision: n, at: "", by: "test", outcome: "committed", config: withHost(`h${n}`) });
  return { sys, revisions, reads };
}

const log = createLogger(() => undefined);

describe("boot candidates", () => {
  it("reads no revision record while config.json is the one booted", async () => {
    const { sys, revisions, reads } = await box();
    for await (const c of bootCandidates(sys, revisions, log)) {
      assert.equal(c.source, PATHS.config);
      break; // config.json was put into effect
    }
    assert.deepEqual(
      reads.filter((p) => p.includes("/revisions/")),
      [],
    );
  });

  it("falls back to the three newest other committed revisions, then the image default", async () => {
    const { sys, revisions } = await box();
    const all: Loaded[] = [];
    for await (const c of bootCandidates(sys, revisions, log)) all.push(c);
    assert.deepEqual(
      all.map((c) => [c.source, c.config.identity.hostname]),
      [
        [PATHS.config, "h5"],
        ["revision 4", "h4"],
        ["revision 3", "h3"],
        ["revision 2", "h2"],
        [PATHS.defaultConfig, "factory"],
      ],
    );
  });

  it("skips a revision this firmware refuses, and one with config.json's configuration", async () => {
    const { sys, revisions } = await box();
    await revisions.save({ revision: 4, at: "", by: "test", outcome: "committed", config: { ...withHost("h4"), nat64: { pool6: "x" } } });
    await revisions.save({ revision: 6, at: "", by: "test", outcome: "committed", config: withHost("h5") });
    const all: string[] = [];
    for await (const c of bootCandidates(sys, revisions, log)) all.push(c.source);
    assert.deepEqual(all, [PATHS.config, "revision 3", "revision 2", "revision 1", PATHS.defaultConfig]);
  });
});
