#!/usr/bin/env node
// Entry point for `npx gate64`: the bundled CLI (run `npm run build` first).
const { existsSync } = require("node:fs");
const { join } = require("node:path");
const bundle = join(__dirname, "..", "out", "agent", "gate64.cjs");
if (!existsSync(bundle)) {
  process.stderr.write("gate64: the CLI is not built yet; run `npm run build`\n");
  process.exit(3);
}
require(bundle);
