// Bundles the agent and CLI into single CommonJS files for the device's Node runtime
// (ESM bundles break on mqtt's dynamic require of "stream"), and the fleet dashboard's page
// (out/agent/dashboard: served by `gate64 fleet dashboard` on the operator's machine, never in
// the image: the image takes only out/agent/*.cjs).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

// zod's namespace export carries every locale's messages (about 250 KB of each bundle); gate64
// speaks English only (the default zod registers itself), so the locale index becomes just that.
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes("/node_modules/zod/") ? { path: "zod-locales", namespace: "zod-english-only" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "zod-english-only" }, () => ({
      contents: 'export { default as en } from "zod/v4/locales/en.js";',
      resolveDir: process.cwd(),
      loader: "js",
    }));
  },
};

// mqtt.js carries what a browser needs: its own copy of Node's streams (readable-stream), a
// WebSocket client and Web Worker timers; and a SOCKS proxy client (its connector ./socks and the
// socks, ip-address and smart-buffer packages: 70 KB of the bundle). gate64 connects over mqtt://
// and mqtts:// from Node, directly (the configuration accepts no other scheme and no proxy), so
// the streams are Node's and the rest is left out: 3 MiB less RSS for a connected client, and
// another 1.1 MiB without the SOCKS client on the lab VM (docs/benchmarks.md#agent). A stub throws
// if reached.
const mqttNodeOnly = {
  name: "mqtt-node-only",
  setup(b) {
    b.onResolve({ filter: /^readable-stream$/ }, () => ({ path: "stream", external: true }));
    b.onResolve({ filter: /^(ws|worker-timers)$/ }, (args) => ({ path: args.path, namespace: "mqtt-node-only" }));
    b.onResolve({ filter: /^\.\/socks$/ }, (args) =>
      args.importer.includes("/node_modules/mqtt/") ? { path: "socks proxy", namespace: "mqtt-node-only" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "mqtt-node-only" }, (args) => ({
      contents: `const no = () => { throw new Error("${args.path} is not in gate64's bundle: mqtt:// and mqtts:// only, no proxy"); };
module.exports = Object.assign(no, { default: no, setInterval: no, clearInterval: no });`,
      loader: "js",
    }));
  },
};

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
  plugins: [zodEnglishOnly, mqttNodeOnly],
  logLevel: "warning",
};

await build({ ...common, entryPoints: ["agent/src/cli/bin.ts"], outfile: "out/agent/gate64.cjs" });
await build({ ...common, entryPoints: ["agent/src/daemon/main.ts"], outfile: "out/agent/gate64-agent.cjs" });

const page = "out/agent/dashboard";
mkdirSync(page, { recursive: true });
await build({
  entryPoints: ["agent/web/dashboard/app.ts"],
  outfile: `${page}/app.js`,
  bundle: true,
  platform: "browser",
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "linked",
  logLevel: "warning",
});
copyFileSync("agent/web/dashboard/index.html", `${page}/index.html`);
writeFileSync(
  `${page}/app.css`,
  `${readFileSync("agent/web/dashboard/app.css", "utf8")}\n${readFileSync("node_modules/uplot/dist/uPlot.min.css", "utf8")}`,
);
console.log("built out/agent/gate64.cjs, out/agent/gate64-agent.cjs and out/agent/dashboard/");
