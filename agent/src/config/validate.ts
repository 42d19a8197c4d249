// One entry point for checking a configuration: schema, then cross-field rules. Never throws for
// bad input; every problem carries the path of the field and a reason.
import type { z } from "zod";
import { capacityWarnings, type Pool4Capacity, pool4Capacity } from "./capacity.js";
import { checkRules, type Problem } from "./rules.js";
import { type Config, ConfigSchema } from "./schema.js";

export type { Problem };

export type Validation = { ok: true; config: Config; warnings: Problem[]; capacity: Pool4Capacity[] } | { ok: false; problems: Problem[] };

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out || "(root)";
}

interface Leaf {
  path: PropertyKey[];
  message: string;
}

/** The innermost issues of a union, with absolute paths (unions nest: "dhcp" | [address4 | address6]). */
function leaves(issue: z.core.$ZodIssue, base: PropertyKey[]): Leaf[] {
  const path = [...base, ...issue.path];
  if (issue.code === "invalid_union" && issue.errors.length > 0) return issue.errors.flat().flatMap((i) => leaves(i, path));
  return [{ path, message: issue.message }];
}

function zodProblems(error: z.ZodError): Problem[] {
  return error.issues.map((issue) => {
    // Unknown keys are reported on the parent; name them so the message is actionable.
    if (issue.code === "unrecognized_keys") {
      const keys = issue.keys.map((k) => JSON.stringify(k)).join(", ");
      return { path: formatPath(issue.path), message: `unknown field ${keys}` };
    }
    if (issue.code === "invalid_union") {
      // The branches that got furthest into the value explain the failure best.
      const all = leaves(issue, []);
      const depth = Math.max(...all.map((l) => l.path.length));
      const best = all.filter((l) => l.path.length === depth);
      const messages = [...new Set(best.map((l) => l.message))];
      return { path: formatPath(best[0]?.path ?? issue.path), message: messages.join(", or ") };
    }
    return { path: formatPath(issue.path), message: issue.message };
  });
}

/**
 * Fields an earlier schema accepted that never took effect on the box. A config that still has
 * them is taken without them and a warning says why, so no box refuses its own config.json.
 */
export const RETIRED: { path: string[]; reason: string }[] = [
  {
    path: ["system", "timezone"],
    reason: "retired: the box keeps UTC (the journal and certificate checks use it); read logs in your own timezone",
  },
  {
    path: ["interfaces", "lan", "mac"],
    reason: "retired: NIC names come from the board profile (image/boards/<board>/board.json), before the agent runs",
  },
  {
    path: ["interfaces", "wan", "mac"],
    reason: "retired: NIC names come from the board profile (image/boards/<board>/board.json), before the agent runs",
  },
];

/** The object holding a retired field, if `root` has that field. */
function holderOf(root: unknown, path: readonly string[]): Record<string, unknown> | null {
  let node = root;
  for (const key of path.slice(0, -1))
    node = typeof node === "object" && node !== null ? (node as Record<string, unknown>)[key] : undefined;
  return typeof node === "object" && node !== null && (path.at(-1) as string) in node ? (node as Record<string, unknown>) : null;
}

function withoutRetired(input: unknown): { value: unknown; warnings: Problem[] } {
  const warnings: Problem[] = [];
  // Copied only when there is something to take out: a copy costs a tenth of a validation.
  if (!RETIRED.some(({ path }) => holderOf(input, path) !== null)) return { value: input, warnings };
  const value = structuredClone(input);
  for (const { path, reason } of RETIRED) {
    const holder = holderOf(value, path);
    if (holder === null) continue;
    delete holder[path.at(-1) as string];
    warnings.push({ path: path.join("."), message: reason });
  }
  return { value, warnings };
}

export function validateConfig(input: unknown): Validation {
  const { value, warnings } = withoutRetired(input);
  const parsed = ConfigSchema.safeParse(value);
  if (!parsed.success) return { ok: false, problems: zodProblems(parsed.error) };
  const problems = checkRules(parsed.data);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: parsed.data, warnings: [...warnings, ...capacityWarnings(parsed.data)], capacity: pool4Capacity(parsed.data) };
}

export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join("\n");
}
