// End to end: the built image booted in the QEMU lab, checked from an IPv6-only client that
// uses only what it learned from the RA, from the IPv4 internet and from the broker.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { CHECKS, forgetResolver, type Learned } from "../../scripts/lab/checks.js";
import { Lab } from "../../scripts/lab/lab.js";

const IMAGE = process.env.GATE64_IMAGE ?? "out/x86-64/disk.img";

describe("the x86-64 image in the lab", { timeout: 15 * 60_000 }, () => {
  let lab: Lab;
  const learned: Learned = {};

  before(async () => {
    assert.ok(existsSync(IMAGE), `${IMAGE} is missing: npm test builds it (scripts/test-all)`);
    lab = new Lab({ image: IMAGE, serial: "file" });
    await lab.start();
  });

  after(async () => {
    if (lab) {
      forgetResolver(lab);
      await lab.stop();
    }
  });

  for (const check of CHECKS) {
    it(check.name, async (t) => {
      try {
        t.diagnostic(await check.run(lab, learned));
      } catch (err) {
        t.diagnostic(`serial console (last lines):\n${lab.tail(30)}`);
        throw err;
      }
    });
  }
});
