// Bundles the agent and CLI into single CommonJS files for the device's Node runtime
// (ESM bundles break on mqtt's dynamic require of "stream").
import { build } from "esbuild";

const common = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  // The pty addon is loaded from prebuilds/ beside the bundle at run time.
  external: ["@lydell/node-pty"],
  logLevel: "warning",
};

await build({ ...common, entryPoints: ["agent/src/cli/bin.ts"], outfile: "out/agent/gate64.cjs" });
await build({ ...common, entryPoints: ["agent/src/daemon/main.ts"], outfile: "out/agent/gate64-agent.cjs" });
console.log("built out/agent/gate64.cjs and out/agent/gate64-agent.cjs");
