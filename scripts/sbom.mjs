// The release's software bill of materials, CycloneDX 1.5 JSON, from what the build already knows:
// the root's Debian packages (dpkg database, so the kernel and the Jool module package are in it),
// the npm packages bundled into the agent (package-lock.json, production only), CoreDNS's Go
// modules (image/coredns/go.mod, the full pruned graph), the Node runtime and CoreDNS itself.
// Package URLs (purl) let a scanner (grype, trivy, osv-scanner) match them against advisories.
// Usage: node scripts/sbom.mjs BOARD WORKDIR VERSION JOOLVER > sbom.cdx.json
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [board, work, version, jool] = process.argv.slice(2);
// The merged board profile build-image wrote (scripts/board.ts).
const boardJson = JSON.parse(readFileSync(`${work}/board.json`, "utf8"));
const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const arch = boardJson.debianArch;

const REBUILT = {
  rauc: "Debian's source package rebuilt with -Dnetwork=false -Dstreaming=false, without libcurl (image/hooks/customize-rauc.sh)",
};
const DPKG_FORMAT = ["-f=$", "{Package}\t$", "{Version}\t$", "{Architecture}\n"].join("");
const debs = execFileSync("dpkg-query", [`--admindir=${join(work, "root/var/lib/dpkg")}`, "-W", DPKG_FORMAT], { encoding: "utf8" })
  .trim()
  .split("\n")
  .map((l) => l.split("\t"))
  .map(([name, v, a]) => {
    // A Debian package the build rebuilt from its source (version +gate64.N, image/hooks) is named
    // by Debian's version, which advisories are matched against, and says what changed.
    const [debian, rebuilt] = v.split(/\+gate64\./);
    return {
      type: "library",
      name,
      version: v,
      purl: name.startsWith("gate64-")
        ? `pkg:generic/${name}@${encodeURIComponent(v)}`
        : `pkg:deb/debian/${name}@${encodeURIComponent(debian)}?arch=${a}&distro=debian-${boardJson.suite}`,
      ...(rebuilt && { pedigree: { notes: REBUILT[name] ?? `rebuilt from Debian's source ${debian}` } }),
    };
  });

const npm = Object.entries(lock.packages)
  .filter(([path, p]) => path !== "" && !p.dev && !(p.optional && p.os && !p.cpu?.includes(arch === "amd64" ? "x64" : arch)))
  .map(([path, p]) => {
    const name = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
    return { type: "library", name, version: p.version, purl: `pkg:npm/${name.replace("@", "%40")}@${p.version}` };
  });

const gomod = readFileSync("image/coredns/go.mod", "utf8");
const goModules = [...gomod.matchAll(/^\s+(\S+) (v\S+)/gm)].map(([, mod, v]) => ({
  type: "library",
  name: mod,
  version: v,
  purl: `pkg:golang/${mod}@${v}`,
}));

const node = boardJson.nodeRuntime.split("@")[1];
const sbom = {
  bomFormat: "CycloneDX",
  specVersion: "1.5",
  serialNumber: `urn:uuid:${uuidFrom(`${board}:${version}`)}`,
  version: 1,
  metadata: {
    timestamp: new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000).toISOString(),
    component: { type: "firmware", name: `gate64-${board}`, version },
  },
  components: [
    {
      type: "application",
      name: "node",
      version: node,
      purl: `pkg:generic/nodejs/node@${node}`,
      pedigree: {
        notes: "Official binary, stripped; its embedded ICU data trimmed to the root and English locales (scripts/trim-node-icu)",
      },
    },
    // The Jool modules are built from Debian's jool-dkms in the build stage (gate64-jool-modules).
    {
      type: "library",
      name: "jool-dkms",
      version: jool,
      purl: `pkg:deb/debian/jool-dkms@${encodeURIComponent(jool)}?arch=all&distro=debian-${boardJson.suite}`,
    },
    ...debs,
    ...npm,
    ...goModules,
  ].map((c) => ({ ...c, "bom-ref": c.purl })),
};
process.stdout.write(`${JSON.stringify(sbom, null, 2)}\n`);

/** A UUID from a name, so one release gives one serial number. */
function uuidFrom(name) {
  const h = createHash("sha256").update(name).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
