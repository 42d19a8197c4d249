// The lab's reading of QEMU's stop reason, against a QMP server speaking the protocol's framing
// (greeting, capabilities, an event, then the socket closing as QEMU exits).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ShutdownWatch } from "../../scripts/lab/qmp.js";

const dir = mkdtempSync(join(tmpdir(), "gate64-qmp-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A QMP server that sends `events` once capabilities are asked for, then closes. */
function qemu(path: string, events: object[], closeAfterMs = 0): Promise<Server> {
  const server = createServer((sock) => {
    sock.write(`${JSON.stringify({ QMP: { version: {}, capabilities: [] } })}\r\n`);
    sock.once("data", (d) => {
      assert.match(String(d), /qmp_capabilities/);
      sock.write(`${JSON.stringify({ return: {} })}\r\n`);
      // The event and the close in one go, as a QEMU that exits right after a reset.
      for (const e of events) sock.write(`${JSON.stringify(e)}\r\n`);
      setTimeout(() => sock.end(), closeAfterMs);
    });
  });
  return new Promise((r) => server.listen(path, () => r(server)));
}

describe("ShutdownWatch", () => {
  // A reset the guest asked for and a poweroff, each read before the socket's end.
  for (const reason of ["guest-reset", "guest-shutdown"])
    it(`reports ${reason}`, async () => {
      const path = join(dir, `${reason}.sock`);
      const server = await qemu(path, [{ event: "SHUTDOWN", data: { guest: true, reason }, timestamp: {} }]);
      const watch = new ShutdownWatch(path);
      assert.equal(await watch.stopReason(), reason);
      watch.close();
      server.close();
    });

  it("waits for a socket that appears late, and says null when QEMU was killed", async () => {
    const path = join(dir, "late.sock");
    const watch = new ShutdownWatch(path);
    await new Promise((r) => setTimeout(r, 300));
    const server = await qemu(path, []);
    assert.equal(await watch.stopReason(), null);
    watch.close();
    server.close();
  });
});
