// Firmware updates as data and on the fake system: boot entry names (what systemd-boot will
// boot), version order, what a reboot makes of an attempt, the updater's refusals and phases,
// RAUC's backend calls, the health gate, and when a fleet update counts a box as done.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { beforeEach, describe, it } from "node:test";
import { planMigration } from "../../agent/src/config/migrate.js";
import type { State } from "../../agent/src/fleet/protocol.js";
import { acceptedSince, updateOutcome } from "../../agent/src/fleet/update-rollout.js";
import type { HealthReport } from "../../agent/src/observe/health.js";
import { PATHS } from "../../agent/src/paths.js";
import { FakeSystem } from "../../agent/src/system/fake.js";
import { type Attempt, afterBoot, type UpdateStatus } from "../../agent/src/update/attempt.js";
import { bootBackend, preInstall } from "../../agent/src/update/backend.js";
import { bootOrder, parseEntries, parseEntry, primary, setPrimary, setState, state } from "../../agent/src/update/boot-entries.js";
import { runGate } from "../../agent/src/update/gate.js";
import { ukiSlot } from "../../agent/src/update/uki.js";
import { Updater } from "../../agent/src/update/updater.js";
import { compareVersions } from "../../agent/src/update/version.js";
import { fakeUki } from "./uki-fixture.js";

const ESP = PATHS.espLinux;
const BUNDLE = "/run/rauc/bundle";
const names = (sys: FakeSystem) =>
  [...sys.files.keys()]
    .filter((k) => k.startsWith(`${ESP}/`))
    .map((k) => k.slice(ESP.length + 1))
    .sort();

describe("boot entries", () => {
  it("reads generation, slot and counter from a UKI name, and nothing else", () => {
    assert.deepEqual(parseEntry("gate64-2-b+1-1.efi"), { name: "gate64-2-b+1-1.efi", generation: 2, slot: "b", left: 1, done: 1 });
    assert.deepEqual(parseEntry("gate64-1-a.efi")?.left, null);
    assert.equal(parseEntry("gate64-a+3.efi"), null);
    assert.equal(parseEntry("other-1-a.efi"), null);
  });

  it("boots the highest generation that has tries, and falls back when it has none left", () => {
    const fresh = parseEntries(["gate64-1-a.efi", "gate64-2-b+2.efi"]);
    assert.equal(primary(fresh), "b");
    const spent = parseEntries(["gate64-1-a.efi", "gate64-2-b+0-2.efi"]);
    assert.equal(primary(spent), "a");
    assert.equal(state(spent, "b"), "bad");
    assert.equal(state(spent, "a"), "good");
    assert.deepEqual(
      bootOrder(spent).map((e) => e.slot),
      ["a", "b"],
    );
  });

  it("set-primary raises the generation with fresh tries; set-state good blesses, bad spends the tries", () => {
    const e = parseEntries(["gate64-1-a.efi", "gate64-0-b+0-0.efi"]);
    assert.deepEqual(setPrimary(e, "b", 2), [{ from: "gate64-0-b+0-0.efi", to: "gate64-2-b+2.efi" }]);
    const after = parseEntries(["gate64-1-a.efi", "gate64-2-b+1-1.efi"]);
    assert.deepEqual(setState(after, "b", "good"), [{ from: "gate64-2-b+1-1.efi", to: "gate64-2-b.efi" }]);
    assert.deepEqual(setState(after, "b", "bad"), [{ from: "gate64-2-b+1-1.efi", to: "gate64-2-b+0-1.efi" }]);
    assert.deepEqual(setState(after, "a", "good"), []);
    assert.throws(() => setPrimary(parseEntries(["gate64-1-a.efi"]), "b", 2), /slot b has no UKI/);
  });
});

describe("versions", () => {
  it("orders releases, pre-releases and dev builds as semver does", () => {
    assert.ok(compareVersions("0.2.0", "0.1.9") > 0);
    assert.ok(compareVersions("0.1.0-dev.57+gabc", "0.1.0") < 0);
    assert.ok(compareVersions("0.1.0-dev.57+gabc", "0.1.0-dev.9+gdef") > 0);
    assert.equal(compareVersions("1.0.0+a", "1.0.0+b"), 0);
    assert.ok(compareVersions("1.0.0-rc.1", "1.0.0-beta") > 0);
    assert.throws(() => compareVersions("1.0", "1.0.0"), /not a semantic version: 1.0/);
  });
});

