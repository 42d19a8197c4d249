// The built agent (out/agent/gate64-agent.cjs) as its unit starts it (`node --lite-mode`), against
// a scratch root whose config.json is refused: it validates and exits before touching the system.
// Every `new Function` it makes is counted by a preload: zod compiles a parser per object schema
// unless told not to before the schemas are built (agent/src/daemon/zod-jitless.ts).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, it } from "node:test";

const dir = mkdtempSync(join(tmpdir(), "gate64-agent-bundle-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const hook = join(dir, "count-functions.cjs");
writeFileSync(
  hook,
  `let n = 0;
globalThis.Function = new Proxy(Function, { construct: (t, a) => (n++, Reflect.construct(t, a)) });
process.on("exit", () => process.stderr.write("new Function: " + n + "\\n"));\n`,
);

/** A config that names a LAN and no WAN: refused, with the missing field named. */
const REFUSED = { interfaces: { lan: { name: "lan" } } };

/** The preload's count of \`new Function\` in a process's stderr. */
function compiled(stderr: string): number {
  const m = /new Function: (\d+)/.exec(stderr);
  assert.ok(m, `no count from the preload: ${stderr}`);
  return Number(m[1]);
}

/** Runs a bundle against REFUSED: its log, exit status and `new Function` count. */
function runRefused(bundle: string): { log: string; status: number | null; compiled: number } {
  const root = join(dir, "root");
  mkdirSync(join(root, "data/gate64"), { recursive: true });
  writeFileSync(join(root, "data/gate64/config.json"), JSON.stringify(REFUSED));
  // No NOTIFY_SOCKET: the agent would tell a service manager about itself.
  const { NOTIFY_SOCKET: _, ...env } = process.env;
  const r = spawnSync(process.execPath, ["--lite-mode", "-r", hook, bundle], {
    env: { ...env, GATE64_ROOT: root },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { log: r.stdout, status: r.status, compiled: compiled(r.stderr) };
}

it("validates its configuration without compiling code (zod in jitless mode, set before any schema)", () => {
  const agent = runRefused(resolve("out/agent/gate64-agent.cjs"));
  assert.match(agent.log, /config\.json refused/);
  assert.match(agent.log, /interfaces\.wan: /, "the refusal names the missing field");
  assert.equal(agent.status, 1, "no configuration to run: it exits");
  assert.equal(agent.compiled, 0);
});

it("would compile parsers with zod's default (the count can fail)", () => {
  // The same validation from the sources, without the daemon's first import.
  const script = join(dir, "default.mts");
  writeFileSync(
    script,
    `import { validateConfig } from ${JSON.stringify(resolve("agent/src/config/validate.ts"))};
const v = validateConfig(${JSON.stringify(REFUSED)});
if (v.ok) throw new Error("accepted");\n`,
  );
  const r = spawnSync(process.execPath, ["--lite-mode", "-r", hook, "--import", "tsx", script], { encoding: "utf8", timeout: 60_000 });
  assert.ok(compiled(r.stderr) > 0, r.stderr);
});
