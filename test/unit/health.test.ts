// Health probes that read the system through the system interface, on the fake system.
import assert from "node:assert/strict";
import { join } from "node:path";
import { it } from "node:test";
import { validateConfig } from "../../agent/src/config/validate.js";
import { readFacts } from "../../agent/src/observe/facts.js";
import { probes } from "../../agent/src/observe/health.js";
import { ensureProbeNamespace, PROBE_NS } from "../../agent/src/observe/probe-ns.js";
import { PATHS } from "../../agent/src/paths.js";
import { resolve } from "../../agent/src/render/context.js";
import { FakeSystem } from "../../agent/src/system/fake.js";
import { fakeJool, sessionCsv } from "./jool-fixture.js";

function setup(bibLines: number, groList: "on" | "off", udpGro = groList === "off" ? "on" : "off") {
  const v = validateConfig({
    interfaces: { lan: { name: "lan" }, wan: { name: "wan" } },
    nat64: {
      pool4: [
        { protocol: "tcp", prefix: "wan", ports: "40000-40099" },
        { protocol: "udp", prefix: "wan", ports: "40000-40099" },
      ],
    },
  });
  assert.ok(v.ok);
  const sys = new FakeSystem();
  fakeJool(sys, (args) => (args.includes("global") ? "pool6,64:ff9b::/96\n" : args.includes("--tcp") ? sessionCsv("TCP", bibLines) : ""));
  sys.handlers.set("ethtool", () => ({
    code: 0,
    stdout: `generic-receive-offload: on\nrx-gro-list: ${groList}\nrx-udp-gro-forwarding: ${udpGro}\n`,
    stderr: "",
  }));
  const list = probes(sys, resolve(v.config, { deviceId: "h" }));
  const run = (name: string) => (list.find((p) => p.name === name) ?? assert.fail(`no probe ${name}`)).run();
  return Object.assign(run, { sys });
}

it("pool4 utilisation: reported, and an error past 80 %", async () => {
  assert.equal(await setup(10, "off")("pool4"), "tcp 10/100, udp 0/100, icmp 0/0");
  await assert.rejects(setup(85, "off")("pool4"), /BIB at 85 % of pool4/);
});

it("one round asks Jool for its instances once, for the jool and pool4 probes both", async () => {
  const run = setup(0, "off");
  await Promise.all([run("jool"), run("pool4")]);
  assert.equal(run.sys.commands.filter((c) => c.startsWith("jool instance display")).length, 1);
  // The next round asks again: a probe never reports what an earlier round saw.
  const next = setup(0, "off");
  await next("jool");
  assert.equal(next.sys.commands.filter((c) => c.startsWith("jool instance display")).length, 1);
});

it("offloads: fraglist GRO off, and the LAN's GRO for forwarded UDP on, as configured", async () => {
  assert.equal(
    await setup(0, "off")("offloads"),
    "lan: rx-gro-list off, rx-udp-gro-forwarding on; wan: rx-gro-list off; receive work spread over the CPUs",
  );
  await assert.rejects(
    setup(0, "on")("offloads"),
    /not as configured: lan rx-gro-list on \(want off\), lan rx-udp-gro-forwarding off \(want on\), wan rx-gro-list on/,
  );
  // A feature the driver fixes cannot be set: not a failure.
  assert.match(await setup(0, "off", "off [fixed]")("offloads"), /^lan: /);
});

it("creates the probe namespace once when probes run at the same time (no 'File exists' at boot)", async () => {
  const sys = new FakeSystem();
  const batches: string[] = [];
  sys.handlers.set("ip", async (_args, input) => {
    await new Promise((r) => setTimeout(r, 5));
    if (input !== undefined) batches.push(input);
    return { code: 0, stdout: "", stderr: "" };
  });
  await Promise.all([ensureProbeNamespace(sys), ensureProbeNamespace(sys), ensureProbeNamespace(sys)]);
  assert.equal(batches.filter((b) => b.includes(`netns add ${PROBE_NS}\n`)).length, 1);
  // One `ip` for the box's side, one inside the namespace.
  assert.deepEqual(sys.commands, ["ip -batch -", `ip -n ${PROBE_NS} -batch -`]);
  // Once it exists (`ip netns add` made its handle), no process asks again.
  sys.files.set(join(PATHS.netnsDir, PROBE_NS), "");
  await ensureProbeNamespace(sys);
  assert.equal(sys.commands.length, 2);
});

it("data: the partition as mounted, and memory in its place named as such", async () => {
  const probe = setup(0, "off");
  await assert.rejects(probe("data"), /\/data is not mounted/);
  const root = "/dev/vda2 / squashfs ro,relatime 0 0\n";
  probe.sys.files.set(PATHS.mounts, `${root}/dev/vda4 /data ext4 rw,noatime 0 0\n`);
  assert.equal(await probe("data"), "ext4 on /dev/vda4");
  probe.sys.files.set(PATHS.mounts, `${root}gate64-data-in-memory /data tmpfs rw,nosuid,nodev 0 0\n`);
  await assert.rejects(probe("data"), /in memory: its partition did not mount at boot/);
});

it("wan-ipv4: the WAN's address from the follower's reading of the round; on its own, a reading of its own", async () => {
  const v = validateConfig({ interfaces: { lan: { name: "lan" }, wan: { name: "wan" } } });
  assert.ok(v.ok);
  const sys = new FakeSystem();
  let wan = "198.51.100.2";
  sys.handlers.set("ip", () => ({
    code: 0,
    stdout: JSON.stringify([{ ifname: "wan", addr_info: [{ family: "inet", local: wan, prefixlen: 24, scope: "global" }] }]),
    stderr: "",
  }));
  const probe = (wanIPv4: string) =>
    (
      probes(sys, resolve(v.config, { deviceId: "h", wanIPv4 })).find((p) => p.name === "wan-ipv4") ?? assert.fail("no wan-ipv4 probe")
    ).run();
  assert.equal(await probe("198.51.100.2/24"), "198.51.100.2/24");
  assert.equal(sys.commands.length, 1, "a round on its own reads the addresses");
  // The follower reads at the start of a cycle (health-loop.ts); the probe right after takes it.
  wan = "198.51.100.7";
  const facts = await readFacts(sys, v.config, "h");
  await assert.rejects(probe("198.51.100.2/24"), { message: "wan has 198.51.100.7/24 but pool4 still uses 198.51.100.2" });
  assert.equal(await probe(facts.wanIPv4 as string), "198.51.100.7/24");
  assert.deepEqual(sys.commands, ["ip -j -4 addr show", "ip -j -4 addr show"]);
});
