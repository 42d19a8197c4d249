// The agent's log: one line per event on stdout, which journald keeps. Each line starts with a
// syslog priority prefix (<3> error ... <7> debug; journald reads it, SyslogLevelPrefix=yes is the
// default), and lines below logging.level are not written.
import type { Config } from "../config/schema.js";

type Level = Config["logging"]["level"];
const PRIORITY: Record<Level, number> = { error: 3, warn: 4, info: 6, debug: 7 };

export interface Logger {
  (line: string): void;
  error(line: string): void;
  warn(line: string): void;
  debug(line: string): void;
  setLevel(level: Level): void;
}

export function createLogger(write: (text: string) => void = (t) => process.stdout.write(t)): Logger {
  let threshold = PRIORITY.info;
  const at = (level: Level) => (line: string) => {
    if (PRIORITY[level] <= threshold) write(`<${PRIORITY[level]}>${line}\n`);
  };
  return Object.assign(at("info"), {
    error: at("error"),
    warn: at("warn"),
    debug: at("debug"),
    setLevel: (level: Level) => {
      threshold = PRIORITY[level];
    },
  });
}
