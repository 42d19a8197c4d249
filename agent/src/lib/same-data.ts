// Equality of parsed JSON data (plain objects, arrays, strings, numbers, booleans, null), such as
// two validated configs. util.isDeepStrictEqual handles every kind of value and took as long to
// compare a renderer's part of the config as the renderer took to render it (9 us for networkd's).

/**
 * The same data: equal primitives, arrays of the same data, objects with the same keys and data.
 * `known` holds object pairs found the same by earlier calls, so that comparing several parts of
 * two configs compares a section they share once.
 */
export function sameData(a: unknown, b: unknown, known?: Map<object, unknown>): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (known?.get(a) === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i], known)) return false;
  } else {
    if (Array.isArray(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    for (const k of keys)
      if (!Object.hasOwn(b, k) || !sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], known)) return false;
  }
  known?.set(a, b);
  return true;
}
