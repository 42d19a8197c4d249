// The status file the agent keeps for `gate64 status`, read by the device's real `gate64` shell
// wrapper (run here by dash, its paths pointed at a temporary directory): the same lines as the
// Node CLI prints, kept current by the agent's events, and never shown for an agent that is gone.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createLogger } from "../../agent/src/daemon/log.js";
import { STATUS_FILES, StatusFile, statusFileText } from "../../agent/src/daemon/status-file.js";
import { statusLines } from "../../agent/src/device/status-text.js";
import { ANSI, PLAIN } from "../../agent/src/lib/terminal.js";
import { FakeSystem } from "../../agent/src/system/fake.js";
import { bootDevice } from "./device-fixture.js";

const dir = mkdtempSync(join(tmpdir(), "gate64-status-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const wrapper = join(dir, "gate64");
writeFileSync(
  wrapper,
  readFileSync("overlays/common/usr/bin/gate64", "utf8")
    .replaceAll("/run/gate64", dir)
    .replace(/exec \/usr\/bin\/node .*/, 'echo "node CLI: $*"; exit 4'),
);

/** Runs the wrapper on the file the fake system holds; seconds since boot as /proc/uptime has them. */
function gate64(sys: FakeSystem, ...args: string[]) {
  for (const file of Object.values(STATUS_FILES)) {
    const text = sys.files.get(file);
    if (text === undefined) rmSync(join(dir, file.split("/").pop() as string), { force: true });
    else writeFileSync(join(dir, file.split("/").pop() as string), text);
  }
  const r = spawnSync("dash", [wrapper, ...args], { encoding: "utf8" });
  return { code: r.status, out: r.stdout };
}

const bootSeconds = () => Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);

/** A booted device core with its status file started, as the daemon wires them. */
async function agentWithStatusFile(id: string) {
  const sys = new FakeSystem();
  const { device } = await bootDevice(sys, {}, id);
  const file = new StatusFile({ sys, device, bus: device.deps.bus, log: createLogger(() => undefined) });
  await file.start();
  return { sys, device, file };
}

describe("the status file and the gate64 wrapper", () => {
  it("prints what the Node CLI prints, with the agent's uptime filled in", async () => {
    const { sys, device, file } = await agentWithStatusFile("branch-7");
    const r = gate64(sys, "status");
    assert.equal(r.code, 0);
    const s = device.statusInDetail();
    const lines = r.out.trimEnd().split("\n");
    const up = Number(/up (\d+) s/.exec(lines[0] ?? "")?.[1]);
    assert.ok(Math.abs(up - s.uptimeSec) <= 2, `uptime ${up} against the agent's ${s.uptimeSec}`);
    assert.deepEqual(lines, statusLines(s, PLAIN, String(up)));
    assert.match(r.out, /device {4}branch-7 {3}firmware x/);
    assert.equal(sys.files.get(STATUS_FILES.ansi)?.includes(ANSI.bad("unknown")), true, "the terminal's copy is coloured");
    await file.stop();
  });

  it("rewrites the file on a health round and exits 3 when health failed", async () => {
    const { sys, device, file } = await agentWithStatusFile("b");
    device.deps.check = async () => ({
      status: "failed",
      checkedAt: "",
      probes: [{ name: "jool", status: "failed", detail: "instance default missing", durationMs: 3 }],
    });
    await device.runHealth();
    await new Promise((r) => setTimeout(r, 50)); // the bus calls its listeners on a later tick
    const r = gate64(sys, "status");
    assert.equal(r.code, 3);
    assert.match(r.out, /health {4}failed\n/);
    assert.match(r.out, /\n {2}failed {3}jool {9}instance default missing\n/);
    await file.stop();
  });

  it("leaves it to the Node CLI when the agent stopped, died, or for any other command", async () => {
    const { sys, device, file } = await agentWithStatusFile("b");
    assert.equal(gate64(sys, "status", "--json").out, "node CLI: status --json\n");
    await file.stop();
    assert.equal(sys.files.has(STATUS_FILES.plain), false, "stopping removes it");
    assert.equal(gate64(sys, "status").code, 4);
    // A killed agent's file stays behind; its PID no longer runs.
    const dead = spawnSync("true").pid as number;
    sys.files.set(STATUS_FILES.plain, statusFileText(device.statusInDetail(), PLAIN, dead, bootSeconds()));
    assert.deepEqual(gate64(sys, "status"), { code: 4, out: "node CLI: status\n" });
  });
});
