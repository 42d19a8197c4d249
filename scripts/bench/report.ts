// One line of figures, as JSON. A figure that is missing or not a finite number is a failed
// measurement, not a result: the line is still printed (what was measured stays visible), the
// bench goes on, and `npm run bench` exits non-zero at the end naming each such figure.
const failed: string[] = [];

function missing(value: unknown, path: string): string[] {
  if (value === null || value === undefined) return [`${path} is ${String(value)}`];
  if (typeof value === "number") return Number.isFinite(value) ? [] : [`${path} is ${value}`];
  if (Array.isArray(value)) return value.flatMap((v, i) => missing(v, `${path}[${i}]`));
  if (typeof value === "object") return Object.entries(value).flatMap(([k, v]) => missing(v, path === "" ? k : `${path}.${k}`));
  return [];
}

export function report(figures: Record<string, unknown>): void {
  console.log(JSON.stringify(figures));
  failed.push(...missing(figures, "").map((m) => `${String(figures.bench)}: ${m}`));
}

/** The figures reported so far that were missing or not numbers. */
export function missingFigures(): readonly string[] {
  return failed;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** The median of rounds and their spread (min-max), rounded to `digits`. */
export function summary(xs: number[], digits = 2): { median: number; min: number; max: number } {
  const r = (x: number) => +x.toFixed(digits);
  return { median: r(median(xs)), min: r(Math.min(...xs)), max: r(Math.max(...xs)) };
}
