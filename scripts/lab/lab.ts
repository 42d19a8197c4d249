// The QEMU lab: the built image booted under TCG with its LAN on an IPv6-only client namespace,
// its WAN on an IPv4-only "internet" namespace (web, DNS, iperf3) and a broker namespace with
// mosquitto over TLS. Used by `npm run lab`, the end-to-end tests and the benchmarks.
// Every namespace and process is created here and removed by stop().
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BoardProfile, loadBoard } from "../board.js";
import { Broker, writeCredentials } from "./broker.js";
import { SerialConsole } from "./console.js";
import { editEsp } from "./disk.js";
import { type Daemon, link, Namespace, sh, waitFor } from "./netns.js";
import { writeNsdConf } from "./nsd.js";
import { ShutdownWatch } from "./qmp.js";

export interface LabSpec {
  boxConfig: string;
  deviceId: string;
  vm: { memoryMiB: number; cpus: number; lanMac: string; wanMac: string };
  wan: { prefixLength: number; gateway: string; box: string; dhcpLeaseSec: number };
  internet: { addresses: string[]; dns: string; web: string; iperf: string; reflectorPort: number };
  broker: { address: string; port: number };
  zone: { name: string; records: string[] };
}

export const LAB_SPEC: LabSpec = JSON.parse(readFileSync(resolve(import.meta.dirname, "lab.json"), "utf8")) as LabSpec;

/** The lab's operator account (docs/examples/mosquitto.acl). */
export const OPERATOR = "op_admin";

export interface LabOptions {
  /** out/<board>/disk.img or disk.qcow2. */
  image: string;
  /** image/boards/<name>: which QEMU, machine, CPU and firmware boot it ("x86-64" by default). */
  board?: string;
  /** "stdio": the serial console on this terminal (npm run lab); "file": logged to serial.log. */
  serial: "stdio" | "file";
  log?: (line: string) => void;
  /** Extra provisioning fields. */
  provision?: Record<string, unknown>;
  /** Top-level sections merged over the lab's box config (tests shorten health windows). */
  configOverrides?: Record<string, unknown>;
  /**
   * "single" (the default) emulates both vCPUs on one host thread. With one thread per vCPU, TCG
   * loses races against the guest kernel patching its own code (static keys flip when netfilter
   * hooks come and go, when the last RPS mask empties or the first fills, when the first socket
   * with receive timestamps opens or the last closes): "Oops: int3" and a panic in 1 of a few
   * boots here. Benchmarks that measure the VM's throughput ask for "multi" and hold those keys
   * still while they measure (bench/nat64.ts).
   */
  tcgThreads?: "single" | "multi";
}

export class Lab {
  readonly dir = mkdtempSync(join(tmpdir(), "gate64-lab-"));
  readonly spec = LAB_SPEC;
  readonly mqttPassword = randomBytes(12).toString("hex");
  readonly operatorPassword = randomBytes(12).toString("hex");
  /** A fresh console password per lab run; only its hash goes into the image's provisioning. */
  readonly consolePassword = randomBytes(9).toString("base64url");
  vm!: Namespace;
  client!: Namespace;
  internet!: Namespace;
  brokerNs!: Namespace;
  broker!: Broker;
  qemu: ChildProcess | null = null;
  private dhcp: Daemon | null = null;
  qemuStartedAt = 0;
  /** How many times the box asked for a reset (a reboot, a panic) and the lab started it again. */
  guestResets = 0;
  /** Called when the VM ends for good: a poweroff from inside, or QEMU dying. */
  onPowerOff: (() => void) | null = null;
  /** Each time QEMU ended without the lab ending it: how, for a test's failure message. */
  private readonly qemuEnds: string[] = [];
  /** Set while the lab itself ends QEMU (stop, a power cut, a poweroff before a start). */
  private ending = false;
  private daemons: Daemon[] = [];

  readonly board: BoardProfile;

