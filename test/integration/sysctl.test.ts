// The rendered kernel settings applied the way the agent applies them (its sysctl step's writes
// into /proc/sys, by the real System) inside a namespace whose LAN is a VLAN-style name with a
// dot, and the error a missing interface gives.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, it } from "node:test";
import { validateConfig } from "../../agent/src/config/validate.js";
import { renderAll } from "../../agent/src/render/index.js";
import { isRoot, Namespace } from "../../scripts/lab/netns.js";

let ns: Namespace | undefined;
after(async () => ns?.destroy());

const rendered = (lan: string) => {
  const v = validateConfig({ interfaces: { lan: { name: lan }, wan: { name: "wan" } } });
  assert.ok(v.ok);
  return renderAll(v.config, { deviceId: "s" })["sysctl.d/90-gate64.conf"] as string;
};

/** The agent's sysctl step, run by a Node process inside the namespace (its /proc/sys/net is the namespace's). */
const applyIn = (n: Namespace, text: string) =>
  spawnSync(
    "ip",
    [
      "netns",
      "exec",
      n.name,
      process.execPath,
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      `const { writeSysctls } = await import("./agent/src/apply/execute.ts");
     const { realSystem } = await import("./agent/src/system/real.ts");
     await writeSysctls(realSystem, process.argv[1]);`,
      text,
    ],
    { encoding: "utf8" },
  );

it("applies every rendered sysctl, also for an interface named lan.100, and names a missing one", {
  skip: !isRoot() && "needs root",
}, () => {
  ns = Namespace.create("sysctl");
  ns.ip("link", "add", "lan.100", "type", "veth", "peer", "name", "wan");
  const ok = applyIn(ns, rendered("lan.100"));
  assert.equal(ok.status, 0, ok.stderr);
  const read = (path: string) => (ns as Namespace).exec("cat", [path]).trim();
  assert.equal(read("/proc/sys/net/ipv6/conf/lan.100/accept_ra"), "0");
  assert.equal(read("/proc/sys/net/ipv6/conf/all/forwarding"), "1");
  assert.equal(read("/proc/sys/net/ipv4/ip_local_port_range").replace(/\s+/g, " "), "16384 32767");
  const missing = applyIn(ns, rendered("nolan0"));
  assert.notEqual(missing.status, 0);
  assert.match(
    missing.stderr,
    /sysctl: net\/ipv6\/conf\/nolan0\/accept_ra = 0: ENOENT: no such file or directory, open '\/proc\/sys\/net\/ipv6\/conf\/nolan0\/accept_ra'/,
  );
});
