// Firmware updates in the lab, end to end: signed bundles built from this tree's image, delivered
// with `gate64 fleet update --serve` through the lab broker, installed by RAUC into the other
// slot, booted with tries counted and blessed only after the health gate. A bundle that breaks
// CoreDNS falls back to the old slot by itself; tampered, foreign-key and foreign-board bundles
// are refused before a byte reaches the inactive slot; a power cut mid-install costs nothing.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { State } from "../../agent/src/fleet/protocol.js";
import { STAND_IN, TestBundles } from "../../scripts/lab/bundles.js";
import type { SerialConsole } from "../../scripts/lab/console.js";
import { Lab } from "../../scripts/lab/lab.js";
import { endSession, startSession } from "../../scripts/lab/session.js";

const IMAGE = process.env.GATE64_IMAGE ?? "out/x86-64/disk.img";
const SERVE = "198.51.100.10:8089";

describe("firmware updates over the fleet, in the lab", { timeout: 60 * 60_000 }, () => {
  let lab: Lab;
  let con: SerialConsole;
  const bundles = new TestBundles();
  const bundle = (name: string) => bundles.path(name);
  const built = bundles.built;
  const web = () => lab.client.exec("curl", ["-6", "-sS", "--max-time", "10", `http://www.${lab.spec.zone.name}/`]);
  const state = () => JSON.parse(lab.subscribeOnce(`gate64/${lab.spec.deviceId}/state`, 10) ?? "{}") as State;
  /** Sectors written to slot b's partition since boot (the kernel's block stats, field 7): any
   * write counts, even one of the same bytes, and reading it costs nothing (hashing the 384 MiB
   * slot took 50 s under TCG). */
  const slotBWrites = async () =>
    Number(await con.lastLine("awk '{print $7}' /sys/class/block/$(basename $(readlink -f /dev/disk/by-partlabel/gate64-root-b))/stat"));
  /** RAUC, the health gate and systemd-bless-boot, for a failure's message. */
  const updateLogs = () => lab.fleet("cmd", lab.spec.deviceId, "logs.tail", '{"unit":"update","lines":80}').out;
  const esp = async () => (await con.run("ls -1 /efi/EFI/Linux")).output.trim();

  before(async () => {
    assert.ok(existsSync(IMAGE), `${IMAGE} is missing`);
    // Newer than the image, one that never gets healthy (no CoreDNS), and three the box must
    // refuse (with stand-ins for the root and the UKI): one with a flipped byte in its payload, one
    // for another board, one signed by a key the box does not trust. Built while the lab boots
    // (about 2.5 minutes of the suite under TCG otherwise).
    const made = (async () => {
      await bundles.build("good", "--version", "99.0.0");
      await bundles.build("bad", "--version", "99.1.0", "--break-for-test", "coredns");
      bundles.tampered("tampered", await bundles.build("signed", STAND_IN, "--version", "99.0.0"));
      await bundles.build("board", STAND_IN, "--version", built, "--compatible", "gate64-otherboard");
      await bundles.foreignKey("key", STAND_IN);
    })();
    lab = new Lab({ image: IMAGE, serial: "file", configOverrides: { health: { intervalSec: 10 } } });
    const [, session] = await Promise.all([made, startSession(lab)]);
    con = session;
  });

  after(async () => {
    await endSession(lab, con);
    bundles.remove();
  });

  it("boots the flashed slot a, reports its version, and RAUC sees both slots", async () => {
    const s = state();
    assert.equal(s.firmware, built);
    assert.equal(s.slot, "a");
    const r = await con.run("rauc status --output-format=json");
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /"booted":"a"/);
    assert.match(await esp(), /^gate64-1-a\.efi$/);
  });

  for (const [name, why] of [
    ["tampered", /signature verification failed/],
    ["key", /signature|verif|certificate/i],
    ["board", /gate64-otherboard/],
  ] as const)
    it(`refuses the ${name} bundle before a byte reaches the inactive slot`, async () => {
      const before = await slotBWrites();
      assert.ok(Number.isInteger(before), `slot b's write count: ${before}`);
      // With the box's clock a minute behind the operator's: its refusal, seconds after it
      // accepted the command, is news all the same. (timesyncd, which the lab's NTP server
      // answers, would set it right again at once: stopped for the command.)
      await con.run("systemctl stop systemd-timesyncd; date -s @$(( $(date +%s) - 60 ))");
      let r: Awaited<ReturnType<typeof lab.fleetAsync>>;
      try {
        r = await lab.fleetAsync("update", bundle(name), lab.spec.deviceId, "--serve", SERVE, "--timeout", "300");
      } finally {
        await con.run("date -s @$(( $(date +%s) + 60 )); systemctl start systemd-timesyncd");
      }
      assert.equal(r.code, 3, r.out);
      assert.match(r.out, /failed/);
      assert.match(state().update?.reason ?? "", why);
      assert.equal(await slotBWrites(), before, "slot b was written");
      assert.match(await esp(), /^gate64-1-a\.efi$/);
      assert.equal(state().slot, "a");
    });

  /** The first retained state of the box that satisfies `pred`, from a subscription made now. */
  const whenState = (pred: (s: State) => boolean, timeoutMs: number) =>
    new Promise<State>((resolve, reject) => {
      let buf = "";
      let last = "(none)";
      const sub = lab.brokerNs.spawn("mosquitto_sub", [...lab.operatorArgs(), "-t", `gate64/${lab.spec.deviceId}/state`], {
        log: (chunk) => {
          buf += chunk;
          for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            let s: State;
            try {
              s = JSON.parse(line) as State;
            } catch {
              continue;
            }
            last = line;
            if (pred(s)) {
              clearTimeout(timer);
              void sub.stop();
              resolve(s);
            }
          }
        },
      });
      const timer = setTimeout(() => {
        void sub.stop();
        reject(new Error(`no such state within ${timeoutMs} ms; last state: ${last}\nserial console:\n${lab.tail(40)}`));
      }, timeoutMs);
    });

  it("boots the old slot after a power cut while downloading and while installing, and says so", async (t) => {
    for (const [phase, atLeast] of [
      ["downloading", 5],
      ["installing", 60],
    ] as const) {
      const cut = whenState((s) => s.update?.phase === phase && s.update.percent >= atLeast, 600_000);
      const cli = lab.fleetAsync("update", bundle("good"), lab.spec.deviceId, "--serve", SERVE, "--timeout", "900");
      const seen = await cut;
      await lab.powerCycle();
      t.diagnostic(`power cut while ${phase} at ${seen.update?.percent}%`);
      const r = await cli;
      assert.equal(r.code, 3, r.out);
      const s = await whenState((x) => x.update?.phase === "failed", 300_000);
      assert.match(s.update?.reason ?? "", new RegExp(`interrupted while ${phase}`));
      assert.deepEqual([s.slot, s.firmware], ["a", built]);
      await lab.waitForHealth("ok", 300);
    }
    con.close();
    con = await lab.console();
    assert.match(await esp(), /^gate64-1-a\.efi$/, "a staged UKI is left on the ESP");
  });

  it("installs a newer bundle: downloads, installs, reboots into slot b, passes the gate", async (t) => {
    const t0 = Date.now();
    const r = await lab.fleetAsync("update", bundle("good"), lab.spec.deviceId, "--serve", SERVE, "--timeout", "900");
    assert.equal(r.code, 0, `${r.out}\n${updateLogs()}`);
    t.diagnostic(`fleet update to 99.0.0: ${((Date.now() - t0) / 1000).toFixed(0)} s from the command to done\n${r.out}`);
    const s = state();
    assert.equal(s.firmware, "99.0.0");
    assert.equal(s.slot, "b");
    assert.equal(s.update?.phase, "done");
    await lab.waitForHealth("ok", 120);
    assert.match(web(), /from 198\.51\.100\.2/);
    con.close();
    con = await lab.console();
    assert.match(await esp(), /gate64-1-a\.efi\ngate64-2-b\.efi/, "slot b blessed, slot a kept");
    const st = await con.run("gate64 update status");
    assert.match(st.output, /booted slot b/);
  });

  it("rolls back by itself an update whose CoreDNS never starts, after one boot, and reports why", async (t) => {
    const t0 = Date.now();
    const r = await lab.fleetAsync("update", bundle("bad"), lab.spec.deviceId, "--serve", SERVE, "--timeout", "1200");
    assert.equal(r.code, 3, `${r.out}\n${updateLogs()}`);
    assert.match(r.out, /rolled-back/);
    t.diagnostic(`bad update: ${((Date.now() - t0) / 1000).toFixed(0)} s from the command to rolled-back\n${r.out}`);
    const s = state();
    assert.equal(s.firmware, "99.0.0");
    assert.equal(s.slot, "b");
    assert.equal(s.update?.phase, "rolled-back");
    assert.ok(
      s.update?.failedProbes?.some((p) => p.name === "coredns"),
      JSON.stringify(s.update),
    );
    await lab.waitForHealth("ok", 180);
    assert.match(web(), /from 198\.51\.100\.2/);
    con.close();
    con = await lab.console();
    // CoreDNS missing is the firmware's fault: one boot, marked bad, no second try.
    assert.match(await esp(), /gate64-2-b\.efi\ngate64-3-a\+0-1\.efi/, "slot a marked bad after one boot, slot b kept");
  });

  it("factory reset over the fleet: back to the provisioned config, firmware kept, still routing", async () => {
    const wrong = lab.fleet("cmd", lab.spec.deviceId, "factory-reset", '{"confirm":"someone-else"}');
    assert.equal(wrong.code, 1, wrong.out);
    assert.match(wrong.out, /args\.confirm/);
    const r = lab.fleet("cmd", lab.spec.deviceId, "factory-reset", JSON.stringify({ confirm: lab.spec.deviceId }));
    assert.equal(r.code, 0, r.out);
    // The state after the reset has no update record, and health from a round after the boot.
    const s = await whenState((x) => x.update === null && x.health === "ok", 420_000);
    assert.deepEqual([s.firmware, s.slot], ["99.0.0", "b"]);
    assert.match(web(), /from 198\.51\.100\.2/);
    con.close();
    con = await lab.console();
    const files = (await con.run("ls -1 /data/gate64")).output;
    assert.doesNotMatch(files, /^update$/m, "the update records survived");
    assert.match(files, /provisioned-config\.json/);
    assert.match(files, /identity\.json/);
    // Provisioning ran again after the reset (the console login above used its shadow), for this
    // firmware: one stamp, the new version's.
    assert.deepEqual(
      files.split("\n").filter((f) => f.startsWith("provisioned.")),
      ["provisioned.99.0.0"],
    );
  });
});