const attempt = (phase: Attempt["phase"]): Attempt => ({
  phase,
  percent: 0,
  targetVersion: "0.2.0",
  fromVersion: "0.1.0",
  by: "op_admin",
  at: "2026-11-30T07:00:00.000Z",
  fromSlot: "a",
  targetSlot: "b",
});
const NOW = "2026-11-30T07:10:00.000Z";

describe("an attempt after a reboot", () => {
  it("is verifying on the new slot until it is blessed, then done", () => {
    const facts = { bootedSlot: "b" as const, bootedVersion: "0.2.0", gateFailure: null };
    assert.equal(afterBoot(attempt("rebooting"), { ...facts, bootedCounting: true }, NOW).phase, "verifying");
    assert.equal(afterBoot(attempt("verifying"), { ...facts, bootedCounting: false }, NOW).phase, "done");
  });

  it("is rolled back, with the gate's failed probes, when the old slot came back", () => {
    const gateFailure = { slot: "b" as const, version: "0.2.0", at: NOW, failedProbes: [{ name: "coredns", detail: "not ready" }] };
    const a = afterBoot(attempt("verifying"), { bootedSlot: "a", bootedVersion: "0.1.0", bootedCounting: false, gateFailure }, NOW);
    assert.equal(a.phase, "rolled-back");
    assert.deepEqual(a.failedProbes, gateFailure.failedProbes);
    assert.match(a.reason ?? "", /0\.2\.0 failed its health gate on slot b: coredns; back on slot a/);
    const silent = afterBoot(
      attempt("rebooting"),
      { bootedSlot: "a", bootedVersion: "0.1.0", bootedCounting: false, gateFailure: null },
      NOW,
    );
    assert.match(silent.reason ?? "", /never completed a boot/);
  });

  it("is failed when the power went during the download or the install; an ended one stays", () => {
    const facts = { bootedSlot: "a" as const, bootedVersion: "0.1.0", bootedCounting: false, gateFailure: null };
    assert.match(afterBoot(attempt("installing"), facts, NOW).reason ?? "", /interrupted while installing/);
    assert.equal(afterBoot(attempt("downloading"), facts, NOW).phase, "failed");
    const done = attempt("done");
    assert.equal(afterBoot(done, facts, NOW), done);
  });
});

