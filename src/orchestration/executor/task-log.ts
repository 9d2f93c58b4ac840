/**
 * The log of one try: `<base_log_folder>/dag_id=<d>/run_id=<r>/task_id=<t>/attempt=<n>.log` (Airflow's
 * layout, so that the folders read as a table). One line per event, `<ISO time> [<source>] <text>`, where
 * the source is `windflow` (the runner: start, result, state), `task` (`ctx.log`), `stdout` or `stderr`
 * (what the task printed, `console.log` included).
 *
 * Writes are synchronous appends: a line written is in the file even if the process is killed right after.
 * The local executor points the task process's own stdout and stderr at the same file, so that output that
 * bypasses the capture (native code, a crash of Node itself, child processes) is not lost either; the
 * capture then does not echo to them, or every line would appear twice.
 *
 * A try's log has a size cap (`[logging] max_bytes_per_try`, `maxBytes`): the first line that would pass it is
 * replaced by a truncation mark (`TRUNCATION_MARK`), and the task's later lines are dropped (counted, and the
 * count written when the log closes); windflow's own lines (the result, the state) are always written. Output
 * that bypasses the capture (native code writing to the file descriptors) is not counted.
 */
import { closeSync, fstatSync, mkdirSync, openSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import type { TaskInstanceKey } from "../store/store.js";

/** The log file of try `tryNumber` of a task instance. */
export function taskLogPath(baseLogFolder: string, key: TaskInstanceKey, tryNumber: number): string {
  return join(
    baseLogFolder,
    `dag_id=${key.dagId}`,
    `run_id=${key.runId}`,
    `task_id=${key.taskId}`,
    `attempt=${tryNumber}.log`,
  );
}

export type LogSource = "windflow" | "task" | "stdout" | "stderr";

/** The text of the line that marks a truncated log (the log page and the CLI show it as any line). */
export const TRUNCATION_MARK = "----- log truncated";

/** Options of `TaskLog`. */
export interface TaskLogOptions {
  /** `[logging] max_bytes_per_try`; 0 or undefined: no limit. */
  maxBytes?: number;
}

/** Whether file descriptor `fd` is the file at `path` (same device and inode). */
function fdIsFile(fd: number, path: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = statSync(path);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

/** An open try log (see the module comment). */
export class TaskLog {
  private fd: number | undefined;
  private restore: (() => void) | undefined;
  /** Bytes in the file (what was there when opened, then what this object wrote). */
  private size: number;
  /** Bytes of the task's output dropped past the cap. */
  private dropped = 0;

  constructor(
    readonly path: string,
    private readonly now: () => Date = () => new Date(),
    private readonly options: TaskLogOptions = {},
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, "a");
    this.size = fstatSync(this.fd).size;
  }

  /** Whether the cap was reached (a truncation mark is in the file). */
  get truncated(): boolean {
    return this.dropped > 0;
  }

  /**
   * Appends `text` (each of its lines) with a time stamp (`at`, else now) and the source (see the module
   * comment for the cap). `at`: when the line was written elsewhere (a worker on another host).
   */
  write(source: LogSource, text: string, at?: Date): void {
    if (this.fd === undefined) return;
    const stamp = (at ?? this.now()).toISOString();
    const lines = text.replace(/\r?\n$/, "").split(/\r?\n/);
    const out = Buffer.from(`${lines.map((l) => `${stamp} [${source}] ${l}`).join("\n")}\n`);
    const max = this.options.maxBytes ?? 0;
    if (source !== "windflow" && max > 0 && (this.dropped > 0 || this.size + out.length > max)) {
      if (this.dropped === 0)
        this.append(
          Buffer.from(
            `${stamp} [windflow] ${TRUNCATION_MARK}: this try's log reached [logging] max_bytes_per_try ` +
              `(${max} bytes); the task's further output is dropped -----\n`,
          ),
        );
      this.dropped += out.length;
      return;
    }
    this.append(out);
  }

  private append(bytes: Buffer): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, bytes);
    this.size += bytes.length;
  }

  /**
   * Routes this process's `process.stdout.write` / `process.stderr.write` (and so `console.*`) into the log
   * until `close()`. Output is echoed to the real stream too, unless that stream is this log file already.
   */
  captureStdio(): void {
    if (this.restore) return;
    const streams = [
      { stream: process.stdout, fd: 1, source: "stdout" as const },
      { stream: process.stderr, fd: 2, source: "stderr" as const },
    ];
    const undo: (() => void)[] = [];
    for (const { stream, fd, source } of streams) {
      const original = stream.write;
      const echo = !fdIsFile(fd, this.path);
      const pending = { text: "" };
      const patched = (chunk: unknown, ...rest: unknown[]): boolean => {
        const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
        pending.text += text;
        const cut = pending.text.lastIndexOf("\n");
        if (cut >= 0) {
          this.write(source, pending.text.slice(0, cut));
          pending.text = pending.text.slice(cut + 1);
        }
        if (echo) return (original as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
        const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
        callback?.();
        return true;
      };
      stream.write = patched as typeof stream.write;
      undo.push(() => {
        if (pending.text) this.write(source, pending.text);
        stream.write = original;
      });
    }
    this.restore = () => {
      for (const u of undo) u();
    };
  }

  /** Stops the capture and closes the file. Later writes are dropped. */
  close(): void {
    this.restore?.();
    this.restore = undefined;
    if (this.dropped > 0)
      this.write("windflow", `${this.dropped} bytes of output were dropped from this log`);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
