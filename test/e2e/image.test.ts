// The build's published outputs, as someone who downloads them checks them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { it } from "node:test";
import { PATHS } from "../../agent/src/paths.js";
import { UPLINK_RESOLV_CONF } from "../../agent/src/render/corefile.js";
import { peChecksum, peSection, ukiForSlot, ukiSlot } from "../../agent/src/update/uki.js";

const OUT = process.env.GATE64_OUT ?? "out/x86-64";
const manifest = JSON.parse(readFileSync(`${OUT}/manifest.json`, "utf8")) as {
  firmwareVersion: string;
  bundle: string;
  versions: { jool: string; kernel: string };
  sha256: { rootSquashfs: string; bundle: string };
};
const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** The root's Debian packages, by name (its own dpkg database). */
function rootPackages(): string[] {
  const packages = spawnSync("dpkg-query", [`--admindir=${OUT}/work/root/var/lib/dpkg`, "-W"], { encoding: "utf8" });
  assert.equal(packages.status, 0, packages.stderr);
  return packages.stdout
    .trim()
    .split("\n")
    .map((l) => l.split("\t")[0] as string);
}

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

it("the root squashfs is zstd in 1 MiB blocks, without /boot, and /var is an empty mount point", () => {
  // docs/benchmarks.md (image): 1 MiB blocks are 8 % smaller than the default 128 KiB.
  const s = spawnSync("unsquashfs", ["-s", `${OUT}/work/root.squashfs`], { encoding: "utf8" });
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /^Compression zstd$/m);
  assert.match(s.stdout, /^Block size 1048576$/m);
  const l = spawnSync("unsquashfs", ["-l", `${OUT}/work/root.squashfs`, "boot"], { encoding: "utf8" });
  assert.doesNotMatch(l.stdout, /squashfs-root\/boot/);
  // The box mounts memory on /var at every boot, so what dpkg left there would never be seen.
  assert.match(readFileSync(`${OUT}/work/root/etc/fstab`, "utf8"), /^tmpfs\s+\/var\s+tmpfs\s/m);
  const v = spawnSync("unsquashfs", ["-l", `${OUT}/work/root.squashfs`, "var"], { encoding: "utf8" });
  assert.equal(v.status, 0, v.stderr);
  assert.deepEqual(
    v.stdout.split("\n").filter((f) => f.startsWith("squashfs-root/var")),
    ["squashfs-root/var"],
  );
});

it("the root holds no compiler, no package installer, no Perl and nothing that built the initramfs", () => {
  // Updates replace the root whole (docs/image.md); a compiler on a router only serves an intruder.
  // The initramfs is made once, by the build (the UKI carries it).
  const names = rootPackages();
  assert.ok(names.includes("coreutils") && names.length > 50, `${names.length} packages read`);
  const installers = /^(apt|libapt-pkg.*|debian-archive-keyring)$/;
  const compilers = /^(gcc(-\d+)?|cpp(-\d+)?|clang.*|tcc|binutils.*|make|perl(-base)?)$/;
  const initramfsTools = /^(initramfs-tools.*|klibc-utils|busybox|zstd)$/;
  const found = names.filter((p) => installers.test(p) || compilers.test(p) || initramfsTools.test(p));
  assert.deepEqual(found, []);
  const bins = ["usr/bin/apt-get", "usr/bin/cc", "usr/bin/gcc", "usr/bin/as", "usr/bin/ld", "usr/bin/perl"].filter((b) =>
    existsSync(`${OUT}/work/root/${b}`),
  );
  assert.deepEqual(bins, []);
});

