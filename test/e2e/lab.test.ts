// End to end: the built image booted in the QEMU lab, checked from an IPv6-only client that
// uses only what it learned from the RA, from the IPv4 internet and from the broker. It boots
// the build's qcow2 (the VM appliance disk, docs/vm.md); the other suites boot disk.img.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { hardwareLine, type Inventory } from "../../agent/src/observe/inventory.js";
import { measureAgent } from "../../scripts/bench/agent.js";
import { connRate, measureNat64 } from "../../scripts/bench/nat64.js";
import { missingFigures } from "../../scripts/bench/report.js";
import { CHECKS, forgetResolver, type Learned } from "../../scripts/lab/checks.js";
import type { SerialConsole } from "../../scripts/lab/console.js";
import { LAB_SPEC, Lab } from "../../scripts/lab/lab.js";
import { waitFor } from "../../scripts/lab/netns.js";
import { itChecks } from "./lab-checks.js";

const IMAGE = process.env.GATE64_QCOW2 ?? "out/x86-64/disk.qcow2";

/** A console command that must exit 0: its output, trimmed. */
const mustRun = (con: SerialConsole) => async (cmd: string) => {
  const r = await con.run(cmd);
  assert.equal(r.code, 0, `${cmd}: ${r.output}`);
  return r.output.trim();
};

/** A virtio NIC's receive ("input") or send ("output") queue interrupts so far, on CPU 0 and CPU 1. */
async function nicIrqs(run: (cmd: string) => Promise<string>, nic: string, queue: "input" | "output"): Promise<[number, number]> {
  const line = (await run(`grep -E "$(basename $(readlink /sys/class/net/${nic}/device))-${queue}" /proc/interrupts`)).split(/\s+/);
  return [Number(line[1]), Number(line[2])];
}