describe("the updater on the fake system", () => {
  let sys: FakeSystem;
  let changes: UpdateStatus[];
  let blocker: string | null;
  const BUNDLE = "signed bundle bytes";
  const SHA = createHash("sha256").update(BUNDLE).digest("hex");
  let info: { compatible: string; version: string };
  let installed: string[];

  const updater = (version = "0.1.0") =>
    new Updater({ sys, log: () => undefined, version, blocker: () => blocker, onChange: (s) => changes.push(s) });

  beforeEach(() => {
    sys = new FakeSystem();
    changes = [];
    blocker = null;
    installed = [];
    info = { compatible: "gate64-x86-64", version: "0.2.0" };
    sys.files.set(PATHS.cmdline, "root=PARTLABEL=gate64-root-a rauc.slot=a ro\n");
    sys.files.set(PATHS.raucSystemConf, "[system]\ncompatible=gate64-x86-64\n");
    sys.files.set(`${ESP}/gate64-1-a.efi`, "uki");
    sys.urls.set("http://198.51.100.10:8080/b.raucb", BUNDLE);
    sys.handlers.set("rauc", (args) => {
      if (args[0] === "info") return { code: 0, stdout: JSON.stringify(info), stderr: "" };
      installed.push(args[args.length - 1] as string);
      return { code: 0, stdout: "20% Checking bundle\n80% Copying image\n100% Installing done.\n", stderr: "" };
    });
  });

  it("downloads, checks, installs into the other slot and reboots, reporting each phase", async () => {
    const u = updater();
    await u.recover();
    const s = await u.start(
      { url: "http://198.51.100.10:8080/b.raucb", sha256: SHA, size: BUNDLE.length, allowDowngrade: false },
      "op_admin",
    );
    assert.equal(s.phase, "downloading");
    await u.settled();
    assert.deepEqual(installed, [`${PATHS.updateDir}/bundle.raucb`]);
    assert.deepEqual([...new Set(changes.map((c) => c.phase))], ["downloading", "installing", "rebooting"]);
    assert.ok(changes.some((c) => c.phase === "installing" && c.percent === 80));
    assert.equal(u.status()?.targetVersion, "0.2.0");
    assert.equal(sys.files.has(`${PATHS.updateDir}/bundle.raucb`), false, "the bundle is removed once installed");
    const saved = JSON.parse(sys.files.get(`${PATHS.updateDir}/attempt.json`) as string) as Attempt;
    assert.deepEqual([saved.phase, saved.fromSlot, saved.targetSlot], ["rebooting", "a", "b"]);
  });

  it("refuses a download whose SHA-256 differs from the command's, before RAUC sees it", async () => {
    const u = updater();
    await u.recover();
    await u.start({ url: "http://198.51.100.10:8080/b.raucb", sha256: "0".repeat(64), allowDowngrade: false }, "op_admin");
    await u.settled();
    assert.equal(u.status()?.phase, "failed");
    assert.match(u.status()?.reason ?? "", /SHA-256/);
    assert.deepEqual(installed, []);
    assert.equal(sys.commands.filter((c) => c.startsWith("rauc")).length, 0);
  });

  it("refuses another board's bundle and an older version, unless a downgrade is allowed", async () => {
    const u = updater("0.3.0");
    await u.recover();
    info = { compatible: "gate64-rpi4", version: "0.4.0" };
    await u.start({ url: "http://198.51.100.10:8080/b.raucb", allowDowngrade: false }, "op_admin");
    await u.settled();
    assert.match(u.status()?.reason ?? "", /bundle is for gate64-rpi4, this box is gate64-x86-64/);
    info = { compatible: "gate64-x86-64", version: "0.2.0" };
    await u.start({ url: "http://198.51.100.10:8080/b.raucb", allowDowngrade: false }, "op_admin");
    await u.settled();
    assert.match(u.status()?.reason ?? "", /older than the running 0\.3\.0/);
    assert.deepEqual(installed, []);
    await u.start({ url: "http://198.51.100.10:8080/b.raucb", allowDowngrade: true }, "op_admin");
    await u.settled();
    assert.equal(u.status()?.phase, "rebooting");
  });

  it("refuses a second install while one runs, and any while a config change awaits confirmation", async () => {
    const u = updater();
    await u.recover();
    sys.handlers.set("rauc", () => new Promise(() => undefined)); // an install that never ends
    await u.start({ url: "http://198.51.100.10:8080/b.raucb", allowDowngrade: false }, "op_admin");
    await assert.rejects(
      u.start({ url: "http://198.51.100.10:8080/b.raucb", allowDowngrade: false }, "op_b"),
      /is downloading|is installing/,
    );
    const v = updater();
    await v.recover();
    blocker = "a configuration change is awaiting confirmation (revision 4)";
    await assert.rejects(v.start({ url: "http://198.51.100.10:8080/b.raucb", allowDowngrade: false }, "op_admin"), /awaiting confirmation/);
  });

  it("after a power cut mid-download: failed, the partial file gone, and the next install goes ahead", async () => {
    sys.files.set(`${PATHS.updateDir}/attempt.json`, JSON.stringify(attempt("downloading")));
    sys.files.set(`${PATHS.updateDir}/bundle.raucb.part`, "half");
    const u = updater();
    await u.recover();
    assert.equal(u.status()?.phase, "failed");
    assert.equal(sys.files.has(`${PATHS.updateDir}/bundle.raucb.part`), false);
    await u.start({ url: "http://198.51.100.10:8080/b.raucb", allowDowngrade: false }, "op_admin");
    await u.settled();
    assert.equal(u.status()?.phase, "rebooting");
  });

  it("refuses an update while /data is memory in place of its partition, before downloading", async () => {
    sys.files.set(PATHS.mounts, "gate64-data-in-memory /data tmpfs rw,nosuid,nodev 0 0\n");
    const u = updater();
    await u.recover();
    await assert.rejects(
      u.start({ url: "http://198.51.100.10:8080/b.raucb", allowDowngrade: false }, "op_admin"),
      /\/data is in memory: its partition did not mount at boot: no room for a bundle/,
    );
    assert.equal(u.status(), null);
    assert.equal(sys.files.has(`${PATHS.updateDir}/bundle.raucb.part`), false);
    sys.files.set(PATHS.mounts, "/dev/vda4 /data ext4 rw,noatime 0 0\n");
    await u.start({ url: "http://198.51.100.10:8080/b.raucb", allowDowngrade: false }, "op_admin");
    await u.settled();
    assert.equal(u.status()?.phase, "rebooting");
  });

  it("on a /data the download filled, removes the partial file before it records the failure", async () => {
    const part = `${PATHS.updateDir}/bundle.raucb.part`;
    sys.download = async (_url, dest) => {
      sys.files.set(dest, "half");
      throw new Error("ENOSPC: no space left on device, write");
    };
    const write = sys.writeFileAtomic.bind(sys);
    sys.writeFileAtomic = async (path, data) => {
      if (sys.files.has(part)) throw new Error(`ENOSPC: no space left on device, open '${path}'`);
      return write(path, data);
    };
    const u = updater();
    await u.recover();
    await u.start({ url: "http://198.51.100.10:8080/b.raucb", allowDowngrade: false }, "op_admin");
    await u.settled();
    assert.equal(sys.files.has(part), false);
    const saved = JSON.parse(sys.files.get(`${PATHS.updateDir}/attempt.json`) as string) as Attempt;
    assert.deepEqual([saved.phase, saved.reason], ["failed", "ENOSPC: no space left on device, write"]);
  });

  it("leaves 16 MiB of /data free: a bundle that does not fit is refused by its size, or stopped", async () => {
    const u = updater();
    await u.recover();
    sys.free = 16 * 2 ** 20 + BUNDLE.length - 1;
    await assert.rejects(
      u.start({ url: "http://198.51.100.10:8080/b.raucb", size: BUNDLE.length, allowDowngrade: false }, "op_admin"),
      (e: Error & { field?: string }) =>
        e.field === "size" && /^a bundle of 0\.0 MiB does not fit on \/data: 0\.0 MiB free beyond the 16\.0 MiB kept/.test(e.message),
    );
    assert.equal(u.status(), null);
    await u.start({ url: "http://198.51.100.10:8080/b.raucb", allowDowngrade: false }, "op_admin");
    await u.settled();
    assert.match(u.status()?.reason ?? "", /does not fit on \/data/);
    sys.free += 1;
    await u.start({ url: "http://198.51.100.10:8080/b.raucb", size: BUNDLE.length, allowDowngrade: false }, "op_admin");
    await u.settled();
    assert.equal(u.status()?.phase, "rebooting");
  });

  it("after a power cut while installing: the staged UKI and a partial one are removed", async () => {
    sys.files.set(`${PATHS.updateDir}/attempt.json`, JSON.stringify(attempt("installing")));
    sys.files.set(`${ESP}/gate64-0-b+0-0.efi`, "staged");
    sys.files.set(`${ESP}/gate64-0-b+0-0.efi.tmp-4711`, "half a UKI");
    await updater().recover();
    assert.deepEqual(names(sys), ["gate64-1-a.efi"]);
  });
});

