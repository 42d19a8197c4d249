// Node's compile caches on /data: the running firmware's directory stays, every other goes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pruneCompileCaches } from "../../agent/src/daemon/compile-cache.js";
import { PATHS } from "../../agent/src/paths.js";
import { FakeSystem } from "../../agent/src/system/fake.js";

function box(): FakeSystem {
  const sys = new FakeSystem();
  for (const dir of ["1.2.0", "1.3.0-rc.1", "5f1c2a9e"]) sys.files.set(`${PATHS.nodeCache}/${dir}/0a1b2c3d/entry`, "code");
  return sys;
}

describe("compile caches", () => {
  it("removes every cache directory but the running one, with what is inside", async () => {
    const sys = box();
    assert.deepEqual(await pruneCompileCaches(sys, `${PATHS.nodeCache}/1.3.0-rc.1`), ["1.2.0", "5f1c2a9e"]);
    assert.deepEqual(await sys.list(PATHS.nodeCache), ["1.3.0-rc.1"]);
    assert.equal(await sys.readFile(`${PATHS.nodeCache}/1.3.0-rc.1/0a1b2c3d/entry`), "code");
    assert.equal(await sys.readFile(`${PATHS.nodeCache}/1.2.0/0a1b2c3d/entry`), null);
  });

  it("removes nothing for a Node without a cache, or with one elsewhere", async () => {
    for (const current of [undefined, "", PATHS.nodeCache, "/tmp/node-cache/1.3.0-rc.1", `${PATHS.nodeCache}/1.3.0-rc.1/x`]) {
      const sys = box();
      assert.deepEqual(await pruneCompileCaches(sys, current), [], String(current));
      assert.equal((await sys.list(PATHS.nodeCache)).length, 3, String(current));
    }
  });
});
