// The one narrow interface between the agent and the machine. Everything with a side effect
// goes through it, so unit tests use a fake and the fleet simulator runs many agents at once.
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface System {
  run(cmd: string, args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  readFile(path: string): Promise<string | null>;
  /** Write, fsync, rename: a crash leaves the old or the new file, never a mix. */
  writeFileAtomic(path: string, data: string, mode?: number): Promise<void>;
  remove(path: string): Promise<void>;
  list(dir: string): Promise<string[]>;
  /** Points `link` at `target` atomically (a new symlink renamed over the old one). */
  swapSymlink(target: string, link: string): Promise<void>;
  /** Runs a long-lived command and calls onLine for each line it prints; the result stops it. */
  watch(cmd: string, args: readonly string[], onLine: (line: string) => void): () => void;
  now(): number;
}
