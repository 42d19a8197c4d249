// The control socket against real unix sockets: created 0600, a flood is answered once and cut
// off, an idle client is dropped, requests are checked by the protocol schema.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import type { Server } from "node:net";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { timeoutFor } from "../../agent/src/control/client.js";
import { serveControl } from "../../agent/src/control/server.js";

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
    assert.equal(timeoutFor({ cmd: "status" }), 120_000);
  });
});
