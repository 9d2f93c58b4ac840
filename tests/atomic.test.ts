/**
 * Atomic writes leave nothing behind, even when their writer was killed mid-write: the next writer into the
 * same folder removes the temporary files and model folders of dead writers, never a live writer's.
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { sweepDeadTemps, tempPathFor, writeFileAtomicSync } from "../src/util/atomic.js";

const dir = mkdtempSync(join(tmpdir(), "windflow-atomic-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A pid no process has (checked): the writer killed with -9. */
function deadPid(): number {
  const max = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));
  for (let pid = max - 1; pid > max - 1000; pid--) if (!existsSync(`/proc/${pid}`)) return pid;
  throw new Error("no free pid found");
}

describe("atomic writes and what dead writers left", () => {
  test("the next write into a folder removes dead writers' temporaries, and only those", () => {
    const folder = join(dir, "predictions");
    mkdirSync(folder);
    const dead = deadPid();
    const left = [
      `.20261125-173005.csv.${dead}.0a1b2c3d.tmp`, // a dated CSV, its writer killed
      `.latest.csv.${dead}.deadbeef.tmp`,
    ];
    for (const name of left) writeFileSync(join(folder, name), "half a file");
    mkdirSync(join(folder, `.tmp-model-${dead}-00ff00ff`)); // a model folder being saved
    writeFileSync(join(folder, `.tmp-model-${dead}-00ff00ff`, "weights.bin"), "half");
    const kept = [
      `.latest.csv.${process.pid}.12345678.tmp`, // this process's own write in progress
      ".latest.csv.1.87654321.tmp", // pid 1 lives: never touched
      ".hidden",
      "notes.tmp",
      "20261125-173005.csv",
    ];
    for (const name of kept) writeFileSync(join(folder, name), "keep");
    writeFileAtomicSync(join(folder, "latest.csv"), "predictions,predictions_time\n");
    assert.deepEqual(readdirSync(folder).sort(), [...kept, "latest.csv"].sort());
    assert.equal(readFileSync(join(folder, "latest.csv"), "utf8"), "predictions,predictions_time\n");
  });

  test("sweepDeadTemps names what it removed; a missing folder is nothing to sweep", () => {
    const folder = join(dir, "models");
    mkdirSync(folder);
    const dead = deadPid();
    mkdirSync(join(folder, `.tmp-model-${dead}-aaaaaaaa`));
    assert.deepEqual(sweepDeadTemps(folder), [`.tmp-model-${dead}-aaaaaaaa`]);
    assert.deepEqual(sweepDeadTemps(folder), []);
    assert.deepEqual(sweepDeadTemps(join(dir, "no-such-folder")), []);
    // A temporary path names this process: a later sweep by another writer leaves it alone while it lives.
    assert.match(
      tempPathFor(join(folder, "x.csv")),
      new RegExp(`\\.x\\.csv\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`),
    );
  });
});
