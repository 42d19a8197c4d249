// Human output by default (colour only on a terminal), JSON with --json.
import { ANSI, type Paint, PLAIN } from "../lib/terminal.js";

export interface Output {
  json: boolean;
  print(text: string): void;
  data(value: unknown): void;
  error(text: string): void;
}

const useColour = process.stdout.isTTY && process.env.NO_COLOR === undefined;

export const colour: Paint = useColour ? ANSI : PLAIN;

export function makeOutput(json: boolean): Output {
  return {
    json,
    print: (text) => process.stdout.write(`${text}\n`),
    data: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    error: (text) => process.stderr.write(`${text}\n`),
  };
}