  constructor(readonly opts: LabOptions) {
    this.board = loadBoard(opts.board ?? "x86-64");
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  get serialSocket(): string {
    return join(this.dir, "serial.sock");
  }

  get serialLog(): string {
    return join(this.dir, "serial.log");
  }

  async start(): Promise<void> {
    if (!existsSync(this.opts.image)) throw new Error(`${this.opts.image} does not exist: run npm run image first`);
    this.log(`lab: namespaces, bridges and taps (work dir ${this.dir})`);
    this.createNetwork();
    this.log("lab: internet (web, DNS, iperf3) and broker (mosquitto over TLS)");
    await this.startInternet();
    await this.startBroker();
    this.log("lab: disk copy with provisioning on its EFI partition");
    const disk = this.prepareDisk();
    this.log(`lab: booting the ${this.board.name} image under ${this.board.lab.qemu} (TCG, UEFI)`);
    this.startQemu(disk);
  }

  private createNetwork(): void {
    const s = this.spec;
    this.vm = Namespace.create("labvm");
    this.client = Namespace.create("lablan");
    this.internet = Namespace.create("labinet");
    this.brokerNs = Namespace.create("labbrk");
    for (const br of ["br-lan", "br-wan"]) {
      this.vm.ip("link", "add", br, "type", "bridge");
      this.vm.ip("link", "set", br, "up");
    }
    for (const [tap, br] of [
      ["tap-lan", "br-lan"],
      ["tap-wan", "br-wan"],
    ] as const) {
      this.vm.ip("tuntap", "add", tap, "mode", "tap");
      this.vm.ip("link", "set", tap, "master", br, "up");
    }
    link(this.vm, "v-lan", this.client, "eth0");
    link(this.vm, "v-inet", this.internet, "eth0");
    link(this.vm, "v-brk", this.brokerNs, "eth0");
    this.vm.ip("link", "set", "v-lan", "master", "br-lan");
    this.vm.ip("link", "set", "v-inet", "master", "br-wan");
    this.vm.ip("link", "set", "v-brk", "master", "br-wan");
    // The client is IPv6-only: no IPv4 address at all; it configures itself from the box's RAs.
    this.client.exec("sysctl", ["-q", "-w", "net.ipv6.conf.eth0.accept_ra=1", "net.ipv6.conf.eth0.autoconf=1"]);
    for (const a of s.internet.addresses) this.internet.ip("addr", "add", `${a}/${s.wan.prefixLength}`, "dev", "eth0");
    // The internet is IPv4-only.
    this.internet.exec("sysctl", ["-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"]);
    this.brokerNs.ip("addr", "add", `${s.broker.address}/${s.wan.prefixLength}`, "dev", "eth0");
  }

  private spawnIn(ns: Namespace, cmd: string, args: string[]): Daemon {
    const d = ns.spawn(cmd, args);
    this.daemons.push(d);
    return d;
  }

  private async startInternet(): Promise<void> {
    const s = this.spec;
    const zone = [
      `$ORIGIN ${s.zone.name}.`,
      "$TTL 300",
      "@ SOA ns hostmaster 1 3600 600 86400 300",
      "@ NS ns",
      `ns A ${s.internet.dns}`,
      ...s.zone.records,
    ].join("\n");
    writeFileSync(join(this.dir, "lab.zone"), `${zone}\n`);
    const nsdConf = writeNsdConf(this.dir, { address: s.internet.dns }, [{ name: s.zone.name, file: "lab.zone" }]);
    this.spawnIn(this.internet, "nsd", ["-d", "-c", nsdConf]);
    this.spawnIn(this.internet, process.execPath, [resolve(import.meta.dirname, "webserver.mjs"), s.internet.web, "80"]);
    this.spawnIn(this.internet, "iperf3", ["-s", "-B", s.internet.iperf]);
    this.spawnIn(this.internet, process.execPath, [
      resolve(import.meta.dirname, "reflector.mjs"),
      s.internet.web,
      String(s.internet.reflectorPort),
    ]);
    this.spawnIn(this.internet, process.execPath, [resolve(import.meta.dirname, "ntpserver.mjs"), s.wan.gateway]);
    this.startDhcp();
    await waitFor(
      "lab DNS",
      () => this.internet.exec("dig", [`@${s.internet.dns}`, `www.${s.zone.name}`, "+short"]).trim() === s.internet.web,
    );
    await waitFor("lab web", () => this.internet.exec("curl", ["-sf", `http://${s.internet.web}/`]).includes("gate64 lab"));
  }

  private get dhcpHosts(): string {
    return join(this.dir, "dhcp-hosts");
  }

  /** The WAN's DHCP server: one reservation, the box's WAN MAC -> wan.box, short leases. */
  private startDhcp(): void {
    const s = this.spec;
    writeFileSync(this.dhcpHosts, `${s.vm.wanMac},${s.wan.box}\n`);
    this.dhcp = this.spawnIn(this.internet, "dnsmasq", [
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--port=0",
      "--user=root",
      "--pid-file=",
      "--interface=eth0",
      `--dhcp-range=${s.wan.gateway},static,255.255.255.0,${s.wan.dhcpLeaseSec}`,
      `--dhcp-hostsfile=${this.dhcpHosts}`,
      `--dhcp-leasefile=${join(this.dir, "dhcp-leases")}`,
      `--dhcp-option=option:router,${s.wan.gateway}`,
      `--dhcp-option=option:dns-server,${s.internet.dns}`,
      `--dhcp-option=option:ntp-server,${s.wan.gateway}`,
      "--dhcp-authoritative",
    ]);
  }

  /**
   * Moves the box's reservation to another address. The box learns it when it renews (half the
   * lease): the server refuses the old address and the box asks again.
   */
  renumberWan(address: string): void {
    writeFileSync(this.dhcpHosts, `${this.spec.vm.wanMac},${address}\n`);
    this.dhcp?.child.kill("SIGHUP");
  }

  private async startBroker(): Promise<void> {
    const s = this.spec;
    this.broker = new Broker({
      dir: join(this.dir, "broker"),
      address: s.broker.address,
      port: s.broker.port,
      tls: true,
      users: { [s.deviceId]: this.mqttPassword, [OPERATOR]: this.operatorPassword },
      ns: this.brokerNs,
    });
    await this.broker.start();
    writeCredentials(join(this.dir, "operator.credentials"), OPERATOR, this.operatorPassword);
    writeFileSync(
      this.operatorConfig,
      JSON.stringify({ url: this.broker.url, ca: this.broker.ca, credentialsFile: join(this.dir, "operator.credentials") }),
    );
    await waitFor("lab broker", () => this.subscribeOnce("$SYS/broker/version", 2) !== null);
  }

  private fleetArgs(args: string[]): string[] {
    const cli = resolve(import.meta.dirname, "../../out/agent/gate64.cjs");
    return ["netns", "exec", this.brokerNs.name, process.execPath, cli, "fleet", ...args, "--fleet", this.operatorConfig];
  }

  /** Runs the fleet CLI (the built bundle) as the operator, next to the broker. */
  fleet(...args: string[]): { code: number | null; out: string } {
    const r = spawnSync("ip", this.fleetArgs(args), { encoding: "utf8" });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  }

  /** The same for a long command (a fleet update): the event loop runs on while it does. */
  fleetAsync(...args: string[]): Promise<{ code: number | null; out: string }> {
    const child = spawn("ip", this.fleetArgs(args), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d;
    });
    return new Promise((r) => child.on("close", (code) => r({ code, out })));
  }

