/**
 * `runInEngine` (notebooks 04 and 05): a run through the engine, a logical date that has its run already, one
 * still to come (refused), and exercise 4's check on a predict run that really failed.
 * Notebook 05 triggers runs for past 2-minute intervals; one of them can fall on the very second a run of
 * notebook 04 was triggered (its run id, `manual__YYYYmmdd-HHMMSS`, is the same): the cell shows that run as it
 * stands instead of failing with a DuplicateRunError (found by tests/lab-notebooks.test.ts, a few % of runs).
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { loadConfig } from "../src/config.js";
import { checkPredictRun, ExerciseError } from "../src/notebook/exercises.js";
import { runInEngine } from "../src/notebook/lab.js";
import { FutureLogicalDateError } from "../src/orchestration/errors.js";
import { openStore } from "../src/orchestration/store/index.js";

// Inside the repository, as the lab's own tests: the DAG processor's children run from the sources with
// `--import tsx`, resolved from their working folder (the project).
const ROOT = resolve(__dirname, "..");
mkdirSync(join(ROOT, ".e2e"), { recursive: true });
const project = mkdtempSync(join(ROOT, ".e2e", "engine-"));
after(() => rmSync(project, { recursive: true, force: true }));

/**
 * What `fn` writes on stdout (where runInEngine prints: text), and its result. Binary writes go through: they are
 * the test runner's own reports (serialized events), and a test whose report was captured here would vanish from
 * the run (seen: the file's first test missing from the count once a second test captured stdout).
 */
async function stdoutOf<T>(fn: () => Promise<T>): Promise<{ out: string; result: T }> {
  const write = process.stdout.write.bind(process.stdout);
  let out = "";
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk !== "string") return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    const result = await fn();
    return { out, result };
  } finally {
    process.stdout.write = write;
  }
}

describe("runInEngine", () => {
  // Exercise 4's check on a run that really failed (tests/exercises.test.ts has the table of hand-made runs): the
  // project's own predict DAG, with no generated records yet, through the engine.
  test("a predict run that failed through the engine: checkPredictRun says which task failed, with its own error and the hint for it", async () => {
    const root = mkdtempSync(join(ROOT, ".e2e", "engine-failed-"));
    try {
      mkdirSync(join(root, "dags"), { recursive: true });
      copyFileSync(join(ROOT, "dags", "predict.ts"), join(root, "dags", "predict.ts"));
      process.env.WINDFLOW__SCHEDULER__WARM_TASK_PROCESSES = "0";
      const { result: run, out } = await stdoutOf(() => runInEngine("predict", { root }));
      assert.equal(run.state, "failed", out);
      const failed = run.tasks.find((t) => t.state === "failed");
      assert.equal(failed?.taskId, "prepare_features", out);
      assert.throws(
        () => checkPredictRun(run, join(root, "data", "predictions")),
        (e: unknown) =>
          e instanceof ExerciseError &&
          e.message.startsWith(`your run ${run.runId} failed: task prepare_features: `) &&
          e.message.includes("latest.csv") &&
          /runInEngine\("get_data_from_engie_hub"\)/.test(e.hint ?? ""),
      );
    } finally {
      delete process.env.WINDFLOW__SCHEDULER__WARM_TASK_PROCESSES;
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("a logical date that has its run already: that run is shown as it stands, nothing runs again", async () => {
    const root = project;
    mkdirSync(join(root, "dags"), { recursive: true });
    writeFileSync(
      join(root, "dags", "tiny.ts"),
      'import { dag } from "windflow/dag";\nexport default dag({ id: "tiny", startDate: "2026-01-01T00:00:00Z" }, (d) => {\n  d.task("one", () => 1);\n});\n',
    );
    process.env.WINDFLOW__SCHEDULER__WARM_TASK_PROCESSES = "0";
    try {
      const logicalDate = "2026-11-01T00:02:00Z";
      const first = await stdoutOf(() => runInEngine("tiny", { root, logicalDate }));
      assert.equal(first.result.state, "success", first.out);
      assert.equal(first.result.runId, "manual__20261101-000200");
      const again = await stdoutOf(() => runInEngine("tiny", { root, logicalDate }));
      assert.equal(again.result.runId, first.result.runId);
      assert.equal(again.result.state, "success");
      assert.match(
        again.out,
        /^tiny: logical date 2026-11-01T00:02:00\.000Z has its run already \(manual__20261101-000200\): each logical date runs once/,
      );
      const store = openStore(loadConfig({ root }));
      try {
        assert.equal(store.listRuns({ dagId: "tiny" }).length, 1);
        assert.equal(store.listTries({ dagId: "tiny", runId: first.result.runId, taskId: "one" }).length, 1);
      } finally {
        store.close();
      }
      // Another error is still an error: an unknown DAG; a logical date still to come (no run dated in the future).
      await assert.rejects(() => runInEngine("nope", { root, logicalDate }), /nope/);
      await assert.rejects(
        () => runInEngine("tiny", { root, logicalDate: "2999-01-01T00:00:00Z" }),
        (e: Error) => e instanceof FutureLogicalDateError && /2999-01-01/.test(e.message),
      );
    } finally {
      delete process.env.WINDFLOW__SCHEDULER__WARM_TASK_PROCESSES;
    }
  });
});
