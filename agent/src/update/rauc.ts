// The RAUC command line: what a bundle says about itself (signature checked), and installing it.
import { z } from "zod";
import type { System } from "../system/system.js";

const InfoSchema = z.looseObject({ compatible: z.string(), version: z.string() });
export type BundleInfo = z.infer<typeof InfoSchema>;

/** Reads the manifest; RAUC verifies the signature against the box's keyring first. */
export async function bundleInfo(sys: System, bundle: string): Promise<BundleInfo> {
  const r = await sys.run("rauc", ["info", "--output-format=json", bundle], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(lastLine(r.stderr) || `rauc info: exit ${r.code}`);
  const json = r.stdout.slice(r.stdout.indexOf("{"));
  return InfoSchema.parse(JSON.parse(json));
}

/** RAUC's own progress lines carry "NN%"; the last one seen is reported. */
export function progressOf(line: string): number | null {
  const m = /\b(\d{1,3})%/.exec(line);
  return m ? Math.min(100, Number(m[1])) : null;
}

export async function install(sys: System, bundle: string, onPercent: (p: number) => void): Promise<void> {
  const r = await sys.run("rauc", ["install", "--progress", bundle], {
    timeoutMs: 30 * 60_000,
    onLine: (line) => {
      const p = progressOf(line);
      if (p !== null) onPercent(p);
    },
  });
  if (r.code !== 0) throw new Error(why(`${r.stdout}\n${r.stderr}`) || `rauc install: exit ${r.code}`);
}

/** RAUC's last word is "Installing … failed"; the cause is in the error lines before it. */
export function why(output: string): string {
  const errors = output
    .split("\n")
    .map((l) => l.replace(/^rauc-\w+: [\d:.]+: /, "").trim())
    .filter((l) => /error|fail|invalid|corrupt|refus|mismatch/i.test(l) && !/^Installing `.*` failed$/.test(l));
  return [...new Set(errors)].slice(-2).join("; ").slice(0, 900) || lastLine(output);
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split("\n")
      .filter((l) => l.trim() !== "")
      .pop() ?? ""
  ).trim();
}