  /** The operator config for `gate64 fleet --fleet FILE` against the lab broker. */
  get operatorConfig(): string {
    return join(this.dir, "fleet.json");
  }

  /** The operator's view: one message from a topic on the lab broker, or null. */
  subscribeOnce(topic: string, timeoutSec: number): string | null {
    try {
      const out = this.brokerNs.exec("mosquitto_sub", [...this.operatorArgs(), "-t", topic, "-C", "1", "-W", String(timeoutSec)]);
      return out.trim();
    } catch {
      return null;
    }
  }

  operatorArgs(): string[] {
    const s = this.spec;
    return ["-h", s.broker.address, "-p", String(s.broker.port), "--cafile", this.broker.ca, "-u", OPERATOR, "-P", this.operatorPassword];
  }

  /** The lab's copy of the image (raw or qcow2, as given). */
  get disk(): string {
    return join(this.dir, this.opts.image.endsWith(".qcow2") ? "disk.qcow2" : "disk.img");
  }

  private prepareDisk(): string {
    const disk = this.disk;
    execFileSync("cp", ["--sparse=always", this.opts.image, disk]);
    // A disk larger than the image, as a real board's is: the data partition grows into the rest.
    // 512 MiB more: /data holds a downloaded update bundle (about 79 MB) next to the configuration.
    if (disk.endsWith(".qcow2")) execFileSync("qemu-img", ["resize", "-q", "-f", "qcow2", disk, "+512M"]);
    else execFileSync("truncate", ["-s", "+512M", disk]);
    const base = JSON.parse(readFileSync(this.spec.boxConfig, "utf8")) as Record<string, unknown>;
    const config = { ...base, ...this.opts.configOverrides };
    const provision = {
      deviceId: this.spec.deviceId,
      config,
      mqttCredentials: { username: this.spec.deviceId, password: this.mqttPassword },
      mqttCa: readFileSync(this.broker.ca, "utf8"),
      consolePasswordHash: sh("openssl", ["passwd", "-6", "-stdin"], this.consolePassword).trim(),
      ...this.opts.provision,
    };
    writeFileSync(join(this.dir, "provision.json"), JSON.stringify(provision, null, 2));
    editEsp(disk, (esp) => sh("mcopy", ["-o", "-i", esp, join(this.dir, "provision.json"), "::gate64/provision.json"]));
    copyFileSync(this.board.lab.firmwareVars, join(this.dir, "efivars.fd"));
    return disk;
  }

