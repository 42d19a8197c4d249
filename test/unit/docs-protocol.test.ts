// docs/protocol.md is the contract for dashboard writers: every command and message is in it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { AvailabilitySchema, COMMAND_NAMES, ErrorCodeSchema, ReportedSchema } from "../../agent/src/fleet/protocol.js";

const doc = readFileSync("docs/protocol.md", "utf8");

it("documents every command, availability value, report status and error code", () => {
  const missing = [
    ...COMMAND_NAMES.map((c) => `| \`${c}\``),
    ...AvailabilitySchema.options.map((a) => `| \`${a}\``),
    ...ReportedSchema.shape.status.options.map((s) => `\`${s}\``),
    ...ErrorCodeSchema.options.map((c) => `\`${c}\``),
  ].filter((needle) => !doc.includes(needle));
  assert.deepEqual(missing, []);
});