describe("RAUC's backend and pre-install handler", () => {
  let sys: FakeSystem;
  beforeEach(() => {
    sys = new FakeSystem();
    sys.files.set(PATHS.cmdline, "rauc.slot=a");
    sys.files.set(`${ESP}/gate64-1-a.efi`, "uki a");
    sys.files.set(`${ESP}/gate64-2-b+0-2.efi`, "old b");
    sys.files.set(
      `${BUNDLE}/uki.efi`,
      Buffer.from(fakeUki({ ".cmdline": "root=PARTLABEL=gate64-root-a rauc.slot=a ro" })).toString("latin1"),
    );
  });

  it("stages the bundle's UKI for the target in place of its old one, then makes it primary", async () => {
    sys.files.set(`${ESP}/gate64-0-b+0-0.efi.tmp-4711`, "what a power cut left of an earlier try");
    const staged = await preInstall(sys, {
      RAUC_BUNDLE_MOUNT_POINT: BUNDLE,
      RAUC_TARGET_SLOTS: "2",
      RAUC_SLOT_BOOTNAME_2: "b",
    });
    assert.deepEqual(staged, ["gate64-0-b+0-0.efi"]);
    assert.deepEqual(names(sys), ["gate64-0-b+0-0.efi", "gate64-1-a.efi"]);
    assert.equal(ukiSlot((await sys.readBytes(`${ESP}/gate64-0-b+0-0.efi`)) as Uint8Array), "b");
    assert.equal(await bootBackend(sys, ["get-primary"]), "a");
    await bootBackend(sys, ["set-state", "b", "bad"]);
    await bootBackend(sys, ["set-primary", "b"]);
    assert.deepEqual(names(sys), ["gate64-1-a.efi", "gate64-2-b+2.efi"]);
    assert.equal(await bootBackend(sys, ["get-primary"]), "b");
    assert.equal(await bootBackend(sys, ["get-state", "b"]), "good");
    assert.equal(await bootBackend(sys, ["get-current"]), "a");
  });

  it("never stages over the booted slot, and names what it does not understand", async () => {
    await assert.rejects(
      preInstall(sys, { RAUC_BUNDLE_MOUNT_POINT: "/m", RAUC_TARGET_SLOTS: "1", RAUC_SLOT_BOOTNAME_1: "a" }),
      /refusing to touch the booted slot a/,
    );
    sys.files.set(`${BUNDLE}/uki.efi`, "a stand-in");
    await assert.rejects(
      preInstall(sys, { RAUC_BUNDLE_MOUNT_POINT: BUNDLE, RAUC_TARGET_SLOTS: "2", RAUC_SLOT_BOOTNAME_2: "b" }),
      /not a PE file/,
    );
    assert.deepEqual(names(sys), ["gate64-1-a.efi", "gate64-2-b+0-2.efi"], "a bad UKI changes nothing on the ESP");
    await assert.rejects(bootBackend(sys, ["set-state", "b", "meh"]), /state: expected good or bad/);
    await assert.rejects(bootBackend(sys, ["get-state", "c"]), /slot: expected a or b/);
  });
});

