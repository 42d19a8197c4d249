// The serial console of the booted image, through node-pty as a technician's terminal: log in,
// read the status, change a setting with commit-confirm, watch a bad config revert by itself,
// see Jool and CoreDNS repaired, cut the power during an apply, boot with the board's clock stopped
// and no NTP, and damage /data's filesystem: repaired, then beyond repair (memory in its place),
// then made anew by a factory reset.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SerialConsole } from "../../scripts/lab/console.js";
import { Lab } from "../../scripts/lab/lab.js";
import { waitFor } from "../../scripts/lab/netns.js";
import { endSession, startSession } from "../../scripts/lab/session.js";

const IMAGE = process.env.GATE64_IMAGE ?? "out/x86-64/disk.img";

describe("the serial console and the agent in the lab", { timeout: 25 * 60_000 }, () => {
  let lab: Lab;
  let con: SerialConsole;
  const web = () => lab.client.exec("curl", ["-6", "-sS", "--max-time", "10", `http://www.${lab.spec.zone.name}/`]);
  const tryWeb = () => {
    try {
      return web();
    } catch {
      return "";
    }
  };

  /** The broker's retained health is from before a power cut: this waits for the agent itself. */
  const agentAnswers = async (after: string) => {
    let reachable = false;
    for (const until = Date.now() + 240_000; !reachable && Date.now() < until; ) {
      reachable = (await con.run("gate64 status --json >/dev/null")).code !== 4;
      if (!reachable) await new Promise((r) => setTimeout(r, 3000));
    }
    assert.ok(reachable, `the agent did not come up after ${after}`);
  };

  before(async () => {
    assert.ok(existsSync(IMAGE), `${IMAGE} is missing`);
    // Shorter windows than the defaults so the suite waits less; the mechanism is the same.
    lab = new Lab({
      image: IMAGE,
      serial: "file",
      configOverrides: { health: { intervalSec: 10, applyVerifySec: 20, nat64Targets: ["198.51.100.80:80"] } },
    });
    con = await startSession(lab);
  });

  after(async () => {
    await endSession(lab, con);
  });

  it("gate64 status shows the device, revision and healthy probes", async () => {
    const r = await con.run("gate64 status");
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /device\s+lab-1/);
    assert.match(r.output, /health\s+ok/);
    assert.match(r.output, /ok\s+jool\s+instance default up, pool6 64:ff9b::\/96/);
    // The wrapper printed the agent's status file (daemon/status-file.ts); the Node CLI prints the
    // same lines (a probe's detail, such as a time, can change between the two: names and states).
    const node = await con.run("node /usr/lib/gate64/gate64.cjs status");
    const shape = (text: string) =>
      text
        .split("\n")
        .map((l) => (l.startsWith("  ") ? l.trim().split(/\s+/).slice(0, 2).join(" ") : l.replace(/up \d+ s/, "up N s").trimEnd()))
        .filter((l) => l !== "");
    assert.deepEqual(shape(r.output), shape(node.output));
    assert.match(await con.lastLine("ls /run/gate64/status.txt /run/gate64/status.ansi | wc -l"), /^2$/);
  });

  it("grew the data partition and its filesystem to the disk on first boot", async () => {
    const part = await con.run("lsblk -bno SIZE /dev/disk/by-partlabel/gate64-data");
    const fs = await con.run("df -B1 --output=size /data | tail -n1");
    assert.ok(Number(part.output.trim()) > 300 * 2 ** 20, `partition ${part.output}`);
    assert.ok(Number(fs.output.trim()) > 250 * 2 ** 20, `filesystem ${fs.output}`);
  });

  it("changes the upstream with apply --confirm, then confirms", async () => {
    const set = await con.run(`gate64 config set dns64.upstreams '["198.51.100.53:53"]' --confirm 120`, 120_000);
    assert.equal(set.code, 0, set.output);
    assert.match(set.output, /pending revision (\d+)/);
    const ok = await con.run("gate64 config confirm");
    assert.match(ok.output, /committed revision \d+/);
    const show = await con.run("gate64 config show --json");
    assert.match(show.output, /198\.51\.100\.53:53/);
    assert.match(web(), /gate64 lab web server/);
  });

  it("reverts by itself a valid config that breaks translation, and traffic comes back", async () => {
    const bad = await con.run(`gate64 config set dns64.upstreams '["198.51.100.99"]'`, 180_000);
    assert.equal(bad.code, 3, bad.output);
    assert.match(bad.output, /reverted revision \d+: probes failed for 20 s: .*upstream-dns/);
    const hist = await con.run("gate64 config history");
    assert.match(hist.output, /reverted/);
    // The revert restarted CoreDNS; its forwarder's first health check can lag its first answer.
    await waitFor("translation after the revert", () => /gate64 lab web server/.test(tryWeb()), 30_000);
  });

  it("repairs a removed Jool instance and a killed CoreDNS", async () => {
    await con.run("jool instance remove default");
    await con.run("systemctl kill -s KILL coredns.service");
    const until = Date.now() + 90_000;
    let last = "";
    while (Date.now() < until) {
      try {
        last = web();
        if (last.includes("gate64 lab web server")) break;
      } catch (err) {
        last = String(err);
      }
      await new Promise((r) => setTimeout(r, 3000));
    }
    assert.match(last, /gate64 lab web server/);
    const jool = await con.run("jool instance display --csv --no-headers");
    assert.match(jool.output, /default/);
  });

  it("commits a change that renders no file, and the fleet connection follows it", async () => {
    const on = await con.run("gate64 config set mqtt.remoteShell.enabled true");
    assert.match(on.output, /committed revision \d+/);
    const off = await con.run("gate64 config set mqtt.remoteShell.enabled false");
    assert.match(off.output, /committed revision \d+/);
    let shell: { enabled: boolean } | undefined;
    for (const until = Date.now() + 60_000; shell?.enabled !== false && Date.now() < until; ) {
      shell = (JSON.parse(lab.subscribeOnce(`gate64/${lab.spec.deviceId}/state`, 5) ?? "{}") as { shell?: { enabled: boolean } }).shell;
      if (shell?.enabled !== false) await new Promise((r) => setTimeout(r, 2000));
    }
    assert.equal(shell?.enabled, false);
  });

  it("announces a revert when a confirmation runs out: the fleet connection goes back too", async () => {
    const set = await con.run("gate64 config set mqtt.keepaliveSec 20 --confirm 10", 120_000);
    assert.match(set.output, /pending revision (\d+)/);
    await new Promise((r) => setTimeout(r, 20_000));
    const hist = await con.run("gate64 config history | tail -n 1");
    assert.match(hist.output, /reverted.*not confirmed within 10 s/);
    const log = await con.run("journalctl -u gate64-agent -o cat | grep -c 'broker settings or device id changed'");
    assert.ok(Number(log.output.trim()) >= 2, `reconnects: ${log.output}`);
  });

  it("keeps every NAT64 session across an agent restart, and the watchdog does not depend on the health interval", async () => {
    assert.match((await con.run("gate64 config set health.intervalSec 120")).output, /committed revision \d+/);
    const restarts = async () => (await con.run("systemctl show -p NRestarts --value gate64-agent")).output.trim();
    const before = await restarts();
    // A TCP flow through the translator that spans the restart.
    const flow = lab.client.spawn("iperf3", ["-6", "-c", `64:ff9b::${lab.spec.internet.iperf}`, "-t", "40", "-i", "2", "-b", "20M", "-J"]);
    let json = "";
    flow.child.stdout?.setEncoding("utf8").on("data", (d: string) => (json += d));
    const done = new Promise((r) => flow.child.once("exit", r));
    await new Promise((r) => setTimeout(r, 8000));
    const sessionsBefore = (await con.run("jool session display --tcp --numeric --csv --no-headers | grep -c ESTABLISHED")).output.trim();
    // A compile cache an older firmware left: the agent removes it when it starts.
    await con.run("mkdir -p /data/gate64/node-cache/0.9.0/5f1c2a9e && echo code > /data/gate64/node-cache/0.9.0/5f1c2a9e/entry");
    await con.run("systemctl restart gate64-agent", 120_000);
    await done;
    const result = JSON.parse(json) as { error?: string; intervals: { sum: { bytes: number } }[] };
    assert.equal(result.error, undefined, result.error);
    const empty = result.intervals.filter((i) => i.sum.bytes === 0).length;
    assert.equal(empty, 0, `${empty} of ${result.intervals.length} 2-second intervals moved no data`);
    assert.ok(Number(sessionsBefore) >= 1, `sessions before: ${sessionsBefore}`);
    // 100 s later, past WatchdogSec (90) with no health cycle due before 120: not killed.
    await new Promise((r) => setTimeout(r, 100_000));
    assert.equal(await restarts(), before, "systemd restarted the agent (watchdog)");
    // The caches left are this firmware's, named for its version, which the agent and the CLI used.
    const caches = await con.lastLine("ls /data/gate64/node-cache | tr '\\n' ' '");
    assert.equal(caches.trim(), (await con.lastLine("cat /usr/lib/gate64/VERSION")).trim());
    assert.match(await con.lastLine("ls /data/gate64/node-cache/* | wc -l"), /^[1-9]\d*$/);
    assert.match((await con.run("gate64 config set health.intervalSec 10")).output, /committed revision \d+/);
  });

  it("runs on, reachable and saying why, when config.json cannot be put into effect at boot", async () => {
    // A killed agent's status file stays behind; `gate64 status` does not print it as current.
    const killed = await con.run("systemctl kill -s KILL gate64-agent; sleep 0.2; gate64 status");
    assert.equal(killed.code, 4, killed.output);
    assert.match(killed.output, /cannot reach the agent/);
    // systemd starts it again (Restart=always); the restart below replaces that start.
    await con.run("cp /data/gate64/config.json /data/gate64/config.good");
    // Valid to the schema, but the LAN NIC does not exist: its sysctl fails at boot.
    await con.run(`sed -i 's/"name": "lan"/"name": "nolan0"/' /data/gate64/config.json && grep -c nolan0 /data/gate64/config.json`);
    // The agent waits 60 s for nolan0 to appear before it tries.
    await con.run("systemctl restart gate64-agent", 180_000);
    let status = "";
    for (const until = Date.now() + 180_000; !/boot-apply/.test(status) && Date.now() < until; ) {
      status = (await con.run("gate64 status")).output;
      if (!/boot-apply/.test(status)) await new Promise((r) => setTimeout(r, 3000));
    }
    assert.match(status, /failed\s+boot-apply\s+\/data\/gate64\/config\.json: sysctl: .*nolan0.*; running revision \d+ instead/);
    assert.match(web(), /gate64 lab web server/, "the last good configuration translates");
    assert.equal(lab.subscribeOnce(`gate64/${lab.spec.deviceId}/availability`, 10), "ready", "the fleet can reach it");
    // 30 s after it started the agent tries config.json again: the same failure, reverted in the
    // one service it reached (sysctl, first in the order), and the fallback translates on.
    const history = async () => (await con.run("gate64 config history")).output;
    await waitFor("the first boot retry", async () => /reverted\s+gate64-agent: boot retry 1 of 7/.test(await history()), 120_000);
    assert.match(web(), /gate64 lab web server/, "the fallback translates after the failed retry");
    // The probe's detail says so from the next health round on (health.intervalSec: 10 here).
    const tried = /; try [12] of 7 reverted: install failed: sysctl: .*nolan0.* \(next in (60|120) s\)/;
    await waitFor("the try in the health report", async () => tried.test((await con.run("gate64 status")).output), 60_000);
    await con.run("mv /data/gate64/config.good /data/gate64/config.json && systemctl restart gate64-agent", 120_000);
    await lab.waitForHealth("ok", 180);
  });

  it("syncs time from the NTP server DHCP names, logs at the configured level, loads every kept module", async () => {
    const ntp = await con.run("timedatectl show-timesync --property=LinkNTPServers --value");
    assert.match(ntp.output, new RegExp(lab.spec.wan.gateway.replace(/\./g, "\\.")));
    // Synced from it: the lab's server (scripts/lab/ntpserver.mjs) answered.
    await waitFor(
      "the clock synced from the lab's NTP server",
      async () => (await con.lastLine("timedatectl show --property=NTPSynchronized --value")) === "yes",
      120_000,
    );
    assert.match((await con.run("timedatectl timesync-status")).output, /Server: 198\.51\.100\.1\b[\s\S]*Packet count: [1-9]/);
    assert.match((await con.run("gate64 config set logging.level debug")).output, /committed revision \d+/);
    await new Promise((r) => setTimeout(r, 25_000));
    const debug = await con.run("journalctl -u gate64-agent -p debug..debug -o cat | grep -c 'health ok:'");
    assert.ok(Number(debug.output.trim()) >= 1, debug.output);
    assert.match((await con.run("gate64 config set logging.level info")).output, /committed revision \d+/);
    const unknown = await con.lastLine("journalctl -k -b -o cat | grep -c 'Unknown symbol'");
    assert.equal(unknown, "0", "a pruned module is missing a dependency");
  });

  it("boots to a complete config after the power is cut during an apply", async () => {
    con.write(`gate64 config set dns64.cache.maxTtlSec 600\r`);
    // Cut a few seconds in: the CLI has started and the agent is applying (the command prints
    // nothing until it ends, and the echo is off). Any moment must boot old or new.
    await new Promise((r) => setTimeout(r, 4000));
    con.close();
    await lab.powerCycle();
    await lab.waitForHealth("ok", 300);
    con = await lab.console();
    await agentAnswers("the power cut");
    const show = await con.run("gate64 config show --json");
    const config = JSON.parse(show.output.slice(show.output.indexOf("{")));
    assert.deepEqual(config.dns64.upstreams, ["198.51.100.53:53"], "the last committed upstream survives");
    assert.ok(config.dns64.cache === undefined || config.dns64.cache.maxTtlSec === 600, "old or new, never a mix");
    // An agent that answers has applied its config; translation also needs the WAN's DHCP lease
    // (pool4 is the WAN address), which may come a little later in this boot.
    await waitFor("translation after the power cut", () => /gate64 lab web server/.test(tryWeb()), 90_000);
  });

  it("boots a board whose clock stopped with the time it last knew, while no NTP server answers", async () => {
    // The clock synced above, and timesyncd keeps its record of it on /data (docs/operations.md#the-clock).
    const saved = Number(await con.lastLine("stat -c %Y /data/gate64/timesync/clock"));
    const built = Number(await con.lastLine("stat -c %Y /usr/lib/clock-epoch"));
    assert.ok(saved > built, `the last sync (${saved}) is after the build (${built}): the floor below is the sync's`);
    lab.internet.exec(
      "nft",
      ["-f", "-"],
      "table inet lab_no_ntp {\n  chain in { type filter hook input priority 0; udp dport 123 drop; }\n}\n",
    );
    try {
      con.close();
      await lab.powerCycle({ rtcBase: "2001-01-01T00:00:00" });
      con = await lab.console();
      const now = Number(await con.lastLine("date +%s"));
      assert.ok(now >= saved, `the clock reads ${now}, before the last sync's ${saved}`);
      // The kernel read 2001 from the board's clock; PID 1 moved it to the build's time first.
      assert.match(
        (await con.run("journalctl -b -o cat | grep -m1 'System time advanced'")).output,
        /System time advanced to timestamp on \/usr\/lib\/clock-epoch/,
      );
      assert.equal(await con.lastLine("timedatectl show --property=NTPSynchronized --value"), "no");
    } finally {
      lab.internet.exec("nft", ["delete", "table", "inet", "lab_no_ntp"]);
    }
    await agentAnswers("a boot with the clock stopped");
    await waitFor(
      "the clock synced again once the NTP server answers",
      async () => (await con.lastLine("timedatectl show --property=NTPSynchronized --value")) === "yes",
      180_000,
    );
  });

  it("reboots by itself after a kernel panic (panic=10) and comes back healthy", async () => {
    assert.equal((await con.run("cat /proc/sys/kernel/panic")).output.trim(), "10");
    const mark = con.screen.length;
    const resets = lab.guestResets;
    con.write("echo c > /proc/sysrq-trigger\r");
    await con.expect(/Kernel panic - not syncing/, 60_000, mark);
    await con.expect(/Rebooting in 10 seconds/, 30_000, mark);
    // The box resets itself: the reset comes from the guest (QEMU's SHUTDOWN reason
    // "guest-reset"), nobody power-cycled it; the lab then starts QEMU again.
    await waitFor("the box's own reset", () => lab.guestResets === resets + 1, 120_000);
    con.close();
    con = await lab.console();
    const uptime = Number((await con.run("cut -d' ' -f1 /proc/uptime")).output.trim());
    assert.ok(uptime < 400, `uptime ${uptime} s: this is a new boot`);
    // Nothing to provision at this boot: no Node before the console, and the login above used the
    // shadow an earlier boot rendered onto /data.
    const ran = await con.lastLine("systemctl show -P ConditionResult gate64-provision.service");
    assert.equal(ran, "no");
    let health = "";
    for (const until = Date.now() + 240_000; health !== "ok" && Date.now() < until; ) {
      const s = await con.run("gate64 status --json");
      health = s.code === 0 ? (JSON.parse(s.output.slice(s.output.indexOf("{"))) as { health: string }).health : "";
      if (health !== "ok") await new Promise((r) => setTimeout(r, 5000));
    }
    assert.equal(health, "ok");
    assert.match(web(), /gate64 lab web server/);
    // networkd configured the links at boot from the files kept on /data, and the agent's boot
    // apply, which found them in effect, did not reconfigure them (the WAN kept its DHCP lease).
    const networkd = (await con.run("journalctl -b -u systemd-networkd -o cat --no-pager")).output;
    assert.match(networkd, /lan: Configuring with \/data\/gate64\/network\/gate64-20-lan\.network/);
    assert.match(networkd, /wan: DHCPv4 address 198\.51\.100\.\d+/);
    assert.doesNotMatch(networkd, /Reconfiguring with|DHCP lease lost/);
    // The ruleset, Jool and CoreDNS came up from the files kept on /data before the agent's start
    // (gate64-datapath.service, coredns.service), and its boot apply found CoreDNS running.
    const show = async (unit: string, prop: string) => Number(await con.lastLine(`systemctl show -P ${prop} ${unit}`));
    const datapathUp = await show("gate64-datapath.service", "ActiveEnterTimestampMonotonic");
    assert.ok(datapathUp > 0, "gate64-datapath ran at this boot");
    assert.equal(await con.lastLine("systemctl show -P Result gate64-datapath.service"), "success");
    assert.ok(datapathUp <= (await show("gate64-agent.service", "ExecMainStartTimestampMonotonic")), "the datapath before the agent");
    const applied = await con.lastLine("journalctl -b -u gate64-agent -o cat --no-pager | grep 'applied revision'");
    assert.match(applied, /applied revision \d+: /);
    assert.doesNotMatch(applied, /coredns|network/);
    // Nor the ruleset the datapath unit loaded, unless the render moved (a WAN lease not there yet
    // moves Jool's pool4 too); the unit's record of it is said once.
    if (!/jool/.test(applied)) assert.doesNotMatch(applied, /firewall/);
    assert.equal((await con.run("test -e /run/gate64/datapath.nft")).code, 1);
    assert.equal(await con.lastLine("journalctl -b -u coredns -o cat --no-pager | grep -c '^Started coredns'"), "1");
  });

  it("translates with the agent stopped: the datapath from the files kept on /data, as at boot", async () => {
    await con.run("systemctl stop gate64-agent");
    // The kernel's state as a boot finds it: the closed ruleset, no Jool instance, no CoreDNS.
    await con.run("jool instance remove default; nft -f /usr/share/gate64/nftables-closed.nft; systemctl stop coredns");
    await waitFor("no translation", () => tryWeb() === "", 30_000);
    const up = await con.run("systemctl restart gate64-datapath.service && systemctl start coredns.service");
    assert.equal(up.code, 0, up.output);
    // DNS64 (the client resolves the name through CoreDNS) and NAT64, with no agent running.
    await waitFor("translation without the agent", () => /gate64 lab web server/.test(tryWeb()), 30_000);
    assert.equal(await con.lastLine("systemctl is-active gate64-agent"), "inactive");
    assert.match((await con.run("jool instance display --csv --no-headers")).output, /default/);
    await con.run("systemctl start gate64-agent", 120_000);
    await lab.waitForHealth("ok", 120);
  });

  /** The lab's provision.json onto the ESP, as a technician brings a box back onto its fleet
   * (docs/operations.md), in pieces: a terminal line holds at most 4 KiB. */
  const provisionFileOnEsp = async () => {
    const b64 = readFileSync(join(lab.dir, "provision.json")).toString("base64");
    await con.run("rm -f /tmp/provision.b64");
    for (let i = 0; i < b64.length; i += 800) await con.run(`printf '%s' '${b64.slice(i, i + 800)}' >> /tmp/provision.b64`);
    assert.equal((await con.run("base64 -d /tmp/provision.b64 > /efi/gate64/provision.json && sync")).code, 0);
  };
  /** Zeroes blocks of the data partition, as a card that lost them; `at` in bytes, `bytes` long. */
  const zeroData = async (at: number, bytes: number) => {
    const dd = await con.run(
      `dd if=/dev/zero of=/dev/disk/by-partlabel/gate64-data bs=${bytes} count=1 seek=${at / bytes} conv=fsync status=none`,
    );
    assert.equal(dd.code, 0, dd.output);
  };
  // The serial log's end before a boot, and what the boot wrote after it.
  const serialMark = () => readFileSync(lab.serialLog, "utf8").length;
  const serialSince = (offset: number) => readFileSync(lab.serialLog, "utf8").slice(offset);

  it("repairs /data when its superblock is lost: the box keeps its identity and settings", async () => {
    const identity = await con.lastLine("cat /data/gate64/identity.json");
    const config = await con.lastLine("sha256sum /data/gate64/config.json");
    // The primary superblock zeroed: the kernel finds no ext4 there; e2fsck finds a backup.
    await zeroData(0, 4096);
    con.close();
    const since = Date.now();
    const logAt = serialMark();
    await lab.powerCycle();
    await lab.waitForHealth("ok", 400, since);
    con = await lab.console();
    assert.match(serialSince(logAt), /gate64: \/data did not mount; e2fsck repaired its filesystem \(exit [12]\)/);
    assert.equal(await con.lastLine("findmnt -no FSTYPE,LABEL /data | tr -s ' '"), "ext4 gate64-data");
    assert.equal(await con.lastLine("cat /data/gate64/identity.json"), identity);
    assert.equal(await con.lastLine("sha256sum /data/gate64/config.json"), config);
    // Nothing to provision: the identity, the console's hash and the stamp were all still there.
    assert.equal(await con.lastLine("systemctl show -P ConditionResult gate64-provision.service"), "no");
    assert.equal(await con.lastLine("systemctl is-system-running"), "running");
  });

  it("keeps translating when /data cannot be repaired: memory in its place, provisioned again from the ESP", async () => {
    await provisionFileOnEsp();
    // Every superblock zeroed: the primary and each backup e2fsck looks for (sparse_super puts
    // them in groups 1 and the powers of 3, 5 and 7; e2fsck 1.47 finds one beyond group 1).
    const bs = Number(await con.lastLine("stat -f -c %S /data"));
    assert.ok(bs === 1024 || bs === 4096, `block size ${bs}`);
    const sectors = Number(await con.lastLine("cat /sys/class/block/$(basename $(readlink -f /dev/disk/by-partlabel/gate64-data))/size"));
    const first = bs === 1024 ? 1 : 0;
    const groups = Math.ceil(((sectors * 512) / bs - first) / (8 * bs));
    const backups = new Set([1]);
    for (const base of [3, 5, 7]) for (let g = base; g < groups; g *= base) backups.add(g);
    assert.ok(groups > 9 && backups.size >= 5, `${groups} groups, backups in ${[...backups]}`);
    await zeroData(0, 4096);
    for (const g of backups) await zeroData((first + g * 8 * bs) * bs, bs);
    con.close();
    const since = Date.now();
    const logAt = serialMark();
    await lab.powerCycle();
    await lab.waitForHealth("degraded", 400, since);
    con = await lab.console();
    assert.match(serialSince(logAt), /gate64: \/data did not mount; it is in memory until the next boot/);
    assert.doesNotMatch(serialSince(logAt), /e2fsck repaired/);
    assert.equal(await con.lastLine("findmnt -no FSTYPE /data"), "tmpfs");
    assert.equal(await con.lastLine("systemctl is-active gate64-data-fallback.service"), "active");
    // No unit failed: systemd takes the memory for /data's mount once it is there.
    assert.equal(await con.lastLine("systemctl is-system-running"), "running");
    const status = await con.run("gate64 status");
    assert.match(status.output, /device\s+lab-1/);
    assert.match(status.output, /degraded\s+data\s+\/data is in memory: its partition did not mount at boot/);
    await waitFor("translation with /data in memory", () => /gate64 lab web server/.test(tryWeb()), 90_000);
  });

  // Last: it leaves the box freshly reset.
  it("a factory reset with /data in memory makes its filesystem anew, and the box provisions onto it", async () => {
    await provisionFileOnEsp();
    const logAt = serialMark();
    const since = Date.now();
    const r = await con.run("gate64 factory-reset --full --yes");
    assert.match(r.output, /factory reset \(full\) at the next boot; rebooting/);
    con.close();
    await lab.waitForHealth("ok", 400, since);
    con = await lab.console();
    assert.match(serialSince(logAt), /\/data cannot be repaired and a factory reset is asked for: making its filesystem anew/);
    assert.equal(await con.lastLine("findmnt -no FSTYPE,LABEL /data | tr -s ' '"), "ext4 gate64-data");
    assert.equal(await con.lastLine("test -e /efi/gate64/factory-reset; echo $?"), "1", "the reset request is gone from the ESP");
    const status = await con.run("gate64 status");
    assert.match(status.output, /device\s+lab-1/);
    assert.match(status.output, /health\s+ok/);
    assert.match(web(), /gate64 lab web server/);
  });
});
