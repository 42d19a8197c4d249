// A benchmark cannot print nothing: a figure that came out missing or not a number is named.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { missingFigures, report } from "../../scripts/bench/report.js";

describe("bench figures", () => {
  it("names each figure that is null, undefined or not a finite number, and passes real ones", () => {
    const log = console.log;
    const printed: string[] = [];
    console.log = (s: string) => printed.push(s);
    try {
      report({ bench: "agent", agentIdleRssMiB: 88.2, ratio: 2.01, exit: 0, label: "x" });
      assert.deepEqual(missingFigures(), []);
      report({ bench: "agent", agentIdleRssMiB: null, nested: { p99: Number.NaN, ok: [1, Number.POSITIVE_INFINITY] } });
    } finally {
      console.log = log;
    }
    assert.equal(printed.length, 2, "the line is printed either way");
    assert.deepEqual(missingFigures(), ["agent: agentIdleRssMiB is null", "agent: nested.p99 is NaN", "agent: nested.ok[1] is Infinity"]);
  });
});