  /**
   * Pulls the power: QEMU is killed outright and started again on the same disk. `rtcBase`
   * (QEMU's `-rtc base=`, e.g. "2001-01-01T00:00:00") sets the date the board's clock reads at
   * this power-on: a board whose clock did not run while the power was off.
   */
  async powerCycle(opts: { rtcBase?: string } = {}): Promise<void> {
    const q = this.qemu;
    if (q && q.exitCode === null) {
      const exited = new Promise((r) => q.once("exit", r));
      this.ending = true;
      q.kill("SIGKILL");
      await exited.finally(() => {
        this.ending = false;
      });
    }
    this.startQemu(this.disk, opts.rtcBase);
  }

  private startQemu(disk: string, rtcBase?: string): void {
    const v = this.spec.vm;
    const q = this.board.lab;
    // "file": the console is a unix socket (for tests and `socat - UNIX-CONNECT:…`) logged to serial.log.
    // The log goes on across the lab's restarts of QEMU (logappend), as a serial capture would.
    const serial =
      this.opts.serial === "stdio"
        ? ["-serial", "mon:stdio"]
        : [
            "-chardev",
            `socket,id=s0,path=${this.serialSocket},server=on,wait=off,logfile=${this.serialLog},logappend=on`,
            "-serial",
            "chardev:s0",
          ];
    const qmpSocket = join(this.dir, "qmp.sock");
    const args = [
      "netns",
      "exec",
      this.vm.name,
      q.qemu,
      "-machine",
      q.machine,
      "-accel",
      `tcg,thread=${this.opts.tcgThreads ?? "single"}`,
      "-cpu",
      q.cpu,
      "-smp",
      String(q.cpus ?? v.cpus),
      "-m",
      String(v.memoryMiB),
      "-display",
      "none",
      "-vga",
      "none",
      "-nodefaults",
      "-no-user-config",
      // Threads named for what they run ("CPU 0/TCG"): the nat64 bench reads the vCPUs' CPU time.
      "-name",
      "gate64-lab,debug-threads=on",
      "-drive",
      `if=pflash,format=raw,readonly=on,file=${q.firmwareCode}`,
      "-drive",
      `if=pflash,format=raw,file=${join(this.dir, "efivars.fd")}`,
      "-device",
      "virtio-blk-pci,drive=disk,addr=0x5",
      "-drive",
      `id=disk,if=none,format=${disk.endsWith(".qcow2") ? "qcow2" : "raw"},file=${disk}`,
      "-netdev",
      "tap,id=lan,ifname=tap-lan,script=no,downscript=no",
      "-device",
      `virtio-net-pci,netdev=lan,addr=0x3,mac=${v.lanMac}`,
      "-netdev",
      "tap,id=wan,ifname=tap-wan,script=no,downscript=no",
      "-device",
      `virtio-net-pci,netdev=wan,addr=0x4,mac=${v.wanMac}`,
      ...q.devices.flatMap((d) => ["-device", d]),
      ...serial,
      // A reset the guest asks for ends QEMU, and the lab starts it again: a cold reboot. Warm
      // resets under TCG hung now and then (the kernel's "Rebooting in 10 seconds" after a panic,
      // then no firmware output for 240 s, in a CI run), as kubevirt saw with emulation.
      "-no-reboot",
      ...(rtcBase === undefined ? [] : ["-rtc", `base=${rtcBase}`]),
      "-qmp",
      `unix:${qmpSocket},server=on,wait=off`,
    ];
    // A QEMU that was killed leaves its sockets behind: console() waits for the new one's.
    rmSync(qmpSocket, { force: true });
    rmSync(this.serialSocket, { force: true });
    this.qemuStartedAt = Date.now();
    // QEMU's own errors (a disk it cannot open, a firmware it cannot map) go to qemu.log: tail()
    // shows them when a boot never came.
    const stderr = this.opts.serial === "stdio" ? null : openSync(this.qemuLog, "a");
    const child = spawn("ip", args, { stdio: stderr === null ? "inherit" : ["ignore", "ignore", stderr] });
    if (stderr !== null) closeSync(stderr);
    this.qemu = child;
    const watch = new ShutdownWatch(qmpSocket);
    child.once("exit", async () => {
      const byLab = this.ending;
      const reason = await watch.stopReason();
      watch.close();
      if (byLab || this.ending || this.qemu !== child) return;
      this.qemuEnds.push(`QEMU ended (exit code ${child.exitCode}, signal ${child.signalCode}, ${reason ?? "no reason from QMP"})`);
      if (reason === "guest-reset") {
        this.guestResets++;
        this.log(`lab: the box reset itself (${this.guestResets}); starting QEMU again`);
        this.startQemu(disk);
      } else {
        this.onPowerOff?.();
      }
    });
  }

