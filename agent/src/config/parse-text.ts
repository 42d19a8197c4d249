// Turning file text into a validated config. A config is small; anything large is refused before
// JSON.parse sees it.
import { type Problem, type Validation, validateConfig } from "./validate.js";

export const MAX_CONFIG_BYTES = 256 * 1024;

export function validateConfigText(text: string): Validation {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
    return { ok: false, problems: [{ path: "(file)", message: `is larger than ${MAX_CONFIG_BYTES} bytes` }] };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const problem: Problem = { path: "(file)", message: `is not valid JSON: ${(err as Error).message}` };
    return { ok: false, problems: [problem] };
  }
  return validateConfig(value);
}
