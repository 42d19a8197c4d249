// The revision history on /data: one JSON record per attempt, numbered. config.json alone says
// what runs (written atomically after verification), so a power cut leaves the old or the new
// configuration; the history only explains how it got there. Identity and credentials live in
// other files and are never part of a revision.
import { join } from "node:path";
import { z } from "zod";
import { readJson } from "../lib/read-json.js";
import { PATHS } from "../paths.js";
import type { System } from "../system/system.js";

export const RevisionSchema = z.strictObject({
  revision: z.number().int().min(1),
  at: z.string(),
  by: z.string(),
  message: z.string().optional(),
  outcome: z.enum(["committed", "pending", "reverted", "refused"]),
  reason: z.string().optional(),
  config: z.unknown(),
});
export type Revision = z.infer<typeof RevisionSchema>;

const dir = () => join(PATHS.data, "revisions");
const file = (n: number) => join(dir(), `${String(n).padStart(6, "0")}.json`);

export class RevisionStore {
  constructor(
    private readonly sys: System,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Every readable record, oldest first; a damaged one is moved aside and left out. */
  async list(): Promise<Revision[]> {
    const out: Revision[] = [];
    for await (const r of this.newestFirst()) out.push(r);
    return out.reverse();
  }

  /** The readable records from the newest down, each read when the loop asks for it. */
  async *newestFirst(): AsyncGenerator<Revision> {
    const names = (await this.sys.list(dir())).filter((n) => /^\d{6}\.json$/.test(n)).sort();
    for (const n of names.reverse()) {
      const r = await readJson(this.sys, join(dir(), n), RevisionSchema, this.log);
      if (r.ok) yield r.value;
    }
  }

  async get(n: number): Promise<Revision | null> {
    const r = await readJson(this.sys, file(n), RevisionSchema, this.log);
    return r.ok ? r.value : null;
  }

  /** Past every number used, damaged records included, so a number is never given twice. */
  async next(): Promise<number> {
    const used = (await this.sys.list(dir())).map((n) => Number(/^(\d{6})\.json/.exec(n)?.[1] ?? 0));
    return Math.max(0, ...used) + 1;
  }

  async save(r: Revision): Promise<void> {
    await this.sys.writeFileAtomic(file(r.revision), `${JSON.stringify(r, null, 2)}\n`, 0o600);
  }

  /** Removes the oldest records past the newest `keep`. */
  async prune(keep: number): Promise<void> {
    const names = (await this.sys.list(dir())).filter((n) => /^\d{6}\.json/.test(n)).sort();
    for (const n of names.slice(0, Math.max(0, names.length - keep))) await this.sys.remove(join(dir(), n));
  }
}

/** A line diff of two configs' JSON, enough for a person at a console. */
export function diffConfigs(a: unknown, b: unknown): string[] {
  const lines = (v: unknown) => JSON.stringify(v, null, 2).split("\n");
  const x = lines(a);
  const y = lines(b);
  // Longest common subsequence; configs are small.
  const dp = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--)
    for (let j = y.length - 1; j >= 0; j--)
      (dp[i] as number[])[j] =
        x[i] === y[j]
          ? ((dp[i + 1] as number[])[j + 1] as number) + 1
          : Math.max((dp[i + 1] as number[])[j] as number, (dp[i] as number[])[j + 1] as number);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      i++;
      j++;
    } else if (j < y.length && (i === x.length || ((dp[i] as number[])[j + 1] as number) >= ((dp[i + 1] as number[])[j] as number)))
      out.push(`+ ${y[j++]}`);
    else out.push(`- ${x[i++]}`);
  }
  return out;
}
