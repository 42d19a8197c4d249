// The gate64 config commands as a user runs them (through tsx, so no build is needed).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";

// One temporary directory for the whole file, removed afterwards.
const tmp = mkdtempSync(join(tmpdir(), "gate64-cli-config-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function gate64(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "agent/src/cli/bin.ts", ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("gate64 config", () => {
  it("validate accepts every example in docs/examples", () => {
    for (const f of ["minimal", "static-wan", "lab", "network-specific-prefix"]) {
      const r = gate64("config", "validate", `docs/examples/${f}.json`);
      assert.equal(r.code, 0, `${f}: ${r.stderr}`);
      assert.match(r.stdout, /^valid /);
    }
  });

  it("validate refuses a bad file with every problem as path: reason, exit 1", () => {
    const file = join(tmp, "bad.json");
    writeFileSync(file, JSON.stringify({ interfaces: { lan: { name: "x" }, wan: { name: "x" } }, dns64: { acl: ["::/0"] } }));
    const r = gate64("config", "validate", file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^interfaces\.wan\.name: is the same as interfaces\.lan\.name/m);
    assert.match(r.stderr, /^dns64\.acl\[0\]: ::\/0 admits the whole internet/m);
    const j = gate64("config", "validate", file, "--json");
    assert.equal(j.code, 1);
    const body = JSON.parse(j.stdout);
    assert.equal(body.ok, false);
    assert.equal(body.detail.problems.length, 2);
  });

  it("validate reports unreadable and non-JSON files", () => {
    assert.equal(gate64("config", "validate", "/nonexistent.json").code, 1);
    writeFileSync(join(tmp, "x.json"), "{ nope");
    const r = gate64("config", "validate", join(tmp, "x.json"));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\(file\): is not valid JSON/);
  });

  it("render writes every file", () => {
    const dir = join(tmp, "render");
    const r = gate64("config", "render", "docs/examples/lab.json", "--out", dir, "--json");
    assert.equal(r.code, 0, r.stderr);
    const files = JSON.parse(r.stdout).files as string[];
    assert.ok(files.includes("coredns/Corefile") && files.includes("jool/nat64.json"));
    assert.match(readFileSync(join(dir, "coredns/Corefile"), "utf8"), /allow_nonglobal 198\.51\.100\.0\/24/);
  });

  it("schema prints JSON Schema generated from the zod schema", () => {
    const r = gate64("config", "schema");
    assert.equal(r.code, 0);
    const s = JSON.parse(r.stdout);
    assert.equal(s.type, "object");
    assert.ok(s.properties.nat64.properties.pool6);
    assert.deepEqual(s.required, ["interfaces"]);
  });

  it("usage errors exit 2", () => {
    assert.equal(gate64("config").code, 2);
    assert.equal(gate64("nope").code, 2);
    assert.equal(gate64("config", "render", "docs/examples/lab.json").code, 2);
  });
});
