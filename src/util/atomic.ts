import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * A temporary path next to `dest` (same directory, so the final rename is atomic on one filesystem).
 * The name starts with a dot and ends with `.tmp` so globbing `*.csv` never sees a half-written file.
 */
export function tempPathFor(dest: string): string {
  sweepDeadTemps(dirname(dest));
  return join(dirname(dest), `.${basename(dest)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/**
 * Runs `write(tmp)` then renames tmp onto `dest`. If `write` throws, the temporary file is removed and
 * `dest` is left as it was: readers see the old file or the new one, never half of one.
 */
export async function writeAtomically<T>(dest: string, write: (tmp: string) => Promise<T> | T): Promise<T> {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = tempPathFor(dest);
  try {
    const result = await write(tmp);
    renameSync(tmp, dest);
    return result;
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** Synchronous atomic write of a whole string or buffer. */
export function writeFileAtomicSync(dest: string, data: string | Uint8Array): void {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = tempPathFor(dest);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, dest);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** A temporary name of this module (`.<name>.<pid>.<hex>.tmp`) or of a model being saved (`.tmp-model-<pid>-<hex>`). */
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$|^\.tmp-model-(\d+)-[0-9a-f]{8}$/;

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
 * the names removed.
 */
export function sweepDeadTemps(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMP_NAME.exec(name);
    if (!match) continue;
    const pid = Number(match[1] ?? match[2]);
    if (pid === process.pid || alive(pid)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
