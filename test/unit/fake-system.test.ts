// The in-memory System's directory index: list() and remove() answer from it, so it must follow
// every write and delete, including through the Map that tests use directly.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeSystem } from "../../agent/src/system/fake.js";

describe("FakeSystem files", () => {
  it("lists a directory's files and subdirectories, and forgets directories emptied", async () => {
    const sys = new FakeSystem();
    await sys.writeFileAtomic("/run/g/rev-1/coredns/Corefile", "a");
    await sys.writeFileAtomic("/run/g/rev-1/hostname", "h");
    await sys.writeFileAtomic("/run/g/rev-2/hostname", "h");
    sys.files.set("/run/g/state.json", "{}");
    assert.deepEqual((await sys.list("/run/g")).sort(), ["rev-1", "rev-2", "state.json"]);
    assert.deepEqual((await sys.list("/run/g/rev-1")).sort(), ["coredns", "hostname"]);
    assert.deepEqual(await sys.list("/run/g/none"), []);

    await sys.remove("/run/g/rev-1");
    assert.deepEqual((await sys.list("/run/g")).sort(), ["rev-2", "state.json"]);
    assert.deepEqual(await sys.list("/run/g/rev-1"), []);
    assert.equal(sys.files.has("/run/g/rev-1/coredns/Corefile"), false);

    sys.files.delete("/run/g/rev-2/hostname");
    sys.files.delete("/run/g/state.json");
    assert.deepEqual(await sys.list("/run/g"), []);
    assert.deepEqual(await sys.list("/run"), [], "emptied directories leave their parents too");
  });

  it("keeps a path that is both a file and a directory until both are gone", async () => {
    const sys = new FakeSystem();
    sys.files.set("/d/x", "file");
    sys.files.set("/d/x/y", "beneath");
    sys.files.delete("/d/x/y");
    assert.deepEqual(await sys.list("/d"), ["x"]);
    await sys.rename("/d/x", "/d/z");
    assert.deepEqual(await sys.list("/d"), ["z"]);
  });
});
