// The rendered kernel settings applied the way the agent applies them (sysctl -w, one key at a
// time) inside a namespace whose LAN is a VLAN-style name with a dot.
import assert from "node:assert/strict";
import { after, it } from "node:test";
import { sysctlEntries } from "../../agent/src/apply/execute.js";
import { validateConfig } from "../../agent/src/config/validate.js";
import { renderAll } from "../../agent/src/render/index.js";
import { isRoot, Namespace } from "../../scripts/lab/netns.js";

let ns: Namespace | undefined;
after(async () => ns?.destroy());

it("applies every rendered sysctl, also for an interface named lan.100", { skip: !isRoot() && "needs root" }, () => {
  ns = Namespace.create("sysctl");
  ns.ip("link", "add", "lan.100", "type", "veth", "peer", "name", "wan");
  const v = validateConfig({ interfaces: { lan: { name: "lan.100" }, wan: { name: "wan" } } });
  assert.ok(v.ok);
  const text = renderAll(v.config, { deviceId: "s" })["sysctl.d/90-gate64.conf"] as string;
  for (const [k, value] of sysctlEntries(text)) ns.exec("sysctl", ["-q", "-w", `${k}=${value}`]);
  const read = (path: string) => (ns as Namespace).exec("cat", [path]).trim();
  assert.equal(read("/proc/sys/net/ipv6/conf/lan.100/accept_ra"), "0");
  assert.equal(read("/proc/sys/net/ipv4/ip_local_port_range").replace(/\s+/g, " "), "16384 32767");
});
