// Where things live on the device. GATE64_ROOT prefixes every path so the same code runs against
// a scratch directory in tests.
import { join } from "node:path";

const root = process.env.GATE64_ROOT ?? "/";
const p = (...parts: string[]) => join(root, ...parts);

export const PATHS = {
  data: p("data/gate64"),
  identity: p("data/gate64/identity.json"),
  config: p("data/gate64/config.json"),
  consoleHash: p("data/gate64/console.hash"),
  mqttDir: p("data/gate64/mqtt"),
  /** The fleet agent's memory: last desired revision handled, decommissioned. */
  fleetState: p("data/gate64/fleet.json"),
  provision: p("efi/gate64/provision.json"),
  run: p("run/gate64"),
  /**
   * The rendered revisions (rev-N) and `current`, the one in effect. On /data so that a reboot
   * starts the datapath from them before the agent (gate64-datapath.service, coredns.service).
   */
  render: p("data/gate64/render"),
  current: p("data/gate64/render/current"),
  /**
   * The ruleset gate64-datapath.service loaded at boot, as it loaded it: the agent's first boot
   * apply loads no other copy of the same file, and removes this record (datapath-up).
   */
  datapathRuleset: p("run/gate64/datapath.nft"),
  /** The agent's control socket (control/protocol.ts): the CLI's way in. */
  controlSocket: p("run/gate64/control.sock"),
  /** /etc/shadow points here: rendered by provisioning, kept across boots. */
  shadow: p("data/gate64/shadow"),
  factoryShadow: p("usr/share/factory/etc/shadow"),
  defaultConfig: p("usr/share/gate64/default-config.json"),
  /** The agent's .network files: /etc/systemd/network links here, so networkd reads them at boot. */
  networkdDir: p("data/gate64/network"),
  version: p("usr/lib/gate64/VERSION"),
  /**
   * Node's compile caches, one directory per firmware version (NODE_COMPILE_CACHE of the agent's
   * unit and of the gate64 wrapper): the agent removes the others (daemon/compile-cache.ts).
   */
  nodeCache: p("data/gate64/node-cache"),
  /** Update attempts, the downloaded bundle and the health gate's verdicts (docs/updates.md). */
  updateDir: p("data/gate64/update"),
  /** systemd-boot's UKIs, one per slot. */
  espLinux: p("efi/EFI/Linux"),
  raucSystemConf: p("etc/rauc/system.conf"),
  cmdline: p("proc/cmdline"),
  /** The mount table (the data probe: is /data the partition or memory in its place?). */
  mounts: p("proc/self/mounts"),
  /** Kernel settings (the sysctl step writes here) and the hostname (kernel/hostname). */
  procSys: p("proc/sys"),
  /** A loaded module's directory (/sys/module/NAME). */
  modules: p("sys/module"),
  /** The processes of the running CoreDNS (none while it is stopped or between restarts). */
  corednsProcs: p("sys/fs/cgroup/system.slice/coredns.service/cgroup.procs"),
  /** Where `ip netns add` puts a named namespace's handle. */
  netnsDir: p("run/netns"),
  /** The network interfaces the kernel has, by name (udev renames the NICs to lan and wan). */
  netDevices: p("sys/class/net"),
} as const;
