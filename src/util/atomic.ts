import { randomBytes } from "node:crypto";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * A temporary path next to `dest` (same directory, so the final rename is atomic on one filesystem).
 * The name starts with a dot and ends with `.tmp` so globbing `*.csv` never sees a half-written file.
 */
export function tempPathFor(dest: string): string {
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
