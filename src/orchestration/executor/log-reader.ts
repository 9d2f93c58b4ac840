/**
 * The one reader of try logs (`task-log.ts` writes them), used by `windflow tasks logs [--follow]`, the run
 * tail of `dags trigger --wait`, the REST API and so the log page:
 *
 * - `tryLogState`: whether a try is still writing its log, the one answer to "follow or stop?" (a try is
 *   writing while it runs, or while its process starts from `queued`; a try that failed and waits for its
 *   retry has ended: the retry is the next try, with its own log).
 * - `readLogChunk`: bytes `[offset, end)` of a log, at most `maxBytes`, never cutting a UTF-8 character (an
 *   incomplete one at the end is left for the next read).
 * - `readLogTail`: the last bytes before `end`, starting at a line, for a page that shows the tail first and
 *   loads earlier parts on demand.
 * - `LogFollower`: reads what was appended since the last call, keeping a character split between two reads.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { TASK_TERMINAL } from "../state.js";
import type { TaskInstanceRecord } from "../store/store.js";

/** How much of a log one read returns at most. @default 256 kB */
export const LOG_CHUNK_BYTES = 256 * 1024;

/**
 * Where a try's log stands: `writing` (the try runs, or its process is starting), `ended` (the try is over,
 * whatever comes next), `waiting` (this try has not started: the task instance waits for it, e.g. a retry).
 */
export type TryLogState = "writing" | "ended" | "waiting";

/** Where try `tryNumber`'s log stands, from its task instance (see `TryLogState`); `ended` without one. */
export function tryLogState(
  ti: Pick<TaskInstanceRecord, "state" | "tryNumber"> | undefined,
  tryNumber: number,
): TryLogState {
  if (!ti || tryNumber < ti.tryNumber) return "ended";
  if (tryNumber === ti.tryNumber) return ti.state === "running" ? "writing" : "ended";
  // A try not begun yet: the task instance's try counter moves to it when it starts running.
  if (tryNumber === ti.tryNumber + 1 && ti.state === "queued") return "writing";
  return TASK_TERMINAL.has(ti.state) ? "ended" : "waiting";
}

/** A piece of a log. */
export interface LogChunk {
  readonly content: string;
  /** Where the content begins (bytes). */
  readonly start: number;
  /** Where to read next (bytes). */
  readonly nextOffset: number;
  /** The file's size now. */
  readonly size: number;
  readonly exists: boolean;
}

function sizeOf(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

function readBytes(path: string, from: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const fd = openSync(path, "r");
  try {
    return buffer.subarray(0, readSync(fd, buffer, 0, length, from));
  } finally {
    closeSync(fd);
  }
}

/** How many bytes at the end of `bytes` are an incomplete UTF-8 character (0 when it ends whole). */
export function incompleteTail(bytes: Uint8Array): number {
  let back = 0;
  while (
    back < 3 &&
    bytes.length - back - 1 >= 0 &&
    ((bytes[bytes.length - back - 1] as number) & 0xc0) === 0x80
  )
    back++;
  const lead = bytes[bytes.length - back - 1];
  if (lead === undefined || (lead & 0xc0) !== 0xc0) return 0;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
  return back + 1 < need ? back + 1 : 0;
}

/** Bytes `[offset, end)` of the log at `path` (end: its size), at most `maxBytes` (see the module comment). */
export function readLogChunk(
  path: string,
  offset: number,
  options: { end?: number; maxBytes?: number } = {},
): LogChunk {
  const size = sizeOf(path);
  if (size === undefined) return { content: "", start: offset, nextOffset: offset, size: 0, exists: false };
  const end = Math.min(options.end ?? size, size);
  if (offset >= end)
    return { content: "", start: offset, nextOffset: Math.max(offset, 0), size, exists: true };
  const bytes = readBytes(path, offset, Math.min(end - offset, options.maxBytes ?? LOG_CHUNK_BYTES));
  const whole =
    offset + bytes.length < size ? bytes.subarray(0, bytes.length - incompleteTail(bytes)) : bytes;
  return {
    content: whole.toString("utf8"),
    start: offset,
    nextOffset: offset + whole.length,
    size,
    exists: true,
  };
}

/**
 * The last `bytes` of the log before `end` (its size by default), starting after a newline (or at the file's
 * start), for the log page: it shows the tail, then loads the part before `start` on demand.
 */
export function readLogTail(path: string, bytes: number, options: { end?: number } = {}): LogChunk {
  const size = sizeOf(path);
  if (size === undefined) return { content: "", start: 0, nextOffset: 0, size: 0, exists: false };
  const end = Math.min(options.end ?? size, size);
  let start = Math.max(0, end - bytes);
  if (start > 0) {
    const window = readBytes(path, start, Math.min(end - start, bytes));
    const newline = window.indexOf(10);
    // No line break in the window (one very long line): cut at a character boundary instead.
    if (newline >= 0 && newline + 1 < window.length) start += newline + 1;
    else while (start < end && ((readBytes(path, start, 1)[0] as number) & 0xc0) === 0x80) start++;
  }
  return { ...readLogChunk(path, start, { end, maxBytes: end - start }), start };
}

/** Reads a growing log in order (see the module comment). */
export class LogFollower {
  private offset = 0;
  private readonly decoder = new StringDecoder("utf8");

  constructor(readonly path: string) {}

  /** What was appended since the last call ("" if nothing). */
  read(): string {
    const size = sizeOf(this.path);
    if (size === undefined || size <= this.offset) return "";
    const bytes = readBytes(this.path, this.offset, size - this.offset);
    this.offset += bytes.length;
    return this.decoder.write(bytes);
  }

  /** What is left once the writer is done (an incomplete last character, as U+FFFD). */
  end(): string {
    return this.read() + this.decoder.end();
  }
}

/**
 * Writes the log at `path` to `write`, then, while `writing()` says the try goes on, what is appended to it
 * (polling every `intervalMs`); returns once the try has ended and the file is read to its end
 * (`tasks logs --follow`).
 */
export async function followLog(
  path: string,
  write: (text: string) => void,
  writing: () => boolean,
  options: { intervalMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const follower = new LogFollower(path);
  for (;;) {
    const more = writing();
    const text = follower.read();
    if (text) write(text);
    if (!more || options.signal?.aborted) {
      const rest = follower.end();
      if (rest) write(rest);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
}
