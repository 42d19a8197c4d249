// Human output by default (colour only on a terminal), JSON with --json.
export interface Output {
  json: boolean;
  print(text: string): void;
  data(value: unknown): void;
  error(text: string): void;
}

const useColour = process.stdout.isTTY && process.env.NO_COLOR === undefined;

export const colour = {
  ok: (s: string) => (useColour ? `\x1b[32m${s}\x1b[0m` : s),
  warn: (s: string) => (useColour ? `\x1b[33m${s}\x1b[0m` : s),
  bad: (s: string) => (useColour ? `\x1b[31m${s}\x1b[0m` : s),
  dim: (s: string) => (useColour ? `\x1b[2m${s}\x1b[0m` : s),
};

export function makeOutput(json: boolean): Output {
  return {
    json,
    print: (text) => process.stdout.write(`${text}\n`),
    data: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    error: (text) => process.stderr.write(`${text}\n`),
  };
}
