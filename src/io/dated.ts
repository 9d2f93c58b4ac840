/**
 * Dated file names, as in the course: `{YYYYmmdd-HHMMSS}.csv` next to a `latest.csv` copy.
 *
 * The timestamp is in UTC: a run's logical date is a UTC instant (as in Airflow), and the same run must name
 * its files the same way on every machine whatever its time zone. (The course used the machine's local time.)
 *
 * Two runs within the same second must not overwrite each other: the second gets `{stamp}_2.csv`, the third
 * `{stamp}_3.csv`... `_` sorts after `.`, so a plain listing still shows the files in the order they were made.
 * The name is claimed with a hard link from the finished temporary file (`link` fails if the name exists), so
 * the claim and the write are one atomic step: no reader ever sees a half-written file, no run overwrites another.
 */
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { join } from "node:path";
import { checkWritable, diskNearlyFull, explainWriteError, tempPathFor } from "../util/atomic.js";
import { parseTimestamp, timestamp } from "../util/timestamp.js";

// The stamp itself lives in util/ (the engine names run ids with it too); re-exported for the ML side.
export { parseTimestamp, timestamp };

export interface DatedWrite {
  /** The dated file written, e.g. `data/predictions/20261125-173000.csv`. */
  path: string;
  /** The `latest` copy. */
  latest: string;
  /** The `YYYYmmdd-HHMMSS` stamp (without the `_n` suffix). */
  stamp: string;
}

/** The file operations of `writeDated` (tests inject faults: a disk full at each step). */
export interface DatedFs {
  copyFileSync: typeof copyFileSync;
  linkSync: typeof linkSync;
  renameSync: typeof renameSync;
}
const REAL_FS: DatedFs = { copyFileSync, linkSync, renameSync };

/**
 * Writes `{folder}/{stamp}{ext}` (or `{stamp}_n{ext}` when taken) and `{folder}/latest{ext}`, both atomically,
 * and so that `latest` always has the content of the newest dated file: every byte is written first (the
 * content, then latest's copy of it), when a full disk can still stop the write with nothing published; then the
 * dated name is claimed (a hard link: no new data) and latest renamed over (no new data either). Should that
 * rename fail, the dated name is taken back. `write(tmp, stamp)` writes the content to the temporary path.
 */
/** `{stamp}{ext}` or `{stamp}_n{ext}`: the stamp and n (1 for none), or undefined for any other name. */
function datedName(name: string, ext: string): { stamp: string; n: number } | undefined {
  if (!name.endsWith(ext)) return undefined;
  const m = /^(\d{8}-\d{6})(?:_(\d+))?$/.exec(name.slice(0, name.length - ext.length));
  return m ? { stamp: m[1] as string, n: m[2] === undefined ? 1 : Number(m[2]) } : undefined;
}

/** The newest dated file of `folder` (by stamp, then `_n` as a number: `_10` after `_9`), or undefined. */
export function newestDated(folder: string, ext: string): string | undefined {
  if (!existsSync(folder)) return undefined;
  let best: { name: string; stamp: string; n: number } | undefined;
  for (const name of readdirSync(folder)) {
    const d = datedName(name, ext);
    if (d && (!best || d.stamp > best.stamp || (d.stamp === best.stamp && d.n > best.n)))
      best = { name, ...d };
  }
  return best && join(folder, best.name);
}

/**
 * Makes `latest{ext}` a copy of the newest dated file again when they differ. `writeDated` publishes the dated
 * file, then renames latest over: a writer killed (-9, a power cut) between the two leaves latest one file
 * behind, the one window it cannot close. Repaired by the next `writeDated` into the folder (a task's retry) and
 * by readers of latest that call this first. Atomic (a copy renamed over); returns whether latest was rewritten.
 */
export function repairLatest(folder: string, ext: string): boolean {
  const newest = newestDated(folder, ext);
  if (!newest) return false;
  const latest = join(folder, `latest${ext}`);
  const content = readFileSync(newest);
  if (existsSync(latest) && readFileSync(latest).equals(content)) return false;
  const tmp = tempPathFor(latest);
  try {
    copyFileSync(newest, tmp);
    renameSync(tmp, latest);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw explainWriteError(error, latest, diskNearlyFull(folder));
  }
  return true;
}

export async function writeDated(
  folder: string,
  ext: string,
  write: (tmp: string, stamp: string) => Promise<void> | void,
  date: Date = new Date(),
  fs: DatedFs = REAL_FS,
): Promise<DatedWrite> {
  checkWritable(folder);
  mkdirSync(folder, { recursive: true });
  // A writer killed between its two steps left latest behind: put it right first, should this write fail.
  repairLatest(folder, ext);
  const stamp = timestamp(date);
  const tmp = tempPathFor(join(folder, `${stamp}${ext}`));
  // latest is a copy, not a second link: editing one in place must not change the other.
  const latest = join(folder, `latest${ext}`);
  const latestTmp = tempPathFor(latest);
  let path = "";
  try {
    await write(tmp, stamp);
    fs.copyFileSync(tmp, latestTmp);
    for (let n = 1; ; n++) {
      path = join(folder, n === 1 ? `${stamp}${ext}` : `${stamp}_${n}${ext}`);
      try {
        fs.linkSync(tmp, path); // atomic claim of a free name, with the complete content
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
    }
    try {
      fs.renameSync(latestTmp, latest);
    } catch (error) {
      rmSync(path, { force: true });
      path = "";
      throw error;
    }
    return { path, latest, stamp };
  } catch (error) {
    throw explainWriteError(error, path || join(folder, `${stamp}${ext}`), diskNearlyFull(folder));
  } finally {
    rmSync(tmp, { force: true });
    rmSync(latestTmp, { force: true });
  }
}
