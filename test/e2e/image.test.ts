// The build's published outputs, as someone who downloads them checks them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { it } from "node:test";

const OUT = process.env.GATE64_OUT ?? "out/x86-64";
const manifest = JSON.parse(readFileSync(`${OUT}/manifest.json`, "utf8")) as {
  firmwareVersion: string;
  bundle: string;
  versions: { jool: string; kernel: string };
  sha256: { rootSquashfs: string; bundle: string };
};
const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

it("SHA256SUMS lists exactly the published files, and they verify", () => {
  const sums = readFileSync(`${OUT}/SHA256SUMS`, "utf8");
  assert.deepEqual(
    sums
      .trim()
      .split("\n")
      .map((l) => l.split(/\s+\*?/)[1])
      .sort(),
    [manifest.bundle, "disk.img", "disk.img.zst", "disk.qcow2", "manifest.json", "sbom.cdx.json"].sort(),
  );
  const r = spawnSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: OUT, encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

it("the qcow2 is the same disk as disk.img, standalone and smaller", () => {
  const info = JSON.parse(spawnSync("qemu-img", ["info", "--output=json", `${OUT}/disk.qcow2`], { encoding: "utf8" }).stdout) as {
    format: string;
    "virtual-size": number;
    "backing-filename"?: string;
    "actual-size": number;
  };
  assert.equal(info.format, "qcow2");
  assert.equal(info["backing-filename"], undefined);
  assert.equal(info["virtual-size"], statSync(`${OUT}/disk.img`).size);
  const r = spawnSync("qemu-img", ["compare", "-f", "raw", "-F", "qcow2", `${OUT}/disk.img`, `${OUT}/disk.qcow2`], { encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.ok(statSync(`${OUT}/disk.qcow2`).size < statSync(`${OUT}/disk.img`).size / 2);
});

it("the manifest holds the root squashfs's and the update bundle's hashes and the firmware version", () => {
  assert.equal(manifest.sha256.rootSquashfs, sha256(`${OUT}/work/root.squashfs`));
  assert.equal(manifest.sha256.bundle, sha256(`${OUT}/${manifest.bundle}`));
  assert.equal(manifest.bundle, `gate64-x86-64-${manifest.firmwareVersion}.raucb`);
  assert.equal(readFileSync(`${OUT}/work/root/usr/lib/gate64/VERSION`, "utf8").trim(), manifest.firmwareVersion);
  assert.match(
    readFileSync(`${OUT}/work/root/usr/lib/os-release`, "utf8"),
    new RegExp(`^IMAGE_VERSION=${manifest.firmwareVersion.replace(/[.+]/g, "\\$&")}$`, "m"),
  );
});

it("the root squashfs is zstd in 1 MiB blocks, without /boot", () => {
  // docs/benchmarks.md (image): 1 MiB blocks are 8 % smaller than the default 128 KiB.
  const s = spawnSync("unsquashfs", ["-s", `${OUT}/work/root.squashfs`], { encoding: "utf8" });
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /^Compression zstd$/m);
  assert.match(s.stdout, /^Block size 1048576$/m);
  const l = spawnSync("unsquashfs", ["-l", `${OUT}/work/root.squashfs`, "boot"], { encoding: "utf8" });
  assert.doesNotMatch(l.stdout, /squashfs-root\/boot/);
});

it("the root holds no compiler, no package installer and no Perl", () => {
  // Updates replace the root whole (docs/image.md); a compiler on a router only serves an intruder.
  const packages = spawnSync("dpkg-query", [`--admindir=${OUT}/work/root/var/lib/dpkg`, "-W"], { encoding: "utf8" });
  assert.equal(packages.status, 0, packages.stderr);
  const names = packages.stdout
    .trim()
    .split("\n")
    .map((l) => l.split("\t")[0] as string);
  assert.ok(names.includes("coreutils") && names.length > 50, `${names.length} packages read`);
  const found = names.filter((p) => /^(apt|libapt-pkg.*|gcc(-\d+)?|cpp(-\d+)?|clang.*|tcc|binutils.*|make|perl(-base)?)$/.test(p));
  assert.deepEqual(found, []);
  const bins = ["usr/bin/apt-get", "usr/bin/cc", "usr/bin/gcc", "usr/bin/as", "usr/bin/ld", "usr/bin/perl"].filter((b) =>
    existsSync(`${OUT}/work/root/${b}`),
  );
  assert.deepEqual(bins, []);
});

it("the box's Node holds ICU's root and English data only, and its Intl still works", () => {
  // scripts/trim-node-icu (image/node-icu.txt): the root's own Node, run on this host.
  const script = `
    const out = {
      icu: process.versions.icu,
      date: new Intl.DateTimeFormat("en-US", { dateStyle: "full", timeStyle: "short", timeZone: "Europe/Berlin" }).format(0),
      number: new Intl.NumberFormat("de-DE", { style: "currency", currency: "EUR" }).format(1234.5),
      locales: Intl.DateTimeFormat.supportedLocalesOf(["de", "ja", "en", "en-US"]),
      zones: Intl.supportedValuesOf("timeZone").length,
      nfd: "\\u00e9".normalize("NFD").length,
      idna: new URL("http://b\\u00fccher.example/").host,
      words: [...new Intl.Segmenter("en", { granularity: "word" }).segment("\\u65e5\\u672c\\u8a9e\\u306e\\u30c6\\u30ad\\u30b9\\u30c8")].length,
      latin1: new TextDecoder("latin1").decode(new Uint8Array([233])),
    };
    try { new TextDecoder("shift_jis"); out.sjis = "decodes"; } catch (e) { out.sjis = e.code; }
    console.log(JSON.stringify(out));`;
  const r = spawnSync(`${OUT}/work/root/usr/bin/node`, ["-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.match(String(out.icu), /^\d+\.\d+$/);
  assert.equal(out.date, "Thursday, January 1, 1970 at 1:00 AM");
  assert.equal(out.number, "€1,234.50", "a dropped locale formats as English");
  assert.deepEqual(out.locales, ["en", "en-US"]);
  assert.ok(Number(out.zones) > 400, `${out.zones} time zones`);
  assert.equal(out.nfd, 2);
  assert.equal(out.idna, "xn--bcher-kva.example");
  assert.equal(out.words, 3, "CJK word breaks come from the kept dictionary");
  assert.equal(out.latin1, "\u00e9");
  assert.equal(out.sjis, "ERR_ENCODING_NOT_SUPPORTED");
});

it("the initramfs holds the board's root drivers and blkid, and no udev", () => {
  // docs/image.md: the module list loads the drivers, devtmpfs makes the nodes, blkid resolves
  // root=PARTLABEL=; udev and libsystemd-shared were 8 of its 20 MB.
  const kernel = manifest.versions.kernel;
  const r = spawnSync("chroot", [`${OUT}/work/root`, "lsinitramfs", `/boot/initrd.img-${kernel}`], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const files = r.stdout.split("\n");
  for (const want of [/\/squashfs\.ko/, /\/ext4\.ko/, /^usr\/sbin\/blkid$/, /^scripts\/init-bottom\/move-dev$/])
    assert.ok(
      files.some((f) => want.test(f)),
      `nothing in the initramfs matches ${want}`,
    );
  assert.deepEqual(
    files.filter((f) => /udevadm|systemd-udevd|libsystemd-shared/.test(f)),
    [],
  );
});

it("every unit the overlays mask is masked in the root", () => {
  // Early units a router does not use cost a TCG boot 4-5 s of CPU each (10-gate64.preset says
  // which and why); preset-all's "disable *" unlinks template instances, masks included.
  const board = JSON.parse(readFileSync(`${OUT}/work/board.json`, "utf8")) as { name: string };
  const dirs = ["overlays/common", `image/boards/${board.name}/overlay`].map((d) => `${d}/etc/systemd/system`);
  const masks = dirs.flatMap((d) =>
    existsSync(d) ? readdirSync(d).filter((f) => lstatSync(`${d}/${f}`).isSymbolicLink() && readlinkSync(`${d}/${f}`) === "/dev/null") : [],
  );
  assert.ok(masks.includes("modprobe@drm.service") && masks.length > 10, `masks read: ${masks.join(" ")}`);
  const r = spawnSync("systemctl", [`--root=${OUT}/work/root`, "is-enabled", ...masks], { encoding: "utf8" });
  const states = r.stdout.trim().split("\n");
  assert.deepEqual(
    masks.filter((_, i) => states[i] !== "masked"),
    [],
    r.stdout,
  );
});

it("the image trusts the update certificate and holds no signing key", () => {
  const keyring = readFileSync(`${OUT}/work/root/etc/rauc/keyring.pem`, "utf8");
  assert.match(keyring, /BEGIN CERTIFICATE/);
  const found = spawnSync(
    "grep",
    ["-rlE", "BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY", `${OUT}/work/root/etc`, `${OUT}/work/root/usr/lib/gate64`],
    {
      encoding: "utf8",
    },
  );
  assert.equal(found.stdout.trim(), "", "a private key in the root");
});

it("the SBOM lists the root's Debian packages, Jool, the agent's npm packages, CoreDNS's Go modules and Node", () => {
  const sbom = JSON.parse(readFileSync(`${OUT}/sbom.cdx.json`, "utf8")) as {
    bomFormat: string;
    metadata: { component: { version: string } };
    components: { purl: string; pedigree?: { notes: string } }[];
  };
  assert.equal(sbom.bomFormat, "CycloneDX");
  assert.equal(sbom.metadata.component.version, manifest.firmwareVersion);
  const purls = sbom.components.map((c) => c.purl);
  for (const want of [
    /^pkg:deb\/debian\/linux-image-6[^@]*@/,
    /^pkg:deb\/debian\/systemd@/,
    /^pkg:deb\/debian\/rauc@/,
    new RegExp(`^pkg:deb/debian/jool-dkms@${encodeURIComponent(manifest.versions.jool).replace(/[.+]/g, "\\$&")}`),
    /^pkg:npm\/mqtt@/,
    /^pkg:npm\/zod@/,
    /^pkg:golang\/github\.com\/coredns\/coredns@v/,
    /^pkg:generic\/nodejs\/node@/,
  ])
    assert.ok(
      purls.some((p) => want.test(p)),
      `no component matches ${want}`,
    );
  assert.ok(!purls.some((p) => p.startsWith("pkg:npm/typescript@")), "a development package in the SBOM");
  // Node is the official binary, changed by the build: the SBOM says how.
  const node = sbom.components.find((c) => c.purl.startsWith("pkg:generic/nodejs/node@"));
  assert.match(node?.pedigree?.notes ?? "", /ICU data trimmed/);
});
