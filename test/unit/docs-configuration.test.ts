// docs/configuration.md names every field of the schema, so the reference cannot fall behind.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { configJsonSchema } from "../../agent/src/config/json-schema.js";

type Node = { properties?: Record<string, Node>; items?: Node; anyOf?: Node[]; oneOf?: Node[]; type?: string };

function fieldPaths(node: Node, prefix: string, out: Set<string>): void {
  const variants = [...(node.anyOf ?? []), ...(node.oneOf ?? [])];
  for (const v of variants) fieldPaths(v, prefix, out);
  if (node.items) fieldPaths(node.items, `${prefix}[]`, out);
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    out.add(path);
    fieldPaths(child, path, out);
  }
}

it("documents every configuration field", () => {
  const doc = readFileSync("docs/configuration.md", "utf8");
  const paths = new Set<string>();
  fieldPaths(configJsonSchema() as Node, "", paths);
  const missing = [...paths].filter((p) => !doc.includes(`\`${p}\``) && !doc.includes(`### \`${p}\``));
  // Object-valued fields are documented through their children; only leaves must appear.
  const leaves = missing.filter((p) => ![...paths].some((q) => q.startsWith(`${p}.`) || q.startsWith(`${p}[]`)));
  assert.deepEqual(leaves, []);
  assert.ok(paths.size > 60, `only ${paths.size} fields found: the walk is broken`);
});
