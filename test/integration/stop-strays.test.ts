// The build stage's last customize hook (image/hooks/customize-stop-strays.sh) against a real
// chroot: it ends what is left running inside, and returns only once it has gone, since
// mmdebstrap unmounts the chroot's /proc right after it and a busy /proc stayed mounted in the
// cached stage. Nothing outside the chroot is touched.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isRoot } from "../../scripts/lab/netns.js";

const HOOK = "image/hooks/customize-stop-strays.sh";

/** A directory holding dash and sleep with the libraries they link: enough to chroot into. */
function miniRoot(): string {
  const root = mkdtempSync(join(tmpdir(), "gate64-strays-"));
  const bins = ["/usr/bin/dash", "/usr/bin/sleep"];
  const libs = bins.flatMap((b) =>
    [...execFileSync("ldd", [b], { encoding: "utf8" }).matchAll(/(\/\S+) \(0x/g)].map((m) => m[1] as string),
  );
  for (const file of new Set([...bins, ...libs])) {
    const dest = join(root, file);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(realpathSync(file), dest);
  }
  return root;
}

const exited = (p: ChildProcess) =>
  new Promise<NodeJS.Signals | null>((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) resolve(p.signalCode);
    else p.once("exit", (_code, signal) => resolve(signal));
  });

/** The hook as mmdebstrap runs it; the milliseconds it took. */
function runHook(root: string): number {
  const t0 = Date.now();
  execFileSync("sh", [HOOK, root], { stdio: "pipe" });
  return Date.now() - t0;
}

/** Whether `pid` still runs with its root in `root` (a zombie has no root link). */
function runsIn(pid: number, root: string): boolean {
  try {
    return execFileSync("readlink", [`/proc/${pid}/root`], { encoding: "utf8" }).trim() === realpathSync(root);
  } catch {
    return false;
  }
}

describe("the build stage's stop-strays hook", { skip: !isRoot() && "needs root for chroot" }, () => {
  let root: string;
  const started: ChildProcess[] = [];
  const start = (cmd: string, args: string[]) => {
    const p = spawn(cmd, args, { stdio: "ignore" });
    started.push(p);
    return p;
  };
  before(() => {
    root = miniRoot();
  });
  after(() => {
    for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  });

  it("ends a process left in the chroot and one that ignores SIGTERM, and leaves the host's", async () => {
    const stray = start("chroot", [root, "/usr/bin/sleep", "300"]);
    // A trap that ignores SIGTERM is inherited by the sleep it runs: both need SIGKILL.
    const stubborn = start("chroot", [root, "/usr/bin/dash", "-c", 'trap "" TERM; /usr/bin/sleep 300; echo']);
    const host = start("sleep", ["300"]);
    await new Promise((r) => setTimeout(r, 300));
    for (const p of [stray, stubborn]) assert.ok(runsIn(p.pid as number, root), `pid ${p.pid} is not in the chroot`);

    const ms = runHook(root);
    for (const p of [stray, stubborn]) assert.ok(!runsIn(p.pid as number, root), `pid ${p.pid} still runs after the hook`);
    assert.equal(await exited(stray), "SIGTERM");
    assert.equal(await exited(stubborn), "SIGKILL");
    assert.ok(ms >= 4000, `returned after ${ms} ms: it did not wait for SIGTERM to be ignored`);
    assert.equal(host.exitCode, null, "the host's sleep was ended");
    assert.equal(host.signalCode, null, "the host's sleep was ended");
  });

  it("returns at once when nothing is left", () => {
    assert.ok(runHook(root) < 2000);
  });
});
