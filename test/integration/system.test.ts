// The real system's network and process parts. The update download (realSystem.download) against
// a real HTTP server on loopback: the bytes and their SHA-256, redirects, refusals named by
// status, the size and time limits, and that it runs in V8's lite mode as the agent does (no
// WebAssembly, so no fetch). The updater on a /data too small for the bundle. The lines of a watched command (the WAN follower's `ip monitor`), and
// binary files read and written whole.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { realSystem } from "../../agent/src/system/real.js";
import { waitFor } from "../../scripts/lab/netns.js";

const BODY = Buffer.alloc(300_000, "gate64 bundle ");

describe("the update download", () => {
  let server: Server;
  let base = "";
  const dir = mkdtempSync(join(tmpdir(), "gate64-download-"));
  const dest = join(dir, "bundle.part");
  const limits = { maxBytes: 1_000_000, timeoutMs: 10_000 };

  before(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? "/";
      const hops = /^\/hop\/(\d+)$/.exec(path);
      if (path === "/bundle") res.end(BODY);
      else if (path === "/moved") res.writeHead(302, { location: "bundle" }).end();
      else if (hops) res.writeHead(307, { location: `/hop/${Number(hops[1]) + 1}` }).end();
      else if (path === "/stalls")
        res.writeHead(200).write(BODY.subarray(0, 1000)); // and never ends
      else res.writeHead(404).end();
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes the body and gives its size and SHA-256, after a relative redirect", async () => {
    const seen: number[] = [];
    const got = await realSystem.download(`${base}/moved`, dest, { ...limits, onBytes: (n) => seen.push(n) });
    assert.deepEqual(got, { bytes: BODY.length, sha256: createHash("sha256").update(BODY).digest("hex") });
    assert.ok(readFileSync(dest).equals(BODY));
    assert.equal(seen.at(-1), BODY.length);
  });

  it("names the status of a refused request", async () => {
    await assert.rejects(realSystem.download(`${base}/missing`, dest, limits), { message: `${base}/missing: HTTP 404` });
  });

  it("stops after five redirects", async () => {
    await assert.rejects(realSystem.download(`${base}/hop/0`, dest, limits), /more than 5 redirects/);
  });

  it("stops at maxBytes, before writing when the server says the length, and when its time is up", async () => {
    const early = join(dir, "early.part");
    await assert.rejects(realSystem.download(`${base}/bundle`, early, { ...limits, maxBytes: 1000 }), {
      message: `${BODY.length} bytes, more than 1000`,
    });
    assert.equal(existsSync(early), false);
    await assert.rejects(realSystem.download(`${base}/stalls`, dest, { ...limits, maxBytes: 500 }), { message: "more than 500 bytes" });
    await assert.rejects(realSystem.download(`${base}/stalls`, dest, { ...limits, timeoutMs: 500 }), {
      message: `${base}/stalls: not complete in 500 ms`,
    });
  });

  it("runs in V8's lite mode, as the agent's unit starts Node (no WebAssembly)", async () => {
    const script = join(dir, "lite.mts");
    writeFileSync(
      script,
      `import { realSystem } from ${JSON.stringify(resolve("agent/src/system/real.ts"))};
const got = await realSystem.download(process.argv[2], process.argv[3], { maxBytes: 1e6, timeoutMs: 10000 });
console.log(typeof WebAssembly, got.bytes);\n`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, ["--lite-mode", "--import", "tsx", script, `${base}/bundle`, dest], {
      timeout: 60_000,
    });
    assert.equal(stdout.trim(), `undefined ${BODY.length}`);
  });
});

it("hands a watched command's output over line by line, across chunks, and stops it", async () => {
  const lines: string[] = [];
  const stop = realSystem.watch("sh", ["-c", 'printf "one\\ntw"; sleep 0.3; printf "o\\nthree\\n"; exec sleep 30'], (l) => lines.push(l));
  await waitFor("three lines", () => lines.length >= 3).catch(() => undefined);
  stop();
  assert.deepEqual(lines, ["one", "two", "three"]);
});

