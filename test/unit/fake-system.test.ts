// The in-memory System's tree of files: list() and remove() answer from it, so it must follow
// every write and delete, including those that tests make on `files` directly.
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

  it("lists every file's path, and removes a directory with what is beneath it", async () => {
    const sys = new FakeSystem();
    sys.files.set("/a/b/c", "1");
    sys.files.set("/a/d", "2");
    sys.files.set("relative/e", "3");
    assert.deepEqual(sys.files.keys().sort(), ["/a/b/c", "/a/d", "relative/e"]);
    await sys.remove("/a/b");
    assert.deepEqual(sys.files.keys().sort(), ["/a/d", "relative/e"]);
    await sys.remove("/a/none");
    assert.equal(sys.files.get("/a/d"), "2");
  });
});

describe("FakeSystem commands", () => {
  it("keeps every command, or the newest up to its bound", async () => {
    const all = new FakeSystem();
    const bounded = new FakeSystem(0, 2);
    for (const n of ["1", "2", "3"]) for (const sys of [all, bounded]) await sys.run("echo", [n]);
    assert.deepEqual(all.commands, ["echo 1", "echo 2", "echo 3"]);
    assert.deepEqual(bounded.commands, ["echo 2", "echo 3"]);
  });
});
