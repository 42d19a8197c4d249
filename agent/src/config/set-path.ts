// `gate64 config set KEY VALUE`: a dotted path into the configuration's JSON ("dns64.upstreams",
// "nat64.pool4[0].ports") and the value to put there. The CLI checks the KEY; the agent changes
// its running configuration with it, so reading and changing are one request.

/** The path's parts; throws on a KEY that names nothing or reaches for an object's prototype. */
export function keyParts(key: string): string[] {
  const parts = key.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== "");
  if (parts.length === 0 || parts.some((p) => p === "__proto__" || p === "constructor" || p === "prototype"))
    throw new Error(`bad KEY "${key}"`);
  return parts;
}

/** A copy of doc with the value at key (objects and arrays on the way are created as needed). */
export function setPath(doc: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const parts = keyParts(key);
  const copy = structuredClone(doc);
  let node: Record<string, unknown> = copy;
  for (const [i, part] of parts.slice(0, -1).entries()) {
    if (typeof node[part] !== "object" || node[part] === null) node[part] = /^\d+$/.test(parts[i + 1] ?? "") ? [] : {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1) as string] = value;
  return copy;
}
