/**
 * Adversarial, class "crashes at each step of a write": a real process writing dated predictions is killed with
 * SIGKILL at each step of `writeDated` (while writing the content, at latest's copy, at the dated name's link,
 * at latest's rename, the one window where the dated file is published and latest not yet). After each: no reader
 * sees latest.csv disagree with the newest dated file (the API reads the newest; `repairLatest` puts the file
 * right), the next write into the folder cleans the dead writer's temporaries and leaves latest equal to the
 * newest dated file.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { newestDated, repairLatest, writeDated } from "../../src/io/dated.js";
import { listPredictions, readPredictions } from "../../src/server/files.js";
import { ROOT } from "../helpers/scheduler-env.js";

const WORK = mkdtempSync(join(tmpdir(), "windflow-kill-writers-"));
after(() => rmSync(WORK, { recursive: true, force: true }));

const OLD = "predictions,predictions_time\n1.5,2026-01-01 00:00:00\n";
const NEW = "predictions,predictions_time\n2.5,2026-06-01 00:00:00\n";

/** A child process writing NEW into `dir`, killing itself with SIGKILL at `step`. */
function killedAt(dir: string, step: string): { signal: NodeJS.Signals | null; stderr: string } {
  const script = join(WORK, `writer-${step}.ts`);
  writeFileSync(
    script,
    `import { copyFileSync, linkSync, renameSync, writeFileSync } from "node:fs";
import { writeDated } from ${JSON.stringify(join(ROOT, "src", "io", "dated.ts"))};
const die = (at: string) => { if (at === ${JSON.stringify(step)}) process.kill(process.pid, "SIGKILL"); };
const fs = {
  copyFileSync: (a: string, b: string) => { die("copy"); copyFileSync(a, b); },
  linkSync: (a: string, b: string) => { die("link"); linkSync(a, b); },
  renameSync: (a: string, b: string) => { die("rename"); renameSync(a, b); },
};
void writeDated(${JSON.stringify(dir)}, ".csv", (p: string) => {
  writeFileSync(p, ${JSON.stringify(NEW.slice(0, 20))});
  die("content");
  writeFileSync(p, ${JSON.stringify(NEW)});
}, new Date("2026-06-01T00:00:00Z"), fs);
`,
  );
  const r = spawnSync(process.execPath, ["--import", "tsx", script], {
    encoding: "utf8",
    cwd: ROOT,
    timeout: 60_000,
  });
  return { signal: r.signal, stderr: r.stderr };
}

const latestOf = (dir: string) => readFileSync(join(dir, "latest.csv"), "utf8");
const newestOf = (dir: string) => readFileSync(newestDated(dir, ".csv") as string, "utf8");
const temporaries = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".tmp"));

describe("adversarial: a dated write killed with SIGKILL at each step", () => {
  for (const [step, published] of [
    ["content", false],
    ["copy", false],
    ["link", false],
    ["rename", true],
  ] as const)
    test(`killed at the ${step}: ${published ? "latest one file behind, repaired" : "nothing published"}; the next write is whole`, async () => {
      const dir = join(WORK, step);
      await writeDated(dir, ".csv", (p) => writeFileSync(p, OLD), new Date("2026-01-01T00:00:00Z"));
      const killed = killedAt(dir, step);
      assert.equal(killed.signal, "SIGKILL", killed.stderr);
      assert.equal(newestOf(dir), published ? NEW : OLD, "the newest dated file");
      if (published) assert.equal(latestOf(dir), OLD, "the window: latest is one file behind");
      else assert.equal(latestOf(dir), OLD);
      // A reader through the API sees the newest dated file's rows under latest.csv all the same.
      const rows = await readPredictions(dir, "latest.csv");
      assert.deepEqual(rows.predictions, [published ? 2.5 : 1.5]);
      // repairLatest (and any next write) puts latest right.
      assert.equal(repairLatest(dir, ".csv"), published);
      assert.equal(latestOf(dir), newestOf(dir));
      assert.equal(repairLatest(dir, ".csv"), false, "nothing left to repair");
      // The next write sweeps the dead writer's temporaries and publishes both files.
      const w = await writeDated(dir, ".csv", (p) => writeFileSync(p, NEW), new Date("2026-07-01T00:00:00Z"));
      assert.deepEqual(temporaries(dir), []);
      assert.equal(latestOf(dir), NEW);
      assert.equal(newestDated(dir, ".csv"), w.path);
    });

  test("writeDated repairs a latest left behind before it writes (so a failing next write keeps them equal)", async () => {
    const dir = join(WORK, "before-write");
    await writeDated(dir, ".csv", (p) => writeFileSync(p, OLD), new Date("2026-01-01T00:00:00Z"));
    writeFileSync(join(dir, "20260601-000000.csv"), NEW); // as a writer killed at its rename leaves it
    await assert.rejects(
      writeDated(
        dir,
        ".csv",
        () => {
          throw new Error("the model failed");
        },
        new Date("2026-07-01T00:00:00Z"),
      ),
      /the model failed/,
    );
    assert.equal(latestOf(dir), NEW);
  });

  test("the newest dated file is by stamp, then _n as a number (_10 after _9)", () => {
    const dir = join(WORK, "order");
    mkdirSync(dir);
    for (const name of [
      "20260601-000000.csv",
      "20260601-000000_9.csv",
      "20260601-000000_10.csv",
      "20250101-000000_99.csv",
      "latest.csv",
      "notes.csv",
    ])
      writeFileSync(join(dir, name), name);
    assert.equal(newestDated(dir, ".csv"), join(dir, "20260601-000000_10.csv"));
    assert.deepEqual(
      listPredictions(dir).map((f) => f.name),
      ["20260601-000000_10.csv", "20260601-000000_9.csv", "20260601-000000.csv", "20250101-000000_99.csv"],
      "the UI's list, newest first",
    );
    assert.equal(newestDated(join(WORK, "none"), ".csv"), undefined);
  });
});
