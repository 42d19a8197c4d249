// Update bundles for the lab: re-signed copies of the last image build (scripts/build-bundle)
// as other versions, broken on purpose, for another board, signed by another key, or tampered.
// Builds are asynchronous (a bundle with another version packs the root again: about a minute of
// mksquashfs) and run one at a time: scripts/build-bundle stages in one directory of the build stage.
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export class TestBundles {
  readonly dir = mkdtempSync(join(tmpdir(), "gate64-bundles-"));
  /** The version of the image the lab boots. */
  readonly built = readFileSync("out/x86-64/work/root/usr/lib/gate64/VERSION", "utf8").trim();

  constructor(readonly keys = process.env.GATE64_TEST_KEYS ?? "out/test-keys") {}

  path(name: string): string {
    return join(this.dir, `${name}.raucb`);
  }

  private queue: Promise<unknown> = Promise.resolve();

  /** Runs `job` after every build asked for before it. */
  private inTurn<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(job);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** scripts/build-bundle with these flags into <name>.raucb. */
  build(name: string, ...flags: string[]): Promise<string> {
    return this.inTurn(async () => {
      await bundleScript(["--keys", this.keys, "--out", this.path(name), ...flags]);
      return this.path(name);
    });
  }

  /** Signed by a key pair made now, which no box trusts. */
  foreignKey(name: string): Promise<string> {
    return this.inTurn(async () => {
      const keys = join(this.dir, "foreign-keys");
      await run("bash", ["scripts/keys", "init", keys]);
      await bundleScript(["--keys", keys, "--out", this.path(name), "--version", this.built]);
      return this.path(name);
    });
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

async function bundleScript(args: string[]): Promise<void> {
  try {
    await run("bash", ["scripts/build-bundle", ...args], { maxBuffer: 64 << 20 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`scripts/build-bundle ${args.join(" ")}: ${err.message}\n${err.stderr ?? ""}`);
  }
}