it("reads and atomically writes a binary file byte for byte (the pre-install handler's UKI)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gate64-bytes-"));
  try {
    const bytes = new Uint8Array(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    await realSystem.writeFileAtomic(join(dir, "EFI/Linux/gate64-0-b+0-0.efi"), bytes);
    assert.deepEqual(await realSystem.readBytes(join(dir, "EFI/Linux/gate64-0-b+0-0.efi")), Buffer.from(bytes));
    assert.deepEqual(readFileSync(join(dir, "EFI/Linux/gate64-0-b+0-0.efi")), Buffer.from(bytes));
    assert.equal(await realSystem.readBytes(join(dir, "absent.efi")), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The updater on a /data too small for the bundle: a tmpfs of 24 MiB in a mount namespace of the
// child's own (gone with it), the rest of the box's files under GATE64_ROOT.
describe("an update on a /data without room for the bundle", () => {
  const BIG = Buffer.alloc(30 * 1024 * 1024, "gate64 bundle ");
  let server: Server;
  let base = "";
  const root = mkdtempSync(join(tmpdir(), "gate64-room-"));
  const script = join(root, "install.mts");

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === "/sized") res.writeHead(200, { "content-length": BIG.length }).end(BIG);
      else {
        // No length: the box learns the size only as the bytes come (chunked).
        for (let at = 0; at < BIG.length; at += 1 << 20) res.write(BIG.subarray(at, at + (1 << 20)));
        res.end();
      }
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const [path, text] of [
      ["proc/cmdline", "root=PARTLABEL=gate64-root-a rauc.slot=a ro\n"],
      ["proc/self/mounts", "/dev/vda4 /data ext4 rw,noatime 0 0\n"],
      ["etc/rauc/system.conf", "[system]\ncompatible=gate64-x86-64\n"],
    ]) {
      mkdirSync(dirname(join(root, path as string)), { recursive: true });
      writeFileSync(join(root, path as string), text as string);
    }
    mkdirSync(join(root, "data"));
    writeFileSync(
      script,
      `import { readdirSync } from "node:fs";
import { realSystem } from ${JSON.stringify(resolve("agent/src/system/real.ts"))};
import { Updater } from ${JSON.stringify(resolve("agent/src/update/updater.ts"))};
const u = new Updater({ sys: realSystem, log: () => undefined, version: "0.1.0", blocker: () => null, onChange: () => undefined });
await u.recover();
let refused;
try {
  await u.start(JSON.parse(process.argv[2]), "op_admin");
  await u.settled();
} catch (e) {
  refused = { message: e.message, field: e.field };
}
console.log(JSON.stringify({ refused, status: u.status(), files: readdirSync(process.env.GATE64_ROOT + "/data/gate64/update", { withFileTypes: true }).map((f) => f.name) }));
`,
    );
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function install(
    req: object,
  ): Promise<{ refused?: { message: string; field?: string }; status: { phase: string; reason?: string } | null; files: string[] }> {
    const { stdout } = await promisify(execFile)(
      "unshare",
      [
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        'mount -t tmpfs -o size=24m gate64-test "$1/data" && mkdir -p "$1/data/gate64/update" && exec "$2" --import tsx "$3" "$4"',
        "sh",
        root,
        process.execPath,
        script,
        JSON.stringify(req),
      ],
      { timeout: 120_000, env: { ...process.env, GATE64_ROOT: root } },
    );
    return JSON.parse(stdout);
  }

  it("refuses a command whose size does not fit, naming the field, and writes nothing", async () => {
    const r = await install({ url: `${base}/sized`, size: BIG.length, allowDowngrade: false });
    assert.equal(r.refused?.field, "size");
    assert.match(r.refused?.message ?? "", /does not fit on \/data/);
    assert.equal(r.status, null);
    assert.deepEqual(r.files, []);
  });

  it("stops a download that outgrows the room, keeps room for its record and leaves no partial file", async () => {
    for (const path of ["/sized", "/chunked"]) {
      const r = await install({ url: `${base}${path}`, allowDowngrade: false });
      assert.equal(r.status?.phase, "failed", path);
      assert.match(r.status?.reason ?? "", /does not fit on \/data/, path);
      assert.deepEqual(r.files, ["attempt.json"], path);
    }
  });
});
