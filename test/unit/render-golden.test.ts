// Golden files: each example config in docs/examples renders to exactly the files under
// test/golden/<example>/. Regenerate after an intended change with UPDATE_GOLDEN=1 and review the diff.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { validateConfigText } from "../../agent/src/config/parse-text.js";
import { renderAll } from "../../agent/src/render/index.js";

const examples = "docs/examples";
const golden = "test/golden";
const facts = { deviceId: "golden-1", wanIPv4: "198.51.100.2/24" };

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe("renderers (golden files)", () => {
  for (const file of readdirSync(examples).filter((f) => f.endsWith(".json"))) {
    const name = file.replace(/\.json$/, "");
    it(`renders ${file}`, () => {
      const v = validateConfigText(readFileSync(join(examples, file), "utf8"));
      assert.ok(v.ok, `${file} does not validate: ${JSON.stringify(!v.ok && v.problems)}`);
      const rendered = renderAll(v.config, facts);
      const dir = join(golden, name);
      if (process.env.UPDATE_GOLDEN === "1") {
        rmSync(dir, { recursive: true, force: true });
        for (const [rel, text] of Object.entries(rendered)) {
          mkdirSync(dirname(join(dir, rel)), { recursive: true });
          writeFileSync(join(dir, rel), text);
        }
      }
      assert.deepEqual(Object.keys(rendered).sort(), listFiles(dir), "rendered file set differs");
      for (const [rel, text] of Object.entries(rendered)) assert.equal(text, readFileSync(join(dir, rel), "utf8"), rel);
    });
  }

  it("is deterministic and pure", () => {
    const v = validateConfigText(readFileSync(join(examples, "minimal.json"), "utf8"));
    assert.ok(v.ok);
    const before = JSON.stringify(v.config);
    assert.deepEqual(renderAll(v.config, facts), renderAll(v.config, facts));
    assert.equal(JSON.stringify(v.config), before, "renderAll changed its input");
  });

  it("leaves pool4 'wan' entries out until the WAN address is known", () => {
    const v = validateConfigText(readFileSync(join(examples, "minimal.json"), "utf8"));
    assert.ok(v.ok);
    const jool = JSON.parse(renderAll(v.config, { deviceId: "x" })["jool/nat64.json"] as string);
    assert.deepEqual(jool.pool4, []);
  });

  it("derives a stable ULA LAN prefix from the device id", () => {
    const v = validateConfigText(readFileSync(join(examples, "minimal.json"), "utf8"));
    assert.ok(v.ok);
    const net = (id: string) => renderAll(v.config, { deviceId: id })["network/20-lan.network"] as string;
    assert.match(net("a"), /^Address=fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::1\/64$/m);
    assert.equal(net("a"), net("a"));
    assert.notEqual(net("a"), net("b"));
  });
});
