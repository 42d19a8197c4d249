// Text for a terminal, shared by the console CLI and the status file the agent keeps for it.

/** Box-supplied text for a terminal: control characters (escape sequences) become "?". */
export function clean(text: unknown): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are what must not reach a terminal
  return String(text).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "?");
}

/** How a word is coloured: ANSI on a terminal, plain elsewhere. */
export interface Paint {
  ok(s: string): string;
  warn(s: string): string;
  bad(s: string): string;
  dim(s: string): string;
}

export const ANSI: Paint = {
  ok: (s) => `\x1b[32m${s}\x1b[0m`,
  warn: (s) => `\x1b[33m${s}\x1b[0m`,
  bad: (s) => `\x1b[31m${s}\x1b[0m`,
  dim: (s) => `\x1b[2m${s}\x1b[0m`,
};

export const PLAIN: Paint = { ok: (s) => s, warn: (s) => s, bad: (s) => s, dim: (s) => s };

/** A status or outcome word in its colour: green ok, yellow waiting, red the rest. */
export function paintStatus(paint: Paint, s: string): string {
  return s === "ok" || s === "committed"
    ? paint.ok(s)
    : s === "degraded" || s === "pending" || s === "unchanged"
      ? paint.warn(s)
      : paint.bad(s);
}
