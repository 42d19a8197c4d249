// Reading the box's own JSON files (identity, revisions, fleet memory). A damaged file must not
// stop the agent: it is moved aside, named in the log (path and reason, never its content, which
// may hold secrets), and the caller goes on with the last good state or its defaults.
import type { z } from "zod";
import type { System } from "../system/system.js";

export type JsonRead<T> = { ok: true; value: T } | { ok: false; missing: boolean };

export async function readJson<T>(sys: System, path: string, schema: z.ZodType<T>, log: (line: string) => void): Promise<JsonRead<T>> {
  const text = await sys.readFile(path);
  if (text === null) return { ok: false, missing: true };
  let reason: string;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    if (parsed.success) return { ok: true, value: parsed.data };
    reason = parsed.error.issues.map((i) => `${i.path.join(".") || "(file)"}: ${i.message}`).join("; ");
  } catch {
    reason = "not JSON";
  }
  const aside = `${path}.damaged-${sys.now()}`;
  await sys.writeFileAtomic(aside, text, 0o600);
  await sys.remove(path);
  log(`${path} is damaged (${reason.slice(0, 300)}); moved to ${aside}`);
  return { ok: false, missing: false };
}