describe("the boot health gate", () => {
  let sys: FakeSystem;
  const report = (ok: boolean): HealthReport => ({
    status: ok ? "ok" : "failed",
    checkedAt: "",
    probes: [
      { name: "jool", status: "ok", detail: "up", durationMs: 1 },
      { name: "coredns", status: ok ? "ok" : "failed", detail: ok ? "ready" : "connection refused", durationMs: 1 },
    ],
  });
  const uplink = (): HealthReport => ({
    ...report(true),
    status: "failed",
    probes: [{ name: "nat64", status: "failed", detail: "no TCP connection", durationMs: 1 }],
  });
  const gate = (health: () => Promise<HealthReport>) =>
    runGate(sys, { health, version: "0.2.0", timeoutMs: 400, settleMs: 150, intervalMs: 20, log: () => undefined });

  beforeEach(() => {
    sys = new FakeSystem();
    sys.files.set(PATHS.cmdline, "rauc.slot=b");
    sys.files.set(`${ESP}/gate64-1-a.efi`, "");
    sys.files.set(`${ESP}/gate64-2-b+1-1.efi`, "");
  });

  it("passes on the first healthy round, after the agent came up", async () => {
    let calls = 0;
    const r = await gate(async () => {
      if (calls++ === 0) throw new Error("cannot reach the agent");
      return report(true);
    });
    assert.equal(r, "passed");
    assert.equal(sys.commands.length, 0);
  });

  it("marks the slot bad at once when the firmware's own probes keep failing, and keeps why", async () => {
    const t0 = Date.now();
    assert.equal(await gate(async () => report(false)), "marked-bad");
    const took = Date.now() - t0;
    assert.ok(took >= 150 && took < 400, `judged after the settle time, before the timeout (${took} ms)`);
    const kept = JSON.parse(sys.files.get(`${PATHS.updateDir}/failed-boot.json`) as string);
    assert.deepEqual(kept.failedProbes, [{ name: "coredns", detail: "connection refused" }]);
    assert.deepEqual(sys.commands, ["/usr/lib/systemd/systemd-bless-boot bad", "systemctl reboot --no-block"]);
  });

  it("spends a try of the counter when only the uplink's probes fail, or the agent never answers", async () => {
    assert.equal(await gate(async () => uplink()), "failed");
    assert.deepEqual(sys.commands, ["systemctl reboot --no-block"]);
    sys.commands.length = 0;
    assert.equal(
      await gate(async () => {
        throw new Error("cannot reach the agent");
      }),
      "failed",
    );
    assert.match(sys.files.get(`${PATHS.updateDir}/failed-boot.json`) as string, /no health report: cannot reach the agent/);
    assert.deepEqual(sys.commands, ["systemctl reboot --no-block"]);
  });

  it("restarts the settle time when a firmware probe recovers, and lets the counter decide if marking fails", async () => {
    let round = 0;
    // CoreDNS fails, comes back (the uplink still down), fails again: never for the whole settle time.
    const flapping = async () => (round++ % 4 === 3 ? uplink() : report(false));
    assert.equal(await gate(flapping), "failed");
    sys.commands.length = 0;
    sys.handlers.set("/usr/lib/systemd/systemd-bless-boot", async () => ({ code: 1, stdout: "", stderr: "no LoaderBootCountPath" }));
    assert.equal(await gate(async () => report(false)), "failed");
    assert.deepEqual(sys.commands, ["/usr/lib/systemd/systemd-bless-boot bad", "systemctl reboot --no-block"]);
  });

  it("does not reboot without a slot to fall back to, and has nothing to prove on a blessed slot", async () => {
    sys.files.delete(`${ESP}/gate64-1-a.efi`);
    assert.equal(await gate(async () => report(false)), "failed-no-fallback");
    assert.deepEqual(sys.commands, []);
    sys.files.set(`${ESP}/gate64-2-b.efi`, "");
    sys.files.delete(`${ESP}/gate64-2-b+1-1.efi`);
    assert.equal(await gate(async () => report(false)), "not-counting");
  });
});

