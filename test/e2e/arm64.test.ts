// End to end on arm64: the arm64-efi image (trixie arm64, Jool cross-built, Node and CoreDNS for
// arm64) booted under qemu-system-aarch64 (virt, cortex-a72, AAVMF) in the same lab as x86-64,
// with the lab's checks that say the box translates: healthy report, RA, DNS64, NAT64 over
// HTTP, UDP and ping, nothing open on the WAN.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { CHECKS, forgetResolver, type Learned } from "../../scripts/lab/checks.js";
import { Lab } from "../../scripts/lab/lab.js";
import { itChecks } from "./lab-checks.js";

const IMAGE = process.env.GATE64_ARM64_IMAGE ?? "out/arm64-efi/disk.img";
const WANTED = [
  "agent reports healthy to the lab broker",
  "RA carries prefix, RDNSS and PREF64",
  "client configured an address by SLAAC",
  "DNS64 synthesizes AAAA in the advertised prefix",
  "HTTP to the IPv4 web server by name through NAT64",
  "UDP exchange through NAT64",
  "ping through NAT64",
  "WAN side: nothing answers that the config did not open",
];

describe("the arm64-efi image in the lab", { timeout: 15 * 60_000 }, () => {
  let lab: Lab;
  const learned: Learned = {};

  before(async () => {
    assert.ok(existsSync(IMAGE), `${IMAGE} is missing: npm test builds it (scripts/test-all)`);
    lab = new Lab({ image: IMAGE, board: "arm64-efi", serial: "file" });
    await lab.start();
  });

  after(async () => {
    if (lab) {
      forgetResolver(lab);
      await lab.stop();
    }
  });

  const checks = CHECKS.filter((c) => WANTED.includes(c.name));
  it("runs every check it names", () => assert.equal(checks.length, WANTED.length));

  itChecks(checks, () => lab, learned);

  it("publishes an arm64 manifest and SBOM, and a bundle only arm64-efi boxes take", () => {
    const out = "out/arm64-efi";
    const manifest = JSON.parse(readFileSync(`${out}/manifest.json`, "utf8")) as {
      arch: string;
      bundle: string;
      versions: { kernel: string };
    };
    assert.equal(manifest.arch, "arm64");
    assert.match(manifest.versions.kernel, /-arm64$/);
    assert.match(manifest.bundle, /^gate64-arm64-efi-/);
    const purls = (JSON.parse(readFileSync(`${out}/sbom.cdx.json`, "utf8")) as { components: { purl: string }[] }).components.map(
      (c) => c.purl,
    );
    assert.ok(purls.some((p) => /^pkg:deb\/debian\/systemd@[^?]*\?arch=arm64/.test(p)));
    assert.ok(!purls.some((p) => p.includes("arch=amd64")), "an amd64 package in the arm64 SBOM");
  });

  it("is an arm64 box with its console on the PL011 (ttyAMA0), running the cross-built Jool", async () => {
    const con = await lab.console();
    try {
      assert.equal((await con.run("uname -m")).output.trim(), "aarch64");
      assert.equal((await con.run("tty")).output.trim(), "/dev/ttyAMA0");
      const mods = (await con.run("grep -o '^jool[a-z_]*' /proc/modules | sort | tr '\\n' ' '")).output.trim();
      assert.match(mods, /\bjool\b/);
      assert.match(mods, /\bjool_common\b/);
      const node = (await con.run("node -p process.arch")).output.trim();
      assert.equal(node, "arm64");
    } finally {
      con.close();
    }
  });
});