it("of e2fsprogs the root holds e2fsck and mke2fs, and none of its units, cron jobs or udev rules", () => {
  // The data fallback (usr/lib/gate64/data-fallback) repairs and re-makes /data with these two.
  const root = `${OUT}/work/root`;
  const sbin = readdirSync(`${root}/usr/sbin`);
  assert.deepEqual(
    sbin.filter((f) => /^(e2|e4|mke2fs|mkfs\.ext|fsck\.ext|tune2fs|resize2fs|debugfs|dumpe2fs|badblocks|filefrag|mklost)/.test(f)).sort(),
    ["e2fsck", "fsck.ext2", "fsck.ext3", "fsck.ext4", "mke2fs", "mkfs.ext2", "mkfs.ext3", "mkfs.ext4"],
  );
  assert.ok(existsSync(`${root}/etc/mke2fs.conf`), "mke2fs reads its defaults from /etc/mke2fs.conf");
  const strays = [
    ...readdirSync(`${root}/usr/lib/systemd/system`).filter((f) => f.startsWith("e2scrub")),
    ...readdirSync(`${root}/usr/lib/udev/rules.d`).filter((f) => /ext4|e2scrub/.test(f)),
    ...["etc/cron.d/e2scrub_all", "etc/e2scrub.conf"].filter((f) => existsSync(`${root}/${f}`)),
    ...readdirSync(`${root}/usr/libexec/e2fsprogs`),
  ];
  assert.deepEqual(strays, []);
});

it("every program and library in the root finds the libraries it links", () => {
  // customize-prune.sh purges packages Debian declares as dependencies (Perl, initramfs-tools,
  // libdb, SQLite): nothing left may need what went. readelf lists each ELF file's needs.
  const root = `${OUT}/work/root`;
  const found = spawnSync(
    "find",
    [
      `${root}/usr`,
      "-path",
      `${root}/usr/lib/modules`,
      "-prune",
      "-o",
      "-type",
      "f",
      "(",
      "-perm",
      "-u+x",
      "-o",
      "-name",
      "*.so*",
      ")",
      "-print",
    ],
    {
      encoding: "utf8",
    },
  );
  const files = found.stdout.trim().split("\n");
  const elf = spawnSync("readelf", ["-dW", ...files], { encoding: "utf8", maxBuffer: 64 << 20 });
  const libDirs = readdirSync(`${root}/usr/lib`)
    .filter((d) => d.endsWith("-linux-gnu"))
    .map((d) => `${root}/usr/lib/${d}`)
    .concat(`${root}/usr/lib`);
  const missing: string[] = [];
  let checked = 0;
  for (const block of elf.stdout.split(/^File: /m).slice(1)) {
    const file = block.slice(0, block.indexOf("\n"));
    const runpath = [...block.matchAll(/\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]/g)].flatMap((m) =>
      (m[1] as string).split(":").map((d) => `${root}${d.replace("$ORIGIN", dirname(file).slice(root.length))}`),
    );
    for (const [, lib] of block.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)) {
      checked++;
      // A library's siblings count: systemd's private libraries load through its binaries' RUNPATH.
      if (![...runpath, dirname(file), ...libDirs].some((d) => existsSync(`${d}/${lib}`)))
        missing.push(`${file.slice(root.length)} needs ${lib}`);
    }
  }
  assert.ok(checked > 1000, `${checked} libraries checked in ${files.length} files`);
  assert.deepEqual(missing, []);
});

