// The one narrow interface between the agent and the machine. Everything with a side effect
// goes through it, so unit tests use a fake and the fleet simulator runs many agents at once.
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DownloadOptions {
  maxBytes: number;
  timeoutMs: number;
  onBytes?: (total: number) => void;
}

/** A download stopped at its maxBytes: before a byte was written when the server said its length. */
export class DownloadTooLarge extends Error {
  constructor(
    readonly maxBytes: number,
    /** The length the server announced, or null when it sent more than maxBytes without one. */
    readonly length: number | null,
  ) {
    super(length === null ? `more than ${maxBytes} bytes` : `${length} bytes, more than ${maxBytes}`);
  }
}

export interface System {
  /** onLine sees each line of stdout as it comes (progress of a long command). */
  run(
    cmd: string,
    args: readonly string[],
    opts?: { input?: string; timeoutMs?: number; onLine?: (line: string) => void },
  ): Promise<RunResult>;
  readFile(path: string): Promise<string | null>;
  /** A file's bytes (a UKI), or null if it does not exist. */
  readBytes(path: string): Promise<Uint8Array | null>;
  /** Write, fsync, rename: a crash leaves the old or the new file, never a mix. */
  writeFileAtomic(path: string, data: string | Uint8Array, mode?: number): Promise<void>;
  /**
   * One write into a file the kernel already has (/proc/sys): nothing is created, a missing file
   * is an ENOENT error naming it. What `sysctl -w` and `hostname` do, without their processes.
   */
  writeKernelFile(path: string, data: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** Renames within one filesystem and syncs the directory: the new name survives a power cut. */
  rename(from: string, to: string): Promise<void>;
  /**
   * Fetches an HTTP(S) URL into `dest` (TLS verified against the system's CAs), stopping past
   * maxBytes (DownloadTooLarge); onBytes sees the running total. The result carries the SHA-256 of
   * what was written.
   */
  download(url: string, dest: string, opts: DownloadOptions): Promise<{ bytes: number; sha256: string }>;
  list(dir: string): Promise<string[]>;
  /** Bytes free for new files on the filesystem that holds `path` (statfs). */
  freeBytes(path: string): Promise<number>;
  /** Points `link` at `target` atomically (a new symlink renamed over the old one). */
  swapSymlink(target: string, link: string): Promise<void>;
  /** Runs a long-lived command and calls onLine for each line it prints; the result stops it. */
  watch(cmd: string, args: readonly string[], onLine: (line: string) => void): () => void;
  now(): number;
}
