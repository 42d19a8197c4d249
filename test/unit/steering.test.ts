// Where the NICs' receive work runs: the plan as data, and the offloads step carrying it out on
// the fake system (the lab checks it on the real kernel: scripts/lab/checks.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { execute } from "../../agent/src/apply/execute.js";
import { validateConfig } from "../../agent/src/config/validate.js";
import { probes } from "../../agent/src/observe/health.js";
import { resolve } from "../../agent/src/render/context.js";
import { renderAll } from "../../agent/src/render/index.js";
import { irqsOf, parseCpuList, placement, renderSteering, sameMask } from "../../agent/src/render/steering.js";
import { FakeSystem } from "../../agent/src/system/fake.js";

// The lab VM's, trimmed: virtio NICs name their vectors after the virtio function, not the NIC.
const PROC_INTERRUPTS = `           CPU0       CPU1
 31:          1          0  PCI-MSIX-0000:00:03.0   1-edge      virtio1-input.0
 40:       9000          0     GICv3  56 Level     eth0
 41:         12          0     GICv3  57 Level     eth0-rx-0
 42:          3          0     GICv3  58 Level     eth01
 43:          0          0     GICv3  59 Level     xhci-hcd:usb1
`;

describe("steering plan", () => {
  it("parses kernel CPU lists", () => {
    assert.deepEqual(parseCpuList("0-1\n"), [0, 1]);
    assert.deepEqual(parseCpuList("0,2-3,5"), [0, 2, 3, 5]);
    assert.throws(() => parseCpuList("zero"), /not a CPU list: "zero"/);
  });

  it("puts each NIC's interrupts on its CPU and its RPS on the others", () => {
    assert.deepEqual(placement({ irqCpu: 0 }, [0, 1]), { irqCpu: 0, rpsMask: "2" });
    assert.deepEqual(placement({ irqCpu: 1 }, [0, 1]), { irqCpu: 1, rpsMask: "1" });
    assert.deepEqual(placement({ irqCpu: 1 }, [0, 1, 2, 3]), { irqCpu: 1, rpsMask: "d" });
    // One CPU: both NICs on it, nothing to steer to.
    assert.deepEqual(placement({ irqCpu: 1 }, [0]), { irqCpu: 0, rpsMask: "0" });
    assert.ok(sameMask("00000002", "2"));
    assert.ok(sameMask("00000000,00000001", "1"));
    assert.ok(!sameMask("00000003", "2"));
  });

  it("finds a NIC's interrupts by its MSI vectors, else by its name", () => {
    assert.deepEqual(irqsOf("lan", ["32", "31"], PROC_INTERRUPTS), [32, 31]);
    assert.deepEqual(irqsOf("eth0", [], PROC_INTERRUPTS), [40, 41]);
    // A USB NIC's interrupt is its host controller's: none of its own.
    assert.deepEqual(irqsOf("usb0", [], PROC_INTERRUPTS), []);
  });

  it("renders nothing for keep", () => {
    const v = validateConfig({ interfaces: { lan: { name: "lan" }, wan: { name: "wan" } }, nat64: { steering: "keep" } });
    assert.ok(v.ok);
    assert.deepEqual(renderSteering(resolve(v.config, { deviceId: "s" })), {});
  });
});

describe("the offloads step and probe", () => {
  function box() {
    const v = validateConfig({ interfaces: { lan: { name: "lan" }, wan: { name: "wan" } } });
    assert.ok(v.ok);
    const sys = new FakeSystem();
    sys.handlers.set("ethtool", () => ({ code: 0, stdout: "rx-gro-list: off\nrx-udp-gro-forwarding: on\n", stderr: "" }));
    sys.files.set("/sys/devices/system/cpu/online", "0-1\n");
    // The virtio NICs' vectors are on the PCI device above them.
    for (const [nic, irqs] of [
      ["lan", [31, 32]],
      ["wan", [34, 35]],
    ] as const) {
      for (const irq of irqs) {
        sys.files.set(`/sys/class/net/${nic}/device/../msi_irqs/${irq}`, "msix\n");
        sys.files.set(`/proc/irq/${irq}/smp_affinity_list`, "0-1\n");
      }
      sys.files.set(`/sys/class/net/${nic}/queues/rx-0/rps_cpus`, "00000000\n");
      sys.files.set(`/sys/class/net/${nic}/queues/tx-0/xps_cpus`, "00000000\n");
    }
    return { sys, config: v.config, files: renderAll(v.config, { deviceId: "s" }) };
  }

  it("places the LAN's interrupts on CPU 0 and the WAN's on CPU 1, each NIC's RPS on the other", async () => {
    const { sys, config, files } = box();
    await execute(sys, config, "/run/x", files, [{ service: "offloads", when: "changed" }]);
    const read = (p: string) => sys.files.get(p);
    assert.deepEqual(
      [31, 32, 34, 35].map((i) => read(`/proc/irq/${i}/smp_affinity_list`)),
      ["0", "0", "1", "1"],
    );
    assert.equal(read("/sys/class/net/lan/queues/rx-0/rps_cpus"), "2");
    assert.equal(read("/sys/class/net/wan/queues/rx-0/rps_cpus"), "1");
    // Transmit queues are left alone.
    assert.equal(read("/sys/class/net/lan/queues/tx-0/xps_cpus"), "00000000\n");
  });

  it("the offloads probe names a receive queue whose RPS mask drifted, and passes once it is set", async () => {
    const { sys, config, files } = box();
    const probe = probes(sys, resolve(config, { deviceId: "s" })).find((p) => p.name === "offloads");
    assert.ok(probe);
    await assert.rejects(probe.run(), /lan rx-0 rps 00000000 \(want 2\), wan rx-0 rps 00000000 \(want 1\)/);
    await execute(sys, config, "/run/x", files, [{ service: "offloads", when: "changed" }]);
    assert.match(await probe.run(), /; receive work spread over the CPUs$/);
  });
});
