// Provisioning on the fake system: the ESP file is taken once, secrets leave the FAT partition,
// and root stays locked unless a hash was provisioned.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { describe, it } from "node:test";
import { PATHS } from "../../agent/src/paths.js";
import { requestReset } from "../../agent/src/provision/factory-reset.js";
import { provision, renderShadow, STAMP_PREFIX } from "../../agent/src/provision/provision.js";
import { FakeSystem } from "../../agent/src/system/fake.js";
import { bootDevice } from "./device-fixture.js";

const FACTORY = "root:!::0:99999:7:::\nmessagebus:!*:20783::::::\n";
const HASH = "$6$saltsalt$mXmsbOzRhx9FdAbQCUHYMV8i33aUx8FUsjR813r/Te3OUwcAdbwkebLKfLOfUCihpvpN7Ji1TH3bltSG02PNE1";

function box(): FakeSystem {
  const sys = new FakeSystem();
  sys.files.set(PATHS.factoryShadow, FACTORY);
  return sys;
}

describe("provisioning", () => {
  it("renders shadow with root first, locked without a hash", () => {
    assert.equal(renderShadow("messagebus:!*:1::::::\n", null), "root:!::0:99999:7:::\nmessagebus:!*:1::::::\n");
    assert.match(renderShadow(FACTORY, HASH), /^root:\$6\$saltsalt\$/);
  });

  it("takes provision.json once: identity, hash, config, MQTT secrets; deletes it from the ESP", async () => {
    const sys = box();
    const config = { interfaces: { lan: { name: "lan" }, wan: { name: "wan" } } };
    sys.files.set(PATHS.fleetState, JSON.stringify({ desiredRevision: 7, decommissioned: true }));
    sys.files.set(
      PATHS.provision,
      JSON.stringify({ deviceId: "site-1", consolePasswordHash: HASH, config, mqttCredentials: { username: "site-1", password: "pw" } }),
    );
    const r = await provision(sys);
    assert.deepEqual([r.provisioned, r.deviceId, r.consoleLogin, r.problems], [true, "site-1", "enabled", []]);
    assert.equal(sys.files.has(PATHS.provision), false);
    assert.deepEqual(JSON.parse(sys.files.get(PATHS.config) ?? ""), config);
    assert.match(sys.files.get(PATHS.shadow) ?? "", /^root:\$6\$saltsalt/);
    assert.equal(JSON.parse(sys.files.get(`${PATHS.mqttDir}/credentials.json`) ?? "").password, "pw");
    assert.equal(sys.files.has(PATHS.fleetState), false, "a decommissioned box rejoins when provisioned again");
    // Next boot: nothing to take, identity kept.
    const again = await provision(sys);
    assert.deepEqual([again.provisioned, again.deviceId, again.consoleLogin], [false, "site-1", "enabled"]);
  });

  it("refuses a bad file with the field named, keeps it off the ESP, and boots locked", async () => {
    const sys = box();
    sys.files.set(PATHS.provision, JSON.stringify({ consolePasswordHash: "hunter2", config: { interfaces: {} } }));
    const r = await provision(sys);
    assert.equal(r.provisioned, false);
    assert.equal(r.consoleLogin, "locked");
    assert.ok(
      r.problems.some((p) => p.startsWith("provision.json consolePasswordHash:")),
      r.problems.join("\n"),
    );
    assert.equal(sys.files.has(PATHS.provision), false);
    assert.ok(sys.files.has(`${PATHS.data}/provision.refused.json`));
    assert.match(sys.files.get(PATHS.shadow) ?? "", /^root:!:/);
    assert.match(r.deviceId, /^gate64-[0-9a-f]{10}$/);
  });
});

describe("when provisioning runs", () => {
  it("stamps /data with the firmware it ran for, replacing another firmware's stamp", async () => {
    const sys = box();
    sys.files.set(PATHS.version, "1.2.0\n");
    sys.files.set(`${PATHS.data}/${STAMP_PREFIX}1.1.0`, "");
    await provision(sys);
    const stamps = (await sys.list(PATHS.data)).filter((n) => n.startsWith(STAMP_PREFIX));
    assert.deepEqual(stamps, [`${STAMP_PREFIX}1.2.0`]);
    assert.match(sys.files.get(PATHS.shadow) ?? "", /^root:!:/);
  });

  it("the unit's conditions name the files the code reads and writes, and /etc/shadow points at its output", () => {
    const rel = (p: string) => `/${relative(process.env.GATE64_ROOT ?? "/", p)}`;
    const unit = readFileSync("overlays/common/usr/lib/systemd/system/gate64-provision.service", "utf8");
    const conditions = [...unit.matchAll(/^ConditionPathExists=\|(.*)$/gm)].map((m) => m[1]);
    const espReset = PATHS.provision.replace(/provision\.json$/, "factory-reset");
    assert.deepEqual(
      conditions.sort(),
      [
        rel(PATHS.provision),
        rel(espReset),
        rel(`${PATHS.data}/factory-reset`),
        `!${rel(PATHS.identity)}`,
        `!${rel(PATHS.shadow)}`,
        `!${rel(`${PATHS.data}/${STAMP_PREFIX}`)}%A`,
      ].sort(),
    );
    const hook = readFileSync("image/hooks/customize-install.sh", "utf8");
    assert.match(hook, new RegExp(`ln -sf ${rel(PATHS.shadow)} "\\$root/etc/shadow"`));
  });
});

