// The agent's layers import downward only, and nothing but the daemon's entry point is built on
// daemon/. Read from the sources' import lines, so a change that breaks the layering fails here.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { it } from "node:test";

const SRC = "agent/src";

/** What each layer may import (besides itself). paths.ts is a leaf anyone may use. */
const MAY_IMPORT: Record<string, string[]> = {
  system: [],
  lib: ["system"],
  config: ["lib"],
  render: ["config", "lib"],
  observe: ["config", "lib", "render", "system", "paths"],
  apply: ["config", "lib", "render", "system", "observe", "paths"],
  update: ["config", "lib", "system", "observe", "paths"],
  device: ["apply", "config", "control", "lib", "render", "system", "observe", "paths", "update", "provision"],
  provision: ["config", "lib", "system", "paths"],
  control: ["config", "paths", "update"],
  fleet: ["device", "apply", "config", "lib", "render", "system", "observe", "paths", "update"],
  dashboard: ["fleet", "apply", "config", "lib", "observe", "update", "paths"],
  cli: ["dashboard", "fleet", "device", "apply", "config", "control", "lib", "render", "system", "observe", "provision", "paths", "update"],
  daemon: ["fleet", "device", "apply", "config", "control", "lib", "render", "system", "observe", "provision", "paths", "update"],
  paths: [],
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const layerOf = (file: string) => relative(SRC, file).split("/")[0]?.replace(/\.ts$/, "") ?? "";

it("imports run downward only, and only daemon/main.ts builds on daemon/", () => {
  const wrong: string[] = [];
  const seen = new Set<string>();
  for (const file of files(SRC)) {
    const from = layerOf(file);
    seen.add(from);
    for (const m of readFileSync(file, "utf8").matchAll(/^(?:import|export)[^"]*from "(\.[^"]+)\.js";/gm)) {
      const target = resolve(dirname(file), m[1] as string);
      const to = layerOf(relative(process.cwd(), target));
      if (to === from) continue;
      if (to === "daemon") wrong.push(`${file} imports ${m[1]} (daemon/ is the entry point's own)`);
      else if (!(MAY_IMPORT[from] ?? []).includes(to)) wrong.push(`${file} (${from}) imports ${m[1]} (${to})`);
    }
  }
  assert.deepEqual(wrong, []);
  assert.deepEqual([...seen].sort(), Object.keys(MAY_IMPORT).sort(), "a layer is missing from the table");
});
