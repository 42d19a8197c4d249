// The command line as a person or a script meets it: usage on --help everywhere, a bad flag
// named before anything is sent, one exit-code table, quiet exit on a closed pipe, and no box-
// supplied escape sequence reaching the terminal.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { EXIT, exitForOutcome } from "../../agent/src/cli/errors.js";
import { COMMANDS } from "../../agent/src/cli/main.js";
import { planRollout } from "../../agent/src/fleet/rollout.js";
import { clean } from "../../agent/src/lib/terminal.js";

function gate64(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "agent/src/cli/bin.ts", ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("gate64 CLI", () => {
  it("prints usage on stdout and exits 0 for --help and -h on every command and subcommand", () => {
    const calls = [
      ...Object.keys(COMMANDS).map((c) => [c, "--help"]),
      ["fleet", "rollout", "-h"],
      ["fleet", "config", "set", "--help"],
      ["config", "set", "-h"],
      ["fleet", "--help"],
    ];
    for (const args of calls) {
      const r = gate64(...args);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stdout, /^usage:[\s\S]*gate64 /, args.join(" "));
      assert.equal(r.stderr, "", args.join(" "));
    }
  });

  it("refuses a bad flag with exit 2, naming it, before connecting anywhere", () => {
    // --url points nowhere reachable: a parse that let the flag through would fail later, with 4.
    for (const [flag, value, why] of [
      ["--canary", "x", /--canary: must be a whole number/],
      ["--batch", "0", /--batch: must be at least 1/],
      ["--timeout", "1.5", /--timeout: must be a whole number/],
      ["--mqtt", "3", /--mqtt: must be 4 or 5/],
    ] as const) {
      const r = gate64("fleet", "rollout", "cfg.json", "--group", "g", flag, value, "--url", "mqtt://127.0.0.1:1");
      assert.equal(r.code, EXIT.usage, `${flag} ${value}: ${r.stderr}`);
      assert.match(r.stderr, why);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    }
    const unknown = gate64("fleet", "ls", "--canry", "2");
    assert.equal(unknown.code, EXIT.usage);
    assert.match(unknown.stderr, /Unknown option '--canry'/);
    assert.equal(gate64("health", "--wacth").code, EXIT.usage);
    assert.equal(gate64("config", "set", "a", "b", "--confirm", "2").code, EXIT.usage);
  });

  it("never plans a rollout without its canaries", () => {
    assert.throws(() => planRollout(["a", "b"], Number.NaN, 10), /canary count NaN/);
    assert.throws(() => planRollout(["a", "b"], 1, 0), /batch size 0/);
    assert.deepEqual(planRollout(["b", "a", "c"], 1, 1), [["a"], ["b"], ["c"]]);
  });

  it("maps outcomes to one table of exit codes, console and fleet alike", () => {
    assert.equal(exitForOutcome("applied"), EXIT.ok);
    assert.equal(exitForOutcome("unchanged"), EXIT.ok);
    assert.equal(exitForOutcome("refused"), EXIT.invalid);
    assert.equal(exitForOutcome("reverted"), EXIT.failure);
  });

  it("exits quietly when its output pipe closes early", () => {
    const r = spawnSync(
      "bash",
      ["-c", `set -o pipefail; ${process.execPath} --import tsx agent/src/cli/bin.ts config schema | head -c 10 >/dev/null`],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /EPIPE/);
  });

  it("keeps a box's escape sequences out of the operator's terminal", () => {
    assert.equal(clean("ok\u001b]0;pwned\u0007\u001b[2J\u009b31m"), "ok?]0;pwned??[2J?31m");
    assert.equal(clean("plain text: 198.51.100.2"), "plain text: 198.51.100.2");
  });

  it("prints a bash completion script that bash accepts", () => {
    const r = gate64("completion", "bash");
    assert.equal(r.code, 0);
    assert.match(r.stdout, /complete -F _gate64 gate64/);
    const syntax = spawnSync("bash", ["-n"], { input: r.stdout, encoding: "utf8" });
    assert.equal(syntax.status, 0, syntax.stderr);
    const words = spawnSync("bash", ["-c", `${r.stdout}\nCOMP_WORDS=(gate64 fleet r); COMP_CWORD=2; _gate64; echo "\${COMPREPLY[*]}"`], {
      encoding: "utf8",
    });
    assert.equal(words.stdout.trim(), "rollout");
  });
});
