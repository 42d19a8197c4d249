// Update bundles for the lab: re-signed copies of the last image build (scripts/build-bundle)
// as other versions, broken on purpose, for another board, signed by another key, or tampered;
// with STAND_IN, a few KiB of stand-ins in place of the root and the UKI.
// The builds run as child processes without blocking, so a test can boot its lab meanwhile; one
// at a time (they share the image tree's staging directory).
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** build-bundle's flag for a bundle the box must refuse before it writes a byte: its payload is
 * never installed, and the lab downloads a full one at 2-3 MB/s under TCG (about 45 s). */
export const STAND_IN = "--stand-in-for-test";

export class TestBundles {
  readonly dir = mkdtempSync(join(tmpdir(), "gate64-bundles-"));
  /** The version of the image the lab boots. */
  readonly built = readFileSync("out/x86-64/work/root/usr/lib/gate64/VERSION", "utf8").trim();

  constructor(readonly keys = process.env.GATE64_TEST_KEYS ?? "out/test-keys") {}

  path(name: string): string {
    return join(this.dir, `${name}.raucb`);
  }

  /** scripts/build-bundle with these flags into <name>.raucb. */
  build(name: string, ...flags: string[]): Promise<string> {
    return this.signed(this.keys, name, flags);
  }

  /** Signed by a key pair made now, which no box trusts. */
  async foreignKey(name: string, ...flags: string[]): Promise<string> {
    const keys = join(this.dir, "foreign-keys");
    await run("bash", ["scripts/keys", "init", keys]);
    return this.signed(keys, name, ["--version", this.built, ...flags]);
  }

  private async signed(keys: string, name: string, flags: string[]): Promise<string> {
    try {
      await run("bash", ["scripts/build-bundle", "--keys", keys, "--out", this.path(name), ...flags], { maxBuffer: 64 << 20 });
    } catch (e) {
      throw new Error(`build-bundle ${name} failed: ${(e as { stderr?: string }).stderr ?? String(e)}`);
    }
    return this.path(name);
  }

  /** A copy of `from` with one byte of its payload flipped (a third into the file). */
  tampered(name: string, from: string): string {
    copyFileSync(from, this.path(name));
    const at = Math.floor(statSync(from).size / 3);
    const fd = openSync(this.path(name), "r+");
    writeSync(fd, Buffer.from([readFileSync(from).readUInt8(at) ^ 0xff]), 0, 1, at);
    return this.path(name);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