it("RAUC links no libcurl, and the HTTP and TLS stack it pulled in is gone", () => {
  // image/hooks/customize-rauc.sh: the agent downloads bundles; RAUC installs local files only.
  const ldd = spawnSync("chroot", [`${OUT}/work/root`, "ldd", "/usr/bin/rauc"], { encoding: "utf8" });
  assert.equal(ldd.status, 0, ldd.stderr);
  assert.match(ldd.stdout, /libglib-2\.0/);
  assert.doesNotMatch(ldd.stdout, /libcurl|libgnutls/);
  const names = rootPackages();
  assert.ok(names.includes("rauc-service"), `${names.length} packages read`);
  assert.deepEqual(
    names.filter((p) => /^(libcurl.*|libgnutls.*|libssh2.*|libldap.*|libngtcp2.*|libnghttp.*)$/.test(p)),
    [],
  );
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

it("the box's Node runs JavaScript but strips no TypeScript (amaro's WebAssembly is blanked)", () => {
  // scripts/trim-node-amaro: the root's own Node, run on this host.
  const dir = mkdtempSync(join(tmpdir(), "gate64-ts-"));
  try {
    writeFileSync(join(dir, "a.ts"), "const n: number = 1;\nconsole.log(n);\n");
    const ts = spawnSync(`${OUT}/work/root/usr/bin/node`, [join(dir, "a.ts")], { encoding: "utf8" });
    assert.notEqual(ts.status, 0, ts.stdout);
    assert.match(ts.stderr, /expected magic word/);
    const js = spawnSync(`${OUT}/work/root/usr/bin/node`, ["-e", "console.log(JSON.stringify([1 + 1]))"], { encoding: "utf8" });
    assert.equal(js.stdout.trim(), "[2]", js.stderr);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

/** The entries of an initramfs: uncompressed cpio archives (the early microcode), then a zstd-compressed one. */
function initramfsEntries(file: string): Map<string, { ino: number; mode: number; link: string | undefined }> {
  const entries = new Map<string, { ino: number; mode: number; link: string | undefined }>();
  const parse = (buf: Buffer) => {
    let at = 0;
    while (at + 110 <= buf.length && buf.toString("latin1", at, at + 6) === "070701") {
      const field = (i: number) => Number.parseInt(buf.toString("latin1", at + 6 + i * 8, at + 14 + i * 8), 16);
      const [ino, mode, size, nameSize] = [field(0), field(1), field(6), field(11)];
      const name = buf.toString("utf8", at + 110, at + 110 + nameSize - 1);
      const data = (at + 110 + nameSize + 3) & ~3;
      at = (data + size + 3) & ~3;
      if (name === "TRAILER!!!") break;
      const link = (mode & 0o170000) === 0o120000 ? buf.toString("utf8", data, data + size) : undefined;
      entries.set(name, { ino, mode, link });
    }
    while (at < buf.length && buf[at] === 0) at++;
    return at;
  };
  let rest = readFileSync(file);
  while (rest.length > 0 && rest.toString("latin1", 0, 6) === "070701") rest = rest.subarray(parse(rest));
  assert.equal(rest.readUInt32LE(0), 0xfd2fb528, "the main archive is zstd-compressed");
  const main = spawnSync("zstd", ["-dc"], { input: rest, maxBuffer: 256 << 20 });
  assert.equal(main.status, 0, String(main.stderr));
  for (let archive = main.stdout; archive.length > 0; ) archive = archive.subarray(parse(archive) || archive.length);
  return entries;
}

it("the initramfs holds the board's root drivers, blkid and busybox's modprobe, and no udev or kmod", () => {
  // docs/image.md: the module list loads the drivers, devtmpfs makes the nodes, blkid resolves
  // root=PARTLABEL=; udev and libsystemd-shared were 8 of its 20 MB, kmod and the libcrypto it
  // links 7.5 of the 11 left. ext4 is in it: loaded from the root instead, /data mounted 2 s later.
  const entries = initramfsEntries(`${OUT}/work/root/boot/initrd.img-${manifest.versions.kernel}`);
  const files = [...entries.keys()];
  for (const want of [
    /\/squashfs\.ko/,
    /\/ext4\.ko/,
    /\/virtio_blk\.ko/,
    /^usr\/sbin\/blkid$/,
    /^scripts\/init-bottom\/move-dev$/,
    /^usr\/bin\/busybox$/,
  ])
    assert.ok(
      files.some((f) => want.test(f)),
      `nothing in the initramfs matches ${want}`,
    );
  assert.deepEqual(
    files.filter((f) => /udevadm|systemd-udevd|libsystemd-shared|\/kmod$|libcrypto/.test(f)),
    [],
  );
  assert.equal(entries.get("usr/sbin/modprobe")?.link, "/usr/bin/busybox");
  // busybox's hook hard-links its applets; its blkid reads no PARTLABEL.
  const blkid = entries.get("usr/sbin/blkid");
  assert.ok(blkid?.link === undefined && blkid?.ino !== entries.get("usr/bin/busybox")?.ino, "blkid is util-linux's");
});

it("every module modules-load.d names is in the root, kept by the prune or built in", () => {
  // systemd-modules-load loads them before sysinit.target: a name the prune dropped would fail
  // that unit on every boot.
  const root = `${OUT}/work/root`;
  const mods = `${root}/usr/lib/modules/${manifest.versions.kernel}`;
  const lines = (f: string) =>
    readFileSync(f, "utf8")
      .split("\n")
      .map((l) => l.replace(/#.*/, "").trim())
      .filter(Boolean);
  const name = (path: string) =>
    path
      .replace(/^.*\//, "")
      .replace(/\.ko(\.xz|\.zst)?$/, "")
      .replace(/-/g, "_");
  const have = new Set([
    ...lines(`${mods}/modules.dep`).map((l) => name(l.split(":")[0] ?? "")),
    ...lines(`${mods}/modules.builtin`).map(name),
  ]);
  const dir = `${root}/etc/modules-load.d`;
  const wanted = readdirSync(dir).flatMap((f) => lines(`${dir}/${f}`).map((n) => n.replace(/-/g, "_")));
  assert.ok(wanted.includes("jool"), wanted.join(" "));
  assert.deepEqual(
    wanted.filter((n) => !have.has(n)),
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

it("networkd reads the agent's .network files from /data, after /data is mounted", () => {
  const root = `${OUT}/work/root`;
  // Where the agent writes them (no GATE64_ROOT here: the box's own paths).
  assert.equal(readlinkSync(`${root}/etc/systemd/network`), PATHS.networkdDir);
  const dropIn = readFileSync(`${root}/usr/lib/systemd/system/systemd-networkd.service.d/gate64-data.conf`, "utf8");
  assert.match(dropIn, /^After=data\.mount gate64-data-fallback\.service$/m);
  // The NIC names: .link files in /usr/lib, where udev reads them at the NIC's appearance.
  assert.deepEqual(
    readdirSync(`${root}/usr/lib/systemd/network`)
      .filter((f) => f.startsWith("10-"))
      .sort(),
    ["10-lan.link", "10-wan.link"],
  );
});

it("at boot the datapath starts from the files last put into effect, kept on /data, before the agent", () => {
  const root = `${OUT}/work/root`;
  const unit = (name: string) => readFileSync(`${root}/usr/lib/systemd/system/${name}`, "utf8");
  // Where the agent keeps them (no GATE64_ROOT here: the box's own paths).
  const current = PATHS.current;
  // Enabled: the preset's link into the target's wants (to a path of the box, not of this host).
  const wanted = (target: string, name: string) => readdirSync(`${root}/etc/systemd/system/${target}.wants`).includes(name);
  assert.ok(wanted("sysinit.target", "gate64-datapath.service"), "gate64-datapath enabled");
  const datapath = unit("gate64-datapath.service");
  assert.match(datapath, /^After=data\.mount gate64-data-fallback\.service nftables-gate64\.service systemd-modules-load\.service/m);
  assert.match(datapath, new RegExp(`^ConditionPathExists=${current}$`, "m"));
  const script = readFileSync(`${root}/usr/lib/gate64/datapath-up`, "utf8");
  assert.match(script, new RegExp(`^dir=${current}$`, "m"));
  for (const rel of ["sysctl.d/90-gate64.conf", "nftables/gate64.nft", "jool/nat64.json"]) assert.ok(script.includes(`$dir/${rel}`), rel);
  // The record of the ruleset it loaded, where the agent's boot apply reads it.
  assert.match(script, new RegExp(`^loaded=${PATHS.datapathRuleset}$`, "m"));
  assert.match(unit("gate64-agent.service"), /^After=.* gate64-datapath\.service$/m);
  const coredns = unit("coredns.service");
  assert.match(coredns, new RegExp(`^ConditionPathExists=${current}/coredns/Corefile$`, "m"));
  assert.match(coredns, new RegExp(`^ExecStart=/usr/sbin/coredns -conf ${current}/coredns/Corefile `, "m"));
  assert.ok(wanted("multi-user.target", "coredns.service"), "coredns enabled");
  // It waits for the WAN's resolvers when it forwards to them, rather than fail to start.
  assert.match(coredns, new RegExp(`^ExecStartPre=/usr/lib/gate64/coredns-wait-upstreams ${current}/coredns/Corefile$`, "m"));
  const wait = readFileSync(`${root}/usr/lib/gate64/coredns-wait-upstreams`, "utf8");
  assert.ok(wait.split("\n").includes(`uplink=\${2:-${UPLINK_RESOLV_CONF}}`), "the uplink's resolv.conf");
  // CoreDNS may bind the LAN address before networkd has it.
  const bind = readFileSync(`${root}/usr/lib/sysctl.d/60-gate64-bind.conf`, "utf8");
  assert.match(bind, /^net\.ipv6\.ip_nonlocal_bind = 1$/m);
  assert.match(bind, /^net\.ipv4\.ip_nonlocal_bind = 1$/m);
});

it("systemd runs only the generators the box uses", () => {
  // PID 1 runs every generator before it starts a unit: 0.1-0.25 s each on the TCG lab VM, on
  // every boot's path. A generator a new systemd adds shows up here to be kept or masked.
  const root = `${OUT}/work/root`;
  const masked = new Set(
    readdirSync(`${root}/etc/systemd/system-generators`).filter(
      (f) => readlinkSync(`${root}/etc/systemd/system-generators/${f}`) === "/dev/null",
    ),
  );
  const run = readdirSync(`${root}/usr/lib/systemd/system-generators`).filter((f) => !masked.has(f));
  assert.deepEqual(run.sort(), [
    "systemd-bless-boot-generator",
    "systemd-debug-generator",
    "systemd-fstab-generator",
    "systemd-getty-generator",
  ]);
  assert.ok(masked.has("systemd-gpt-auto-generator"), [...masked].join(" "));
});

it("the bundle carries one UKI, the disk's, which the pre-install handler makes boot slot B", () => {
  const dir = mkdtempSync(join(tmpdir(), "gate64-bundle-"));
  try {
    const x = spawnSync("unsquashfs", ["-no-progress", "-d", `${dir}/b`, `${OUT}/${manifest.bundle}`], { encoding: "utf8" });
    assert.equal(x.status, 0, x.stderr);
    assert.deepEqual(readdirSync(`${dir}/b`).sort(), ["manifest.raucm", "rootfs.img", "uki.efi"]);
    const uki = readFileSync(`${dir}/b/uki.efi`);
    assert.ok(uki.equals(readFileSync(`${OUT}/work/buildroot/tmp/uki/gate64.efi`)), "the bundle's UKI is not the build's");
    assert.equal(ukiSlot(uki), "a");
    const b = Buffer.from(ukiForSlot(uki, "b"));
    const cmdline = (f: Uint8Array) => Buffer.from(peSection(f, ".cmdline") ?? []).toString("latin1");
    assert.match(cmdline(b), /^root=PARTLABEL=gate64-root-b rauc\.slot=b ro rootfstype=squashfs /);
    assert.equal(cmdline(b), cmdline(uki).replace("root-a", "root-b").replace("slot=a", "slot=b"));
    // ukify writes no PE checksum (0), so slot B's UKI is slot A's with two bytes changed.
    assert.equal(uki.readUInt32LE(uki.readUInt32LE(0x3c) + 24 + 64), 0);
    assert.equal(b.length, uki.length);
    assert.equal(b.filter((x, i) => x !== uki[i]).length, 2);
    // A UKI that carries one gets its checksum made right: ours is pefile's (ukify's library).
    const pefile = spawnSync(
      "chroot",
      [`${OUT}/work/buildroot`, "python3", "-c", "import pefile; print(pefile.PE('/tmp/uki/gate64.efi').generate_checksum())"],
      { encoding: "utf8" },
    );
    assert.equal(pefile.status, 0, pefile.stderr);
    assert.equal(Number(pefile.stdout), peChecksum(uki));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
  // RAUC is Debian's, rebuilt without network support: named by Debian's version for scanners.
  const rauc = sbom.components.find((c) => c.purl.startsWith("pkg:deb/debian/rauc@"));
  assert.doesNotMatch(rauc?.purl ?? "", /gate64/);
  assert.match(rauc?.pedigree?.notes ?? "", /-Dnetwork=false/);
});
