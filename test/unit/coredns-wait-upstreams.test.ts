// coredns.service's ExecStartPre, run by bash as the unit runs it: CoreDNS starts at once unless
// its Corefile forwards to the WAN's resolvers, and then only once resolv.conf names one.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

const SCRIPT = resolve("overlays/common/usr/lib/gate64/coredns-wait-upstreams");

let dir: string;
let resolvConf: string;
/** Each run of a `sleep` shim first on PATH appends a line here. */
let sleeps: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "gate64-wait-upstreams-"));
  resolvConf = join(dir, "resolv.conf");
  sleeps = join(dir, "sleeps");
  writeFileSync(sleeps, "");
  writeFileSync(join(dir, "sleep"), `#!/bin/sh\necho "$@" >> ${sleeps}\nexec /bin/sleep "$@"\n`);
  chmodSync(join(dir, "sleep"), 0o755);
});

after(() => rmSync(dir, { recursive: true, force: true }));

function corefile(forward: string): string {
  const file = join(dir, `Corefile.${forward.replaceAll("/", "_")}`);
  writeFileSync(file, `.:53 {\n    bind ::1\n    forward . ${forward} {\n        max_concurrent 1000\n    }\n}\n`);
  return file;
}

function start(file: string): ChildProcess {
  return spawn("bash", [SCRIPT, file, resolvConf], {
    env: { PATH: `${dir}:${process.env.PATH ?? ""}`, TMPDIR: dir },
    stdio: "ignore",
  });
}

/** The exit code, or null if it is still waiting after `ms`. */
async function exitWithin(p: ChildProcess, ms: number): Promise<number | null> {
  const exited = once(p, "exit").then(([code]) => code as number);
  return Promise.race([exited, sleep(ms).then(() => null)]);
}

describe("coredns-wait-upstreams", () => {
  it("returns at once for a Corefile with upstreams of its own, though no resolver was learned", async () => {
    rmSync(resolvConf, { force: true });
    assert.equal(await exitWithin(start(corefile("192.0.2.53")), 5000), 0);
  });

  it("waits until the WAN's resolv.conf names a nameserver, with no process per look", async () => {
    writeFileSync(resolvConf, "# no servers yet\nsearch lan.example\n");
    const p = start(corefile(resolvConf));
    try {
      assert.equal(await exitWithin(p, 1500), null, "it returned before a nameserver was named");
      writeFileSync(resolvConf, "nameserver 192.0.2.53\nsearch lan.example\n");
      assert.equal(await exitWithin(p, 5000), 0);
    } finally {
      p.kill();
    }
    // The pause between looks is read's timeout: a `sleep` per look was a process each.
    assert.equal(readFileSync(sleeps, "utf8"), "");
  });
});
