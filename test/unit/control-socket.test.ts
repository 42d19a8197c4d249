// The control socket against real unix sockets: created 0600, a flood is answered once and cut
// off, an idle client is dropped, requests are checked by the protocol schema.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import type { Server } from "node:net";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setPath } from "../../agent/src/config/set-path.js";
import { timeoutFor } from "../../agent/src/control/client.js";
import { serveControl } from "../../agent/src/control/server.js";
import { controlHandlers } from "../../agent/src/daemon/control.js";
import { FakeSystem } from "../../agent/src/system/fake.js";
import { bootDevice } from "./device-fixture.js";

describe("control socket", () => {
  const dir = mkdtempSync(join(tmpdir(), "gate64-ctl-"));
  const path = join(dir, "control.sock");
  let server: Server;
  before(async () => {
    server = await serveControl(
      path,
      async (req) => ({ echo: req.cmd }),
      () => undefined,
      { idleMs: 300 },
    );
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const talk = (send: (s: ReturnType<typeof connect>) => void) =>
    new Promise<{ data: string; closedAfterMs: number }>((resolve) => {
      const t0 = Date.now();
      const s = connect(path);
      let data = "";
      s.setEncoding("utf8");
      s.on("data", (d: string) => (data += d));
      s.on("error", () => undefined);
      s.on("close", () => resolve({ data, closedAfterMs: Date.now() - t0 }));
      s.on("connect", () => send(s));
    });

  it("is created with mode 0600", () => {
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it("makes its directory, and what the process creates meanwhile keeps its usual modes", async () => {
    // At boot /run/gate64 does not exist yet, and the status file is written beside the listen.
    const sock = join(dir, "run", "control.sock");
    const statusDir = join(dir, "status");
    const [started] = await Promise.all([
      serveControl(
        sock,
        async () => ({}),
        () => undefined,
      ),
      mkdir(statusDir, { recursive: true }).then(() => writeFile(join(statusDir, "status.txt"), "ok\n")),
    ]);
    try {
      assert.equal(statSync(sock).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, "run")).mode & 0o777, 0o755);
      assert.equal(statSync(statusDir).mode & 0o777, 0o755);
      assert.equal(statSync(join(statusDir, "status.txt")).mode & 0o777, 0o644);
    } finally {
      started.close();
    }
  });

  it("answers a request, and refuses one outside the protocol naming the field", async () => {
    const r = await talk((s) => s.write('{"cmd":"status"}\n{"cmd":"config.show","revision":0}\n'));
    const answers = r.data
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { ok: boolean; error?: string });
    assert.deepEqual(
      answers.find((a) => a.ok),
      { ok: true, data: { echo: "status" } },
    );
    assert.match(answers.find((a) => !a.ok)?.error ?? "", /^revision: /);
  });

  it("answers an over-long request once and stops reading", async () => {
    const r = await talk((s) => {
      const chunk = "x".repeat(64 * 1024);
      for (let i = 0; i < 40; i++) s.write(chunk);
    });
    assert.equal(r.data.trim(), JSON.stringify({ ok: false, error: "request too large" }));
  });

  it("drops a client that sends nothing", async () => {
    const r = await talk(() => undefined);
    assert.ok(r.closedAfterMs >= 250 && r.closedAfterMs < 5000, `${r.closedAfterMs} ms`);
  });

  it("gives an apply as long as its verification can take", () => {
    assert.ok(timeoutFor({ cmd: "config.apply", config: {}, by: "t" }) > 600_000 + 90_000);
    assert.ok(timeoutFor({ cmd: "config.set", key: "a", value: 1, by: "t" }) > 600_000 + 90_000);
    assert.equal(timeoutFor({ cmd: "status" }), 120_000);
  });
});

describe("config.set (gate64 config set)", () => {
  it("changes one field of the running configuration and applies it", async () => {
    const interfaces = { lan: { name: "lan", ipv6: { address: "fd00::1/64" } }, wan: { name: "wan" } };
    const { device } = await bootDevice(new FakeSystem(), { interfaces, dns64: { upstreams: ["192.0.2.53"] } }, "dev-1");
    const set = controlHandlers(device)["config.set"];
    const r = await set({ cmd: "config.set", key: "dns64.cache.maxTtlSec", value: 600, by: "t" });
    assert.equal(r.outcome, "committed", JSON.stringify(r));
    const input = device.running().input as { dns64: { upstreams: string[]; cache: { maxTtlSec: number } } };
    assert.deepEqual([input.dns64.cache.maxTtlSec, input.dns64.upstreams], [600, ["192.0.2.53"]]);

    const bad = await set({ cmd: "config.set", key: "dns64.cache.maxTtlSec", value: "soon", by: "t" });
    assert.equal(bad.outcome, "refused");
    assert.equal(bad.outcome === "refused" && bad.problems[0]?.path, "dns64.cache.maxTtlSec");
    const proto = await set({ cmd: "config.set", key: "__proto__.polluted", value: 1, by: "t" });
    assert.deepEqual(proto.outcome === "refused" && proto.problems, [
      { path: "__proto__.polluted", message: 'bad KEY "__proto__.polluted"' },
    ]);
    assert.equal(device.status().revision, r.outcome === "committed" ? r.revision : -1, "refusals change nothing");
  });

  it("sets paths through arrays and repeated names", () => {
    assert.deepEqual(setPath({ a: { a: 1 } }, "a.a.b", 2), { a: { a: { b: 2 } } });
    assert.deepEqual(setPath({}, "nat64.pool4[0].ports", "1-2"), { nat64: { pool4: [{ ports: "1-2" }] } });
  });
});
