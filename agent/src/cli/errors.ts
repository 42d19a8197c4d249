// Typed CLI errors; each maps to an exit code a script can rely on (docs/operations.md).
export const EXIT = {
  ok: 0,
  /** The input (a config, a value) was refused; nothing changed. */
  invalid: 1,
  /** Wrong command line. */
  usage: 2,
  /** The box or a tool failed. */
  failure: 3,
  /** Not reachable: the agent's control socket, the broker. */
  unavailable: 4,
} as const;

/** What an outcome reported by a box (an apply, a desired config) means as an exit code. */
export function exitForOutcome(status: string): number {
  if (status === "refused") return EXIT.invalid;
  if (status === "reverted" || status === "failed") return EXIT.failure;
  return EXIT.ok;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** Machine-readable detail for --json. */
    readonly detail?: unknown,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}
