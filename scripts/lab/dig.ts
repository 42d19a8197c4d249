// Runs the real dig client and parses what a test needs from its output.
import type { Namespace } from "./netns.js";

export interface Record {
  name: string;
  ttl: number;
  type: string;
  data: string;
}

export interface DigResult {
  status: string;
  answer: Record[];
  authority: Record[];
  raw: string;
}

function parseSection(raw: string, title: string): Record[] {
  const start = raw.indexOf(`;; ${title} SECTION:`);
  if (start < 0) return [];
  const lines = raw.slice(start).split("\n").slice(1);
  const out: Record[] = [];
  for (const line of lines) {
    if (line.trim() === "" || line.startsWith(";;")) break;
    const [name, ttl, , type, ...data] = line.split(/\s+/);
    out.push({ name: name as string, ttl: Number(ttl), type: type as string, data: data.join(" ") });
  }
  return out;
}

export function dig(ns: Namespace, server: string, name: string, type: string, opts: { source?: string; tcp?: boolean } = {}): DigResult {
  const args = [`@${server}`, name, type, "+tries=1", "+time=3", "+nocookie"];
  if (opts.tcp) args.push("+tcp");
  if (opts.source) args.push("-b", opts.source);
  const raw = ns.exec("dig", args);
  const status = /status: ([A-Z]+)/.exec(raw)?.[1] ?? "NONE";
  return { status, answer: parseSection(raw, "ANSWER"), authority: parseSection(raw, "AUTHORITY"), raw };
}

export function answersOfType(r: DigResult, type: string): string[] {
  return r.answer.filter((a) => a.type === type).map((a) => a.data);
}
