// npm run bench -- <name>: benchmarks print one JSON object per line (docs/benchmarks.md), and
// exit non-zero when a figure came out missing or not a number (bench/report.ts).
import { missingFigures } from "./bench/report.js";

const BENCHES: Record<string, () => Promise<{ run: (args: string[]) => Promise<void> }>> = {
  dns64: () => import("./bench/dns64.js"),
  image: () => import("./bench/image.js"),
  boot: () => import("./bench/boot.js"),
  nat64: () => import("./bench/nat64.js"),
  agent: () => import("./bench/agent.js"),
  fleet: () => import("./bench/fleet.js"),
  update: () => import("./bench/update.js"),
  dashboard: () => import("./bench/dashboard.js"),
};

const [name, ...args] = process.argv.slice(2);
const load = name === undefined ? undefined : BENCHES[name];
if (load === undefined) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join("|")}>\n`);
  process.exit(2);
}
await (await load()).run(args);
const missing = missingFigures();
if (missing.length > 0) {
  process.stderr.write(`bench ${name}: ${missing.length} figure(s) not measured:\n${missing.map((m) => `  ${m}\n`).join("")}`);
  process.exit(1);
}
