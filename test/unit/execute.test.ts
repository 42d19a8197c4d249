// Steps carried out on the fake system: what the commands are and in which order.
import assert from "node:assert/strict";
import { it } from "node:test";
import { execute } from "../../agent/src/apply/execute.js";
import { plan } from "../../agent/src/apply/plan.js";
import { validateConfig } from "../../agent/src/config/validate.js";
import { renderAll } from "../../agent/src/render/index.js";
import { FakeSystem } from "../../agent/src/system/fake.js";

it("a renumbered WAN: the old address leaves pool4 with its BIB entries before the new pool4 goes in", async () => {
  const v = validateConfig({ interfaces: { lan: { name: "lan" }, wan: { name: "wan" } } });
  assert.ok(v.ok);
  const before = renderAll(v.config, { deviceId: "e", wanIPv4: "198.51.100.2/24" });
  const after = renderAll(v.config, { deviceId: "e", wanIPv4: "198.51.100.3/24" });
  const sys = new FakeSystem();
  sys.files.set("/sys/module/jool/initstate", "live\n");
  sys.handlers.set("jool", (args) => ({ code: 0, stdout: args[0] === "instance" ? "0x1,default,netfilter\n" : "", stderr: "" }));
  const steps = plan(before, after).filter((s) => s.service === "jool");
  await execute(sys, v.config, "/run/gate64/rev-2", after, steps);
  assert.deepEqual(
    sys.commands.filter((c) => c.startsWith("jool") && !c.startsWith("jool instance")),
    [
      "jool -i default pool4 remove --tcp 198.51.100.2/32",
      "jool -i default pool4 remove --udp 198.51.100.2/32",
      "jool -i default pool4 remove --icmp 198.51.100.2/32",
      "jool file handle /run/gate64/rev-2/jool/nat64.json",
    ],
  );
});
