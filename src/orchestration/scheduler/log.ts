/**
 * The scheduler's log: one line per event on stderr, `<ISO time> <LEVEL> <text>`, at or above
 * `[logging] logging_level`. Task output never goes here: each try has its own log file.
 */

export const LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where the scheduler and the DAG processor write what they do. */
export interface SchedulerLogger {
  debug(text: string): void;
  info(text: string): void;
  warn(text: string): void;
  error(text: string): void;
}

/** A logger writing lines at `level` or above to `write` (stderr by default). */
export function createLogger(
  level: LogLevel = "INFO",
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  now: () => Date = () => new Date(),
): SchedulerLogger {
  const min = LOG_LEVELS.indexOf(level);
  const at = (l: LogLevel) => (text: string) => {
    if (LOG_LEVELS.indexOf(l) >= min) write(`${now().toISOString()} ${l.padEnd(7)} ${text}`);
  };
  return { debug: at("DEBUG"), info: at("INFO"), warn: at("WARNING"), error: at("ERROR") };
}

/** A logger that drops everything (library callers that want silence). */
export const SILENT: SchedulerLogger = { debug() {}, info() {}, warn() {}, error() {} };