  /** A new terminal on the serial console, logged in as root (after a reboot, take a new one). */
  async console(): Promise<SerialConsole> {
    // After the box resets itself the lab starts QEMU again, and its serial socket appears a
    // moment later; a terminal opened before that would never see a login prompt.
    await waitFor("the serial console's socket", () => existsSync(this.serialSocket), 60_000);
    const con = new SerialConsole(this.serialSocket);
    await con.login("root", this.consolePassword);
    return con;
  }

  /**
   * Waits until the box reports the given health status to the broker; returns seconds since QEMU
   * started. With `since` (ms, host clock), only a report checked at or after it counts: the
   * broker keeps the last boot's report (the VM's clock starts from the host's).
   */
  async waitForHealth(status: string, timeoutSec: number, since = 0): Promise<number> {
    const topic = `gate64/${this.spec.deviceId}/health`;
    // A timeout names the last report and its failing probes: "no report" and "jool failed" are
    // different faults.
    let last = "no report";
    await waitFor(
      () => `agent health "${status}" on ${topic} (last: ${last})`,
      () => {
        const msg = this.subscribeOnce(topic, 5);
        if (msg === null) return false;
        const h = JSON.parse(msg) as { status: string; checkedAt: string; probes?: { name: string; status: string; detail: string }[] };
        const failing = (h.probes ?? []).filter((p) => p.status !== "ok").map((p) => `${p.name} ${p.status}: ${p.detail}`);
        last = `${h.status} at ${h.checkedAt}${failing.length ? `; ${failing.join("; ")}` : ""}`;
        return h.status === status && Date.parse(h.checkedAt) >= since;
      },
      timeoutSec * 1000,
    );
    return (Date.now() - this.qemuStartedAt) / 1000;
  }