describe("the x86-64 image (qcow2) in the lab", { timeout: 15 * 60_000 }, () => {
  let lab: Lab;
  const learned: Learned = {};

  before(async () => {
    assert.ok(existsSync(IMAGE), `${IMAGE} is missing: npm test builds it (scripts/test-all)`);
    // The lab box with the remote shell enabled (off by default), to try node-pty on the image.
    const mqtt = (JSON.parse(readFileSync(LAB_SPEC.boxConfig, "utf8")) as { mqtt: object }).mqtt;
    // Home Assistant discovery on, telemetry every 10 s for its check.
    lab = new Lab({
      image: IMAGE,
      serial: "file",
      configOverrides: { mqtt: { ...mqtt, remoteShell: { enabled: true }, homeAssistant: { enabled: true }, telemetryIntervalSec: 10 } },
    });
    await lab.start();
  });

  after(async () => {
    if (lab) {
      forgetResolver(lab);
      await lab.stop();
    }
  });

  itChecks(CHECKS, () => lab, learned);

  it("opens a remote shell on the box over MQTT (node-pty on the image), logged on the box", async () => {
    const r = lab.brokerNs.exec("sh", [
      "-c",
      `printf 'echo gate64-$((6*7)); uname -n; exit\\n' | ${process.execPath} out/agent/gate64.cjs fleet shell ${lab.spec.deviceId} --fleet ${lab.operatorConfig} 2>&1`,
    ]);
    assert.match(r, /gate64-42/);
    assert.match(r, /session [0-9a-f]+ ended/);
    // The retained state drops the session when the box has handled the close, which can be a
    // moment after the CLI saw the session end.
    const shell = () =>
      (JSON.parse(lab.subscribeOnce(`gate64/${lab.spec.deviceId}/state`, 5) ?? "{}") as { shell?: { sessions: unknown[] } }).shell;
    await waitFor("the retained state without the session", () => shell()?.sessions.length === 0).catch(() => undefined);
    assert.deepEqual(shell(), { enabled: true, sessions: [] });
    // The box's journal has the session, read back through the fleet's logs.tail.
    const logs = lab.fleet("cmd", lab.spec.deviceId, "logs.tail", '{"unit":"agent","lines":100}', "--json");
    assert.equal(logs.code, 0, logs.out);
    const lines = (JSON.parse(logs.out) as { lines: string[] }).lines;
    assert.ok(
      lines.some((l) => /shell: session [0-9a-f]+ opened by op_admin/.test(l)),
      lines.join("\n"),
    );
    assert.ok(
      lines.some((l) => /shell: session [0-9a-f]+ of op_admin closed: shell exited/.test(l)),
      lines.join("\n"),
    );
  });

  it("publishes Home Assistant discovery whose templates render on the box's real payloads (Jinja2)", () => {
    const lines = lab.brokerNs.exec("mosquitto_sub", [...lab.operatorArgs(), "-t", "homeassistant/#", "-v", "-C", "6", "-W", "20"]);
    const configs = lines
      .trim()
      .split("\n")
      .map((l) => ({ topic: l.slice(0, l.indexOf(" ")), c: JSON.parse(l.slice(l.indexOf(" ") + 1)) as Record<string, unknown> }));
    assert.equal(configs.length, 6, lines);
    // Telemetry is not retained: the first sample within its 10 s interval.
    const payloads = new Map<string, string>();
    const payload = (topic: string) => {
      if (!payloads.has(topic)) payloads.set(topic, lab.subscribeOnce(topic, 30) ?? "");
      return payloads.get(topic) as string;
    };
    const jobs: { what: string; template: string; payload: string; expect: RegExp }[] = [];
    for (const { topic, c } of configs) {
      const kind = topic.split("/")[1] as string;
      const expect = kind === "sensor" ? /^\d+(\.\d+)?$/ : kind === "binary_sensor" ? /^OFF$/ : /^\d+\.\d+\.\d+/;
      jobs.push({ what: `${topic} value`, template: c.value_template as string, payload: payload(c.state_topic as string), expect });
      if (c.latest_version_template)
        jobs.push({
          what: `${topic} latest`,
          template: c.latest_version_template as string,
          payload: payload(c.latest_version_topic as string),
          expect,
        });
      const a = (c.availability as { topic: string; value_template: string }[])[0] as { topic: string; value_template: string };
      jobs.push({ what: `${topic} availability`, template: a.value_template, payload: payload(a.topic), expect: /^online$/ });
      assert.equal((c.device as { sw_version: string }).sw_version, JSON.parse(payload(`gate64/${lab.spec.deviceId}/state`)).firmware);
    }
    const r = spawnSync("python3", ["test/e2e/ha_render.py"], { input: JSON.stringify(jobs), encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const rendered = JSON.parse(r.stdout) as unknown[];
    const wrong = jobs.filter((j, i) => typeof rendered[i] !== "string" || !j.expect.test(rendered[i] as string));
    assert.deepEqual(
      wrong.map((j) => `${j.what}: ${JSON.stringify(rendered[jobs.indexOf(j)])}`),
      [],
    );
  });

  it("publishes its hardware inventory: the VM's NICs with MAC and driver, memory, and what reading it cost", (t) => {
    const inv = JSON.parse(lab.subscribeOnce(`gate64/${lab.spec.deviceId}/inventory`, 120) ?? "{}") as Inventory;
    const nics = inv.nics.map((n) => `${n.mac} ${n.driver}`);
    assert.ok(nics.includes(`${lab.spec.vm.lanMac} virtio_net`) && nics.includes(`${lab.spec.vm.wanMac} virtio_net`), nics.join("; "));
    assert.ok(Math.abs((inv.memoryBytes ?? 0) / 1024 ** 2 - lab.spec.vm.memoryMiB) < 128, String(inv.memoryBytes));
    assert.equal(inv.firmware, JSON.parse(lab.subscribeOnce(`gate64/${lab.spec.deviceId}/state`, 5) ?? "{}").firmware);
    t.diagnostic(`inventory cost on the box: ${JSON.stringify(inv.cost)}; ${hardwareLine(inv)}`);
  });

  it("serves /metrics that promtool accepts, with every metric the Grafana dashboard queries", () => {
    const text = lab.client.exec("curl", ["-sS", "--max-time", "10", "-g", `http://[${learned.resolver}]:9164/metrics`]);
    const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    // Jool's own table counts are gauges it resets on each atomic configuration: not served.
    assert.match(text, /^gate64_jool_stat_total\{stat="JSTAT_RECEIVED6"\} \d+$/m);
    assert.doesNotMatch(text, /JSTAT_(BIB_ENTRIES|SESSIONS)/);
    const dash = JSON.parse(readFileSync("docs/grafana/gate64.json", "utf8")) as {
      uid: string;
      schemaVersion: number;
      panels: { type: string; gridPos: object; targets: { expr: string }[] }[];
    };
    assert.ok(dash.uid && dash.schemaVersion >= 30 && dash.panels.length > 0, "a Grafana dashboard: uid, schemaVersion, panels");
    const used = new Set(dash.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\b(gate64|coredns)_[a-z0-9_]+/g) ?? [])));
    const served = new Set(text.split("\n").map((l) => /^[a-z0-9_]+/.exec(l)?.[0]));
    assert.deepEqual(
      [...used].filter((m) => !served.has(m)),
      [],
    );
  });

  // Last: it moves the box to another WAN address.
  it("follows a DHCP renumbering of the WAN: translation resumes from the new address by itself", async (t) => {
    const next = lab.spec.wan.box.replace(/\.\d+$/, ".3");
    const url = `http://www.${lab.spec.zone.name}/`;
    const fetchFrom = () => {
      try {
        return /from (\S+)/.exec(lab.client.exec("curl", ["-6", "-sS", "--max-time", "3", url]))?.[1] ?? "";
      } catch {
        return "";
      }
    };
    // A datagram from one fixed client port to the reflector, which answers with the address it
    // came from: Jool keeps that port's BIB entry (5 min for UDP) across the renumbering.
    const udpFrom = () => {
      const script = `const s=require("node:dgram").createSocket({type:"udp6",reuseAddr:true});
        s.bind(41234,()=>s.send("x",${lab.spec.internet.reflectorPort},"64:ff9b::${lab.spec.internet.web}"));
        s.on("message",(m)=>{console.log(String(m));process.exit(0)});setTimeout(()=>process.exit(1),3000);`;
      try {
        return lab.client.exec(process.execPath, ["-e", script]).trim().split(":")[0];
      } catch {
        return "";
      }
    };
    assert.equal(fetchFrom(), lab.spec.wan.box);
    assert.equal(udpFrom(), lab.spec.wan.box);
    const t0 = Date.now();
    lab.renumberWan(next);
    // The box renews at half the lease; the server refuses the old address and the box takes the
    // new one. The agent must follow within one health interval (30 s) of that, unasked.
    const limitMs = (lab.spec.wan.dhcpLeaseSec + 30 + 30) * 1000;
    let from = "";
    let lastGood = t0;
    while (Date.now() - t0 < limitMs && from !== next) {
      from = fetchFrom();
      if (from === lab.spec.wan.box) lastGood = Date.now();
      if (from !== next) await new Promise((r) => setTimeout(r, 1000));
    }
    assert.equal(from, next, `still translating from "${from}" ${(Date.now() - t0) / 1000} s after the renumbering`);
    // The same client port as before: its mapping on the gone address went with it.
    assert.equal(udpFrom(), next, "a client port mapped before the renumbering is still translated from the old address");
    // The guard followed too: the box's new address is its own, not a destination (it would answer).
    const ping = spawnSync("ip", ["netns", "exec", lab.client.name, "ping", "-6", "-c", "2", "-W", "2", `64:ff9b::${next}`]);
    assert.notEqual(ping.status, 0, "the box's new WAN address answered through the translator");
    t.diagnostic(
      `translation from ${next} ${((Date.now() - t0) / 1000).toFixed(1)} s after the reservation moved; ` +
        `gap since the last fetch from the old address ${((Date.now() - lastGood) / 1000).toFixed(1)} s`,
    );
    // The box reports the new address by itself (the fleet reconnects from it first).
    let reported: string | null | undefined;
    for (const until = Date.now() + 60_000; reported !== next && Date.now() < until; ) {
      const state = JSON.parse(lab.subscribeOnce(`gate64/${lab.spec.deviceId}/state`, 5) ?? "{}") as {
        addresses?: { wanIPv4: string | null };
      };
      reported = state.addresses?.wanIPv4;
      if (reported !== next) await new Promise((r) => setTimeout(r, 2000));
    }
    assert.equal(reported, next);
    const health = await lab.waitForHealth("ok", 120);
    t.diagnostic(`state reports ${next}; health ok at ${health.toFixed(0)} s of the lab`);
  });

  it("started its units: none failed", async () => {
    // 10-gate64.preset masks early units a router does not use; a unit that requires a masked
    // one fails to start ("Unit ... is masked") and is listed here.
    const con = await lab.console();
    try {
      const failed = await con.run("systemctl --no-pager list-units --all --failed --no-legend --plain");
      assert.equal(failed.code, 0, failed.output);
      assert.equal(failed.output, "", `failed units:\n${failed.output}`);
    } finally {
      con.close();
    }
  });

  it("starts systemd without the BPF LSM program or iptables: the kernel's other security modules stay", async () => {
    // The UKI's lsm= is the kernel's CONFIG_LSM without bpf (scripts/build-image): PID 1 then
    // attaches no RestrictFileSystems= program before its first unit (docs/benchmarks.md#boot).
    // Nor does it load ip_tables: the root has no x_tables (image/modules.txt).
    const con = await lab.console();
    try {
      const run = mustRun(con);
      const active = (await run("cat /sys/kernel/security/lsm")).split(",");
      assert.ok(!active.includes("bpf"), active.join(","));
      assert.ok(active.includes("apparmor") && active.includes("lockdown"), active.join(","));
      // The kernel log still holds PID 1's start (the check below is not looking at a rotated log).
      assert.match(await run("dmesg | grep -m1 'running in system mode'"), /systemd/);
      assert.equal(await run("dmesg | grep -c 'LSM BPF program attached' || true"), "0");
      assert.equal(await run("grep -c -E '^(ip_tables|x_tables) ' /proc/modules || true"), "0");
    } finally {
      con.close();
    }
  });

  it("coldplugs the serial consoles and leaves out the virtual ones", async () => {
    // The drop-in for systemd-udev-trigger.service: the ttys systemd's rules make device units of,
    // not the 64 virtual console devices nor their vcs devices (docs/benchmarks.md#boot).
    const con = await lab.console();
    try {
      const run = mustRun(con);
      // A device unit is systemd's record of udev's event for the port (the getty binds to it).
      assert.equal(await run("systemctl is-active dev-ttyS0.device serial-getty@ttyS0.service"), "active\nactive");
      // udev's rules (50-udev-default.rules) give virtual consoles and vcs devices the tty group;
      // a device udev never saw keeps devtmpfs's root.
      assert.equal(await run("stat -c %G:%a /dev/tty1 /dev/tty63 /dev/vcs1"), "root:600\nroot:600\nroot:600");
    } finally {
      con.close();
    }
  });

  it("grew /data into the rest of the disk after the agent's start, once for this disk", async () => {
    const con = await lab.console();
    try {
      const run = mustRun(con);
      // The lab's disk is the image's plus 512 MiB, all of it the data partition's (64 MiB before).
      const bytes = Number(await run("findmnt -bnvo SIZE /data"));
      assert.ok(bytes > 500 * 2 ** 20, `/data is ${bytes} bytes`);
      assert.equal(await run("cat /data/gate64/grown-disk-sectors"), await run("cat /sys/class/block/vda/size"));
      const chain = await run("systemd-analyze critical-chain gate64-agent.service");
      assert.doesNotMatch(chain, /repart|growfs|grow-data/, chain);
      // Recorded: running it again starts neither repart nor growfs.
      assert.equal(await run("/usr/lib/gate64/grow-data 2>&1"), "");
    } finally {
      con.close();
    }
  });

  it("spreads the NICs' receive work: the LAN's interrupts on CPU 0, the WAN's on CPU 1, RPS to the other", async () => {
    const con = await lab.console();
    try {
      const run = mustRun(con);
      assert.equal(await run("cat /sys/devices/system/cpu/online"), "0-1");
      // The virtio NICs' MSI-X vectors (the PCI device above the virtio function).
      const vectors = async (nic: string) => (await run(`ls /sys/class/net/${nic}/device/../msi_irqs`)).split(/\s+/);
      const [lanIrqs, wanIrqs] = [await vectors("lan"), await vectors("wan")];
      for (const [irqs, cpu] of [
        [lanIrqs, "0"],
        [wanIrqs, "1"],
      ] as const)
        for (const irq of irqs) assert.equal(await run(`cat /proc/irq/${irq}/smp_affinity_list`), cpu, `IRQ ${irq}`);
      assert.equal(Number.parseInt(await run("cat /sys/class/net/lan/queues/rx-0/rps_cpus"), 16), 2);
      assert.equal(Number.parseInt(await run("cat /sys/class/net/wan/queues/rx-0/rps_cpus"), 16), 1);
      // And the kernel does it: a TCP transfer through NAT64 raises the WAN's receive interrupts
      // on CPU 1 and receive softirqs on both CPUs.
      const wanRx = () => nicIrqs(run, "wan", "input");
      const netRx = async () => (await run("grep NET_RX /proc/softirqs")).split(/\s+/).slice(1, 3).map(Number);
      const [irq0, soft0] = [await wanRx(), await netRx()];
      lab.client.exec("iperf3", ["-6", "-c", `64:ff9b::${lab.spec.internet.iperf}`, "-t", "2", "-J"]);
      const [irq1, soft1] = [await wanRx(), await netRx()];
      const [on0, on1] = [0, 1].map((cpu) => (irq1[cpu] as number) - (irq0[cpu] as number));
      assert.ok((on1 as number) > 0 && on0 === 0, `WAN receive interrupts per CPU: ${irq0} -> ${irq1}`);
      for (const cpu of [0, 1])
        assert.ok((soft1[cpu] as number) > (soft0[cpu] as number), `NET_RX softirqs on CPU ${cpu}: ${soft0} -> ${soft1}`);
    } finally {
      con.close();
    }
  });

  it("reclaims the virtio NICs' sent buffers without a completion interrupt (modprobe.d)", async () => {
    const con = await lab.console();
    try {
      const run = mustRun(con);
      assert.equal(await run("cat /sys/module/virtio_net/parameters/napi_tx"), "N");
      // New connections through NAT64: many small packets out of the WAN, each of which took
      // about half an interrupt with completion interrupts on (docs/benchmarks.md#nat64).
      const wanTx = async () => {
        const [cpu0, cpu1] = await nicIrqs(run, "wan", "output");
        return { irqs: cpu0 + cpu1, packets: Number(await run("cat /sys/class/net/wan/statistics/tx_packets")) };
      };
      const start = await wanTx();
      const conn = connRate(lab, `64:ff9b::${lab.spec.internet.iperf}`, "2", "8");
      const end = await wanTx();
      const packets = end.packets - start.packets;
      assert.ok(conn.connections > 100 && packets > 4 * conn.connections, `${conn.connections} connections, ${packets} WAN packets`);
      assert.ok(end.irqs - start.irqs < packets / 20, `WAN completion interrupts ${start.irqs} -> ${end.irqs} for ${packets} packets`);
    } finally {
      con.close();
    }
  });

  it("counts Jool's tables for health, telemetry and /metrics from its session listing: the counts are Jool's", async (t) => {
    const con = await lab.console();
    try {
      const run = mustRun(con);
      // TCP sessions that stay (a closed one is kept 4 minutes), and UDP sockets that each talk to
      // three ports: three sessions on one BIB entry, where counting sessions would be wrong.
      const to = `64:ff9b::${lab.spec.internet.iperf}`;
      const conn = connRate(lab, to, "1", "4");
      lab.client.exec(process.execPath, [
        "-e",
        `const d = require("node:dgram"); for (let i = 0; i < 10; i++) { const s = d.createSocket("udp6");
         s.bind(() => { for (const p of [5000, 5001, 5002]) s.send("x", p, "${to}"); setTimeout(() => s.close(), 500); }); }`,
      ]);
      const table = async () => {
        const n = async (cmd: string) => Number(await run(`jool ${cmd} --numeric --csv --no-headers | wc -l`));
        const [s, b] = [await n("session display --tcp"), await n("bib display --tcp")];
        const [su, bu, si] = [await n("session display --udp"), await n("bib display --udp"), await n("session display --icmp")];
        return { tcp: { s, b }, udp: { s: su, b: bu }, all: s + su + si };
      };
      const t0 = await table();
      // Readers share a reading younger than their interval (at most the health round's 30 s):
      // past it, every reading the readers below use was taken after t0.
      await new Promise((r) => setTimeout(r, 31_000));
      // The counts are this test's subject, not the round's verdict: `gate64 health` exits 1 when a
      // critical probe failed (the checks above hold the box healthy), and the report still
      // carries the pool4 probe's counts. A probe that was not ok is named here.
      const asked = await con.run("gate64 health --json");
      const health = JSON.parse(asked.output) as { status: string; probes: { name: string; status: string; detail: string }[] };
      for (const p of health.probes.filter((x) => x.status !== "ok")) t.diagnostic(`health probe ${p.name} ${p.status}: ${p.detail}`);
      const telemetry = JSON.parse(lab.subscribeOnce(`gate64/${lab.spec.deviceId}/telemetry`, 20) ?? "{}") as { nat64Sessions?: number };
      const metrics = lab.client.exec("curl", ["-sS", "--max-time", "10", "-g", `http://[${learned.resolver}]:9164/metrics`]);
      const t1 = await table();
      // The table moves a little meanwhile (the health probe's sessions come, older ones expire).
      const within = (x: number, a: number, b: number, what: string) =>
        assert.ok(x >= Math.min(a, b) - 2 && x <= Math.max(a, b) + 2, `${what}: ${x}, Jool's table ${a} before and ${b} after`);
      assert.ok(t0.tcp.s >= conn.connections * 0.9, `${t0.tcp.s} TCP sessions after ${conn.connections} connections`);
      assert.ok(t0.udp.s >= t0.udp.b + 20, `UDP: ${t0.udp.s} sessions on ${t0.udp.b} BIB entries`);
      const pool4 = health.probes.find((p) => p.name === "pool4")?.detail ?? "";
      const used = (proto: string) => Number(new RegExp(`${proto} (\\d+)/`).exec(pool4)?.[1]);
      within(used("tcp"), t0.tcp.b, t1.tcp.b, `the pool4 probe's TCP BIB entries (${pool4})`);
      within(used("udp"), t0.udp.b, t1.udp.b, `the pool4 probe's UDP BIB entries (${pool4})`);
      const gauge = (proto: string) => Number(new RegExp(`^gate64_jool_sessions\\{protocol="${proto}"\\} (\\d+)$`, "m").exec(metrics)?.[1]);
      within(gauge("tcp"), t0.tcp.s, t1.tcp.s, "/metrics' TCP sessions");
      within(gauge("udp"), t0.udp.s, t1.udp.s, "/metrics' UDP sessions");
      within(telemetry.nat64Sessions ?? Number.NaN, t0.all, t1.all, "telemetry's sessions");
    } finally {
      con.close();
    }
  });

  // The benches' own measuring code, on this box with short settings, so that it cannot rot
  // (docs/benchmarks.md has the full runs).
  it("smoke-runs the agent and nat64 benches on this box (RSS, CLI start, apply steps; each path's rates) and the image bench", async () => {
    const con = await lab.console();
    try {
      await measureAgent(con, { board: "x86-64", rounds: 1, cycles: 2, idleSec: 5, revert: false });
      await measureNat64(lab, con, { rounds: 1, seconds: "1", connSeconds: "1" });
    } finally {
      con.close();
    }
    assert.deepEqual(missingFigures(), []);
    const image = spawnSync("node", ["--import", "tsx", "scripts/bench.ts", "image", "--board", "x86-64"], { encoding: "utf8" });
    assert.equal(image.status, 0, `${image.stdout}${image.stderr}`);
    assert.match(image.stdout, /"bench":"image"/);
  });
});
