// Firmware updates in the lab, end to end: signed bundles built from this tree's image, delivered
// with `gate64 fleet update --serve` through the lab broker, installed by RAUC into the other
// slot, booted with tries counted and blessed only after the health gate. A bundle that breaks
// CoreDNS falls back to the old slot by itself; tampered, foreign-key and foreign-board bundles
// are refused before a byte reaches the inactive slot; a power cut mid-install costs nothing.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { State } from "../../agent/src/fleet/protocol.js";
import { captureRouterAdvert, forgetResolver, useResolver } from "../../scripts/lab/checks.js";
import { SerialConsole } from "../../scripts/lab/console.js";
import { Lab } from "../../scripts/lab/lab.js";

const IMAGE = process.env.GATE64_IMAGE ?? "out/x86-64/disk.img";
const KEYS = process.env.GATE64_TEST_KEYS ?? "out/x86-64/test-keys";
const SERVE = "198.51.100.10:8089";

describe("firmware updates over the fleet, in the lab", { timeout: 60 * 60_000 }, () => {
  let lab: Lab;
  let con: SerialConsole;
  const dir = mkdtempSync(join(tmpdir(), "gate64-update-test-"));
  const bundle = (name: string) => join(dir, `${name}.raucb`);
  const built = readFileSync("out/x86-64/work/root/usr/lib/gate64/VERSION", "utf8").trim();
  const web = () => lab.client.exec("curl", ["-6", "-sS", "--max-time", "10", `http://www.${lab.spec.zone.name}/`]);
  const state = () => JSON.parse(lab.subscribeOnce(`gate64/${lab.spec.deviceId}/state`, 10) ?? "{}") as State;
  const build = (out: string, ...flags: string[]) =>
    execFileSync("bash", ["scripts/build-bundle", "--keys", KEYS, "--out", out, ...flags], { stdio: ["ignore", "ignore", "inherit"] });
  const slotB = async () => (await con.run("head -c 32M /dev/disk/by-partlabel/gate64-root-b | sha256sum")).output.trim();
  const esp = async () => (await con.run("ls /efi/EFI/Linux")).output.trim();

  before(async () => {
    assert.ok(existsSync(IMAGE), `${IMAGE} is missing`);
    // Newer than the image, one that never gets healthy (no CoreDNS), one for another board,
    // one signed by a key the box does not trust, and one with a flipped byte in its payload.
    build(bundle("good"), "--version", "99.0.0");
    build(bundle("bad"), "--version", "99.1.0", "--break-for-test", "coredns");
    build(bundle("board"), "--version", built, "--compatible", "gate64-otherboard");
    const otherKeys = join(dir, "other-keys");
    execFileSync("bash", ["scripts/keys", "init", otherKeys], { stdio: "ignore" });
    execFileSync("bash", ["scripts/build-bundle", "--keys", otherKeys, "--out", bundle("key"), "--version", built], { stdio: "ignore" });
    copyFileSync(bundle("good"), bundle("tampered"));
    const fd = openSync(bundle("tampered"), "r+");
    const at = Math.floor(statSync(bundle("tampered")).size / 3);
    writeSync(fd, Buffer.from([readFileSync(bundle("tampered")).readUInt8(at) ^ 0xff]), 0, 1, at);
    lab = new Lab({ image: IMAGE, serial: "file", configOverrides: { health: { intervalSec: 10 } } });
    await lab.start();
    await lab.waitForHealth("ok", 300);
    useResolver(lab, captureRouterAdvert(lab).rdnss[0]?.servers[0] as string);
    con = new SerialConsole(lab.serialSocket);
    await con.login("root", lab.consolePassword);
  });

  after(async () => {
    con?.close();
    if (lab) {
      forgetResolver(lab);
      await lab.stop();
    }
    rmSync(dir, { recursive: true, force: true });
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
    ["tampered", /corrupt|verity|hash/i],
    ["key", /signature|verif|certificate/i],
    ["board", /gate64-otherboard/],
  ] as const)
    it(`refuses the ${name} bundle before a byte reaches the inactive slot`, async () => {
      const before = await slotB();
      const r = await lab.fleetAsync("update", bundle(name), lab.spec.deviceId, "--serve", SERVE, "--timeout", "600");
      assert.equal(r.code, 3, r.out);
      assert.match(r.out, /failed/);
      assert.match(state().update?.reason ?? "", why);
      assert.equal(await slotB(), before, "slot b was written");
      assert.match(await esp(), /^gate64-1-a\.efi$/);
      assert.equal(state().slot, "a");
    });

  it("installs a newer bundle: downloads, installs, reboots into slot b, passes the gate", async (t) => {
    const t0 = Date.now();
    const r = await lab.fleetAsync("update", bundle("good"), lab.spec.deviceId, "--serve", SERVE, "--timeout", "900");
    assert.equal(r.code, 0, r.out);
    t.diagnostic(`fleet update to 99.0.0: ${((Date.now() - t0) / 1000).toFixed(0)} s from the command to done\n${r.out}`);
    const s = state();
    assert.equal(s.firmware, "99.0.0");
    assert.equal(s.slot, "b");
    assert.equal(s.update?.phase, "done");
    await lab.waitForHealth("ok", 120);
    assert.match(web(), /from 198\.51\.100\.2/);
    con.close();
    con = new SerialConsole(lab.serialSocket);
    await con.login("root", lab.consolePassword);
    assert.match(await esp(), /gate64-1-a\.efi\ngate64-2-b\.efi/, "slot b blessed, slot a kept");
    const st = await con.run("gate64 update status");
    assert.match(st.output, /booted slot b/);
  });

  it("rolls back by itself an update that never gets healthy, and reports why", async (t) => {
    const t0 = Date.now();
    const r = await lab.fleetAsync("update", bundle("bad"), lab.spec.deviceId, "--serve", SERVE, "--timeout", "1200");
    assert.equal(r.code, 3, r.out);
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
  });
});