  /** The box's healthy report (after `since`, as waitForHealth), within its architecture's
   * `lab.firstHealthySec`; returns seconds since QEMU started. */
  waitForHealthy(since = 0): Promise<number> {
    return this.waitForHealth("ok", this.board.lab.firstHealthySec, since);
  }

  /** Shuts the box down from its console (a clean poweroff) and starts QEMU again. */
  async reboot(con: SerialConsole): Promise<void> {
    const q = this.qemu;
    if (q === null || q.exitCode !== null) throw new Error("the lab VM is not running");
    const exited = new Promise((r) => q.once("exit", r));
    this.ending = true;
    con.write("systemctl poweroff\r");
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("no poweroff within 180 s")), 180_000);
    });
    await Promise.race([exited, late]).finally(() => {
      clearTimeout(timer);
      this.ending = false;
    });
    con.close();
    // A new log for the new boot: no reader can take the last boot's lines for this one's.
    rmSync(this.serialLog, { force: true });
    this.startQemu(this.disk);
  }

  get qemuLog(): string {
    return join(this.dir, "qemu.log");
  }

  /** The last lines of the serial console log, then what QEMU printed and how it ended, if it did. */
  tail(lines: number): string {
    const serial = existsSync(this.serialLog)
      ? readFileSync(this.serialLog, "utf8").split("\n").slice(-lines).join("\n")
      : "(no serial log)";
    const qemu = existsSync(this.qemuLog) ? readFileSync(this.qemuLog, "utf8").trim() : "";
    return [serial, ...(qemu === "" ? [] : [`QEMU printed:\n${qemu}`]), ...this.qemuEnds].join("\n");
  }

  /**
   * What the box says about its own units, read over the console, for a failed test's report: a
   * failure in a CI run is otherwise known only by the serial log's last lines. Never throws.
   */
  async postMortem(): Promise<string> {
    let con: SerialConsole | undefined;
    try {
      con = new SerialConsole(this.serialSocket);
      await con.login("root", this.consolePassword, 60_000);
      const cmd =
        "uptime; systemctl --no-pager --failed; systemctl --no-pager list-jobs; " +
        "journalctl -b --no-pager -o short-monotonic -n 60 -u gate64-provision -u gate64-agent -u coredns";
      return (await con.run(cmd, 60_000)).output;
    } catch (err) {
      return `(the console did not answer: ${String(err).split("\n")[0]})`;
    } finally {
      con?.close();
    }
  }

  async stop(): Promise<void> {
    this.ending = true;
    if (this.qemu && this.qemu.exitCode === null) {
      const q = this.qemu;
      const exited = new Promise((r) => q.once("exit", r));
      q.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (q.exitCode === null) q.kill("SIGKILL");
    }
    await Promise.all(this.daemons.map((d) => d.stop()));
    for (const ns of [this.client, this.internet, this.brokerNs, this.vm]) await ns?.destroy();
    // GATE64_LAB_KEEP=1 keeps the disk copy and logs for a post-mortem.
    if (process.env.GATE64_LAB_KEEP === "1") this.opts.log?.(`lab: kept ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}
