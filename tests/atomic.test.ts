/**
 * Atomic writes leave nothing behind, even when their writer was killed mid-write: the next writer into the
 * same folder removes the temporary files and model folders of dead writers, never a live writer's.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
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
import { basename, join } from "node:path";
import { after, describe, test } from "node:test";
import {
  makeSpillDir,
  SPILL_NAME,
  sweepDeadTemps,
  tempPathFor,
  writeFileAtomicSync,
} from "../src/util/atomic.js";
import { deadPid } from "./helpers/pids.js";

const dir = mkdtempSync(join(tmpdir(), "windflow-atomic-"));
after(() => rmSync(dir, { recursive: true, force: true }));

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

  test("a spill folder names its process; the next one on the host sweeps those of dead processes only", () => {
    const dead = deadPid();
    const tag = randomBytes(3).toString("hex"); // 6 characters: names of this run only
    const left = [`windflow-try-${dead}-${tag}`, `windflow-try-${dead}-${tag}_1`]; // a worker's, an Airflow operator's
    const kept = [`windflow-try-1-${tag}`, `windflow-try-${tag}`, `windflow-try-${dead}-${tag}toolong`];
    for (const name of [...left, ...kept]) mkdirSync(join(tmpdir(), name));
    try {
      const mine = makeSpillDir();
      try {
        assert.match(mine, new RegExp(`windflow-try-${process.pid}-[A-Za-z0-9_]{6}$`));
        assert.match(basename(mine), SPILL_NAME);
        for (const name of left) assert.equal(existsSync(join(tmpdir(), name)), false, name);
        for (const name of kept) assert.equal(existsSync(join(tmpdir(), name)), true, name);
        // This process's own folder outlives its next spill.
        const second = makeSpillDir();
        assert.equal(existsSync(mine), true);
        rmSync(second, { recursive: true });
      } finally {
        rmSync(mine, { recursive: true, force: true });
      }
    } finally {
      for (const name of [...left, ...kept]) rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  });
});
