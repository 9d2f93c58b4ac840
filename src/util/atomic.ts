import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { WindflowError } from "../errors.js";

/** An output that cannot be written: a read-only folder, no permission, or the disk (quota) full. */
export class OutputWriteError extends WindflowError {
  constructor(
    readonly path: string,
    readonly reason: string,
    cause?: unknown,
  ) {
    super(`cannot write ${path}: ${reason}`, {
      hint: /full/.test(reason)
        ? "free some space (old dated files, models/, logs) or write elsewhere; nothing was half-written"
        : "choose a folder you may write to (an option such as --output, or the setting of that folder), or fix its permissions",
      cause,
    });
  }
}

const WRITE_ERRORS: Record<string, string> = {
  EROFS: "the file system is read-only",
  EACCES: "permission denied (the folder is read-only for this user)",
  EPERM: "permission denied (the folder is read-only for this user)",
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is full",
};

/**
 * Checks that files can be created in `dir` (or, when it does not exist yet, in its nearest existing parent,
 * where it would be made): an `OutputWriteError` naming it otherwise, before any work is done. Without this a
 * read-only folder surfaces as a Rust panic from polars or an `ENOENT ... mkdir` from TensorFlow.js.
 */
export function checkWritable(dir: string): void {
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  try {
    accessSync(existing, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    throw new OutputWriteError(dir, WRITE_ERRORS[code] ?? `not writable (${code})`, error);
  }
}

/**
 * Whether the file system of `dir` has (almost) no room left for this user: under 64 kB. Asked when a write
 * failed with an error that does not say why: polars' Parquet writer reports a full disk met while writing its
 * footer as "parquet: File out of specification: Invalid thrift: transport error". Ask before removing the
 * failed write's temporary file (it holds the space the write used).
 */
export function diskNearlyFull(dir: string): boolean {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize < 64 * 1024;
  } catch {
    return false;
  }
}

/**
 * The error of a failed write as the user should read it: an `OutputWriteError` for a read-only folder, missing
 * permission or a full disk (by errno, or the text of polars' Rust errors, or `diskFull`: the caller's
 * `diskNearlyFull` for an error that does not say), else `error` itself.
 */
export function explainWriteError(error: unknown, path: string, diskFull = false): unknown {
  if (error instanceof WindflowError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code && WRITE_ERRORS[code]) return new OutputWriteError(path, WRITE_ERRORS[code] as string, error);
  const text = String((error as Error)?.message ?? error);
  if (/No space left on device|os error 28/i.test(text))
    return new OutputWriteError(path, "the disk is full", error);
  if (/Read-only file system|os error 30/i.test(text))
    return new OutputWriteError(path, "the file system is read-only", error);
  if (/Permission denied|os error 13/i.test(text))
    return new OutputWriteError(path, "permission denied (the folder is read-only for this user)", error);
  if (diskFull) return new OutputWriteError(path, "the disk is full", error);
  return error;
}

/**
 * A temporary path next to `dest` (same directory, so the final rename is atomic on one filesystem).
 * The name starts with a dot and ends with `.tmp` so globbing `*.csv` never sees a half-written file.
 */
export function tempPathFor(dest: string): string {
  sweepDeadTemps(dirname(dest));
  // node:crypto on first use: this module is in every task process, whose start is most of a cold hand-off
  // between tasks (loading node:crypto up front: 3 ms of it).
  const { randomBytes } = require("node:crypto") as typeof import("node:crypto");
  return join(dirname(dest), `.${basename(dest)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/**
 * Runs `write(tmp)` then renames tmp onto `dest`. If `write` throws, the temporary file is removed and
 * `dest` is left as it was: readers see the old file or the new one, never half of one.
 */
export async function writeAtomically<T>(dest: string, write: (tmp: string) => Promise<T> | T): Promise<T> {
  checkWritable(dirname(dest));
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = tempPathFor(dest);
  try {
    const result = await write(tmp);
    renameSync(tmp, dest);
    return result;
  } catch (error) {
    const full = diskNearlyFull(dirname(dest));
    rmSync(tmp, { force: true });
    throw explainWriteError(error, dest, full);
  }
}

/** Synchronous atomic write of a whole string or buffer. */
export function writeFileAtomicSync(dest: string, data: string | Uint8Array): void {
  checkWritable(dirname(dest));
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = tempPathFor(dest);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, dest);
  } catch (error) {
    const full = diskNearlyFull(dirname(dest));
    rmSync(tmp, { force: true });
    throw explainWriteError(error, dest, full);
  }
}

/** A temporary name of this module (`.<name>.<pid>.<hex>.tmp`) or of a model being saved (`.tmp-model-<pid>-<hex>`). */
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$|^\.tmp-model-(\d+)-[0-9a-f]{8}$/;

/**
 * The folder of a try's `--conf`/`--xcom` too large for an argument (`@FILE`), made in the temporary folder by
 * a BullMQ worker (`windflow-try-<pid>-` + mkdtemp's 6 characters) or an exported DAG's Airflow operator
 * (Python's mkdtemp: 8). Removed after the try; the next spill on the host sweeps those of dead processes.
 */
export const SPILL_NAME = /^windflow-try-(\d+)-[A-Za-z0-9_]{6,8}$/;

/** A new spill folder for this process (`SPILL_NAME`), after sweeping those dead processes left. */
export function makeSpillDir(): string {
  sweepDeadTemps(tmpdir(), SPILL_NAME);
  return mkdtempSync(join(tmpdir(), `windflow-try-${process.pid}-`));
}

/** Whether a process with this pid exists (a pid reused by another process counts as alive: kept, to be safe). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes from `dir` the temporary files and model folders whose writer is dead (killed with -9, or a crash,
 * mid-write: nothing else removes them). Never a live writer's, this process's included: the writer's pid is in
 * the name. Called before each atomic write into a folder, so a folder is cleaned by its next writer. Returns
 * the names removed. `pattern`: other temporaries named after their writer's pid (its first group that
 * matched), such as the spill folders of external tries (`SPILL_NAME`).
 */
export function sweepDeadTemps(dir: string, pattern: RegExp = TEMP_NAME): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = pattern.exec(name);
    if (!match) continue;
    const pid = Number(match.slice(1).find((g) => g !== undefined));
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (pid === process.pid || alive(pid)) continue;
    try {
      rmSync(join(dir, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Best effort: another user's (a shared temporary folder) is theirs to remove.
    }
  }
  return removed;
}