describe("factory reset", () => {
  const provisioned = async () => {
    const sys = box();
    const config = { interfaces: { lan: { name: "lan" }, wan: { name: "wan" } } };
    sys.files.set(
      PATHS.provision,
      JSON.stringify({ deviceId: "site-1", consolePasswordHash: HASH, config, mqttCredentials: { username: "u", password: "pw" } }),
    );
    await provision(sys);
    // Life since: a changed config, revisions, fleet state, an update record.
    sys.files.set(PATHS.config, JSON.stringify({ ...config, logging: { level: "debug" } }));
    sys.files.set(`${PATHS.data}/revisions/0004.json`, "{}");
    sys.files.set(PATHS.fleetState, "{}");
    sys.files.set(`${PATHS.updateDir}/attempt.json`, "{}");
    sys.files.set(`${PATHS.data}/timesync/clock`, "");
    return { sys, config };
  };

  it("goes back to the provisioned state at the next boot: identity, credentials and config kept", async () => {
    const { sys, config } = await provisioned();
    await requestReset(sys, "provisioned");
    const r = await provision(sys);
    assert.deepEqual(r.reset, {
      mode: "provisioned",
      removed: ["config.json", "factory-reset", "fleet.json", "revisions", "shadow", "update"],
    });
    assert.deepEqual(JSON.parse(sys.files.get(PATHS.config) ?? ""), config);
    assert.equal(r.deviceId, "site-1");
    assert.equal(r.consoleLogin, "enabled");
    assert.equal(JSON.parse(sys.files.get(`${PATHS.mqttDir}/credentials.json`) ?? "").password, "pw");
    assert.equal((await provision(sys)).reset, undefined, "once");
    assert.ok(sys.files.has(`${PATHS.data}/timesync/clock`), "the clock's last known time stays");
  });

  it("full: from a file on the ESP, the box comes back unprovisioned and locked", async () => {
    const { sys } = await provisioned();
    sys.files.set(PATHS.provision.replace("provision.json", "factory-reset"), "full\n");
    const r = await provision(sys);
    assert.equal(r.reset?.mode, "full");
    assert.match(r.deviceId, /^gate64-[0-9a-f]{10}$/);
    assert.equal(r.consoleLogin, "locked");
    assert.equal(sys.files.has(PATHS.config), false);
    assert.equal(sys.files.has(`${PATHS.mqttDir}/credentials.json`), false);
    assert.equal(sys.files.has(PATHS.provision.replace("provision.json", "factory-reset")), false);
    assert.ok(sys.files.has(`${PATHS.data}/timesync/clock`), "the clock's last known time stays");
  });

  it("asked for while /data is memory, goes onto the ESP, where the data fallback looks for it", async () => {
    const rel = (p: string) => `/${relative(process.env.GATE64_ROOT ?? "/", p)}`;
    const espReset = PATHS.provision.replace("provision.json", "factory-reset");
    for (const [line, where] of [
      ["/dev/vda4 /data ext4 rw,noatime 0 0", `${PATHS.data}/factory-reset`],
      ["gate64-data-in-memory /data tmpfs rw,nosuid,nodev 0 0", espReset],
    ] as const) {
      const sys = box();
      sys.files.set(PATHS.mounts, `${line}\n`);
      const { device } = await bootDevice(sys, {}, "site-1");
      assert.deepEqual(await device.factoryReset("full", "test"), { resetting: "full" });
      assert.equal(sys.files.get(where), "full\n", line);
      assert.equal(sys.files.has(where === espReset ? `${PATHS.data}/factory-reset` : espReset), false, line);
    }
    const fallback = readFileSync("overlays/common/usr/lib/gate64/data-fallback", "utf8");
    assert.match(fallback, new RegExp(`^reset=${rel(espReset)}$`, "m"));
  });
});
