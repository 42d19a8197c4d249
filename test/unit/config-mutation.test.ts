// Bad input at volume: mutated and generated configs never crash validation or rendering, and
// every refusal names at least one field with a reason. Each accepted config also renders by part
// against the one accepted before it (render/index.ts) to the same files as a whole render.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { validateConfigText } from "../../agent/src/config/parse-text.js";
import { validateConfig } from "../../agent/src/config/validate.js";
import { type Facts, resolve } from "../../agent/src/render/context.js";
import { type Render, renderResolved } from "../../agent/src/render/index.js";

const COUNT = 10_000;

/** Small deterministic PRNG (mulberry32) so a failure can be replayed by its seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  65536,
  2 ** 53,
  Number.MAX_VALUE,
  -0,
  "",
  " ",
  "x".repeat(100_000),
  "64:ff9b::/96",
  "64:ff9b::/97",
  "10.0.0.0/8",
  "10.0.0.1/8",
  "::/0",
  "0.0.0.0/0",
  "1.2.3.4",
  "::ffff:1.2.3.4",
  "not an address",
  "1-2",
  "65535-1",
  "0-65535",
  "wan",
  "lan",
  "mqtt://x",
  "mqtts://[::1]:8883",
  "../../etc/passwd",
  "\u0000",
  "💥",
  [],
  [1, 2, 3],
  {},
  { __proto__: { polluted: true } },
  { constructor: { prototype: { x: 1 } } },
];

const KEYS = ["__proto__", "constructor", "prototype", "toString", "x", "", "name", "mode", "ports", "prefix"];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)] as T;
}

/** Every (parent, key) pair inside a JSON value. */
function slots(value: unknown, out: [Record<string, unknown> | unknown[], string | number][] = []) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push([value, i]);
      slots(v, out);
    });
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.push([value as Record<string, unknown>, k]);
      slots(v, out);
    }
  }
  return out;
}

function mutate(base: unknown, r: () => number): unknown {
  const doc = structuredClone(base);
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const all = slots(doc);
    if (all.length === 0) return pick(r, NASTY);
    const [parent, key] = pick(r, all);
    const op = r();
    if (op < 0.45) (parent as Record<string | number, unknown>)[key] = structuredClone(pick(r, NASTY));
    else if (op < 0.65) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete (parent as Record<string, unknown>)[key];
    } else if (op < 0.8 && !Array.isArray(parent)) {
      Object.defineProperty(parent, pick(r, KEYS), {
        value: structuredClone(pick(r, NASTY)),
        enumerable: true,
        configurable: true,
        writable: true,
      });
    } else {
      const cur = (parent as Record<string | number, unknown>)[key];
      if (typeof cur === "string")
        (parent as Record<string | number, unknown>)[key] =
          cur.slice(0, Math.floor(r() * cur.length)) + pick(r, ["/", ":", ".", "9", "-", "x"]);
      else if (typeof cur === "number") (parent as Record<string | number, unknown>)[key] = cur * pick(r, [-1, 1000, 0.5, 1e9]);
      else (parent as Record<string | number, unknown>)[key] = typeof cur === "object" ? JSON.stringify(cur) : String(cur);
    }
  }
  return doc;
}

it(`survives ${COUNT} mutated configs`, () => {
  const bases = readdirSync("docs/examples")
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join("docs/examples", f), "utf8")) as unknown);
  const r = rng(0x6a7e64);
  let accepted = 0;
  let refused = 0;
  let earlier: Render | null = null;
  const facts: Facts[] = [
    { deviceId: "fuzz", wanIPv4: "198.51.100.2" },
    { deviceId: "fuzz", wanIPv4: "198.51.100.7/24", localIPv4: ["198.51.100.7/24"] },
  ];
  // validate and render are synchronous: any throw ends the test here, with its case number.
  for (let i = 0; i < COUNT; i++) {
    const candidate = i % 10 === 9 ? JSON.stringify(mutate(pick(r, bases), r)).slice(0, Math.floor(r() * 400)) : mutate(pick(r, bases), r);
    const v = typeof candidate === "string" ? validateConfigText(candidate) : validateConfig(candidate);
    if (v.ok) {
      accepted++;
      const resolved = resolve(v.config, facts[i % 2] as Facts);
      const files = renderResolved(resolved);
      if (earlier) assert.deepEqual(renderResolved(resolved, earlier), files, `case ${i}: rendered by part, the files differ`);
      earlier = { resolved, files };
      continue;
    }
    refused++;
    assert.ok(v.problems.length >= 1, `case ${i}: refusal without a problem`);
    for (const p of v.problems) {
      assert.ok(p.path.length > 0 && p.message.length > 0, `case ${i}: empty path or reason ${JSON.stringify(p)}`);
      assert.ok(p.message.length < 1000, `case ${i}: reason too long`);
    }
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype was polluted");
  assert.ok(refused > COUNT / 2, `only ${refused} refused: the mutator is too gentle`);
  console.log(`mutation: ran ${COUNT} configs, ${refused} refused with a named field, ${accepted} accepted and rendered`);
});