describe("a fleet update's view of one box", () => {
  const state = (update: UpdateStatus | null, firmware = "0.1.0") => ({ firmware, update }) as unknown as State;
  const u = (phase: UpdateStatus["phase"], at = NOW): UpdateStatus => ({
    phase,
    percent: 100,
    targetVersion: "0.2.0",
    fromVersion: "0.1.0",
    by: "op_admin",
    at,
  });
  it("is done only on the target version; a rollback or failure ends it; older news is ignored", () => {
    assert.deepEqual(updateOutcome(state(u("done"), "0.2.0"), NOW).ok, true);
    assert.deepEqual(updateOutcome(state(u("done"), "0.1.0"), NOW).ok, false);
    assert.deepEqual(updateOutcome(state(u("rolled-back")), NOW), { ended: true, ok: false, phase: "rolled-back", reason: "" });
    assert.equal(updateOutcome(state(u("installing")), NOW).ended, false);
    assert.equal(updateOutcome(state(u("failed", "2026-11-30T06:00:00.000Z")), NOW).phase, "waiting");
    assert.equal(updateOutcome(undefined, NOW).phase, "waiting");
  });
  it("counts a box's news from its own clock's time of accepting the command", () => {
    // The box's clock runs 40 s behind the operator's, and it refuses the bundle 2 s after
    // accepting the command: against the operator's clock that refusal would be older news.
    const operatorNow = "2026-11-30T07:00:40.000Z";
    const refused = state(u("failed", "2026-11-30T07:00:02.000Z"));
    assert.equal(updateOutcome(refused, operatorNow).phase, "waiting");
    const since = acceptedSince(u("downloading", "2026-11-30T07:00:00.000Z"), operatorNow);
    assert.equal(since, "2026-11-30T07:00:00.000Z");
    assert.deepEqual(updateOutcome(refused, since), { ended: true, ok: false, phase: "failed", reason: "" });
    assert.equal(updateOutcome(state(u("failed", "2026-11-30T06:59:00.000Z")), since).phase, "waiting");
    // An answer without a status (another firmware's): the operator's clock.
    assert.equal(acceptedSince({ accepted: true }, operatorNow), operatorNow);
  });
});

describe("configuration formats across firmware versions", () => {
  const table = { 1: (c: Record<string, unknown>) => ({ ...c, renamed: c.old, old: undefined }) };
  it("migrates an older format step by step, and points a rollback at the copy kept for it", () => {
    assert.deepEqual(planMigration({ version: 1, old: 5 }, 1, table), { kind: "current" });
    assert.deepEqual(planMigration({ old: 5 }, 2, table), { kind: "migrate", from: 1, config: { renamed: 5, old: undefined, version: 2 } });
    assert.deepEqual(planMigration({ version: 2 }, 1, table), { kind: "newer", version: 2, fallback: "config.v1.json" });
    assert.throws(() => planMigration({ version: 1 }, 3, table), /from version 2 to 3/);
  });

  it("drops the older firmware's copy once the new slot is blessed", async () => {
    const sys = new FakeSystem();
    sys.files.set(PATHS.cmdline, "rauc.slot=b");
    sys.files.set(`${ESP}/gate64-2-b.efi`, "");
    sys.files.set(`${PATHS.data}/config.v0.json`, "{}");
    sys.files.set(`${PATHS.updateDir}/attempt.json`, JSON.stringify(attempt("verifying")));
    const u = new Updater({ sys, log: () => undefined, version: "0.2.0", blocker: () => null, onChange: () => undefined });
    await u.recover();
    assert.equal(u.status()?.phase, "done");
    assert.equal(sys.files.has(`${PATHS.data}/config.v0.json`), false);
  });
});
