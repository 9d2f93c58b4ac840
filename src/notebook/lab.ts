/**
 * What the lab's notebooks call, besides the pipeline steps: where the project's files are, running a DAG in
 * the notebook (`dags test`) or through the engine (scheduler, task processes, store: what the UI shows), and
 * reading the dated predictions back.
 *
 * Notebooks run in `notebooks/` or `notebooks/fr/`; every path here is relative to the project folder, found by
 * walking up from the kernel's folder (`findLabRoot`) unless given.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { loadConfig, type WindflowConfig } from "../config.js";
import type { Dag } from "../orchestration/dag.js";
import { loadDag } from "../orchestration/loader.js";
import { syncDagFolder } from "../orchestration/scheduler/dag-processor.js";
import { createLogger } from "../orchestration/scheduler/log.js";
import { schedulerMain } from "../orchestration/scheduler/main.js";
import { triggerDag } from "../orchestration/scheduler/trigger.js";
import { formatRunState, runStateView, type TaskInstanceRow } from "../orchestration/scheduler/views.js";
import { DuplicateRunError } from "../orchestration/store/errors.js";
import { openStore } from "../orchestration/store/index.js";
import { formatTestRun, type TestRunResult, testDag } from "../orchestration/test-run.js";
import type { JsonObject } from "../orchestration/types.js";
import { showMarkdown } from "./display.js";
import { ExerciseError, ExerciseNotDoneError } from "./exercises.js";
import type { PredictionSeries } from "./figures.js";
import { findLabRoot } from "./lab-folders.js";

/** The project's files, as the DAGs and the CLI use them. */
export interface ProjectPaths {
  root: string;
  dataset: string;
  trainFeatures: string;
  models: string;
  generated: string;
  generatedLatest: string;
  predictions: string;
  predictionsLatest: string;
  dags: string;
}

/**
 * The project's files: of the project the notebook belongs to (`findLabRoot`: the same from `notebooks/` and
 * `notebooks/fr/`, the trainee's folder for the trainee's version), or of `root` (resolved against the current folder).
 */
export function projectPaths(root?: string): ProjectPaths {
  const r = root === undefined ? findLabRoot() : resolve(root);
  return {
    root: r,
    dataset: join(r, "data", "la-haute-borne-data-2017-2020.csv"),
    trainFeatures: join(r, "data", "prepared_features_train.parquet"),
    models: join(r, "models"),
    generated: join(r, "data", "generated_data"),
    generatedLatest: join(r, "data", "generated_data", "latest.csv"),
    predictions: join(r, "data", "predictions"),
    predictionsLatest: join(r, "data", "predictions", "latest.csv"),
    dags: join(r, "dags"),
  };
}

/** A DAG of a file of the project's `dags/` (read afresh: edits are seen); `root` as for `projectPaths`. */
export function projectDag(dagId: string, file = `${dagId}.ts`, root?: string): Dag {
  return loadDag(join(projectPaths(root).dags, file), dagId, { fresh: true });
}

/** Shows a file's source below the cell. */
export function showSource(file: string, language = "ts"): void {
  showMarkdown(`\`${file}\`\n\n\`\`\`${language}\n${readFileSync(file, "utf8").trimEnd()}\n\`\`\``);
}

/**
 * Runs a whole DAG in this notebook (`windflow dags test`): no scheduler, no database; each task's log lines as
 * they come, then each task's state, duration and return value. Returns the result.
 */
export async function runDag(
  dag: Dag,
  options: { conf?: JsonObject; logicalDate?: string | Date; quiet?: boolean } = {},
): Promise<TestRunResult> {
  const result = await testDag(dag, {
    ...(options.conf ? { conf: options.conf } : {}),
    ...(options.logicalDate ? { logicalDate: options.logicalDate } : {}),
    ...(options.quiet
      ? {}
      : { log: (taskId: string, line: string) => process.stdout.write(`  [${taskId}] ${line}\n`) }),
  });
  process.stdout.write(`${formatTestRun(result)}\n`);
  return result;
}

/** What `runInEngine` returns: the run's state and its task instances, as `windflow dags state` shows them. */
export interface EngineRun {
  dagId: string;
  runId: string;
  state: string;
  stamp: string;
  tasks: TaskInstanceRow[];
}

/**
 * Triggers a run and runs it through the engine, as `windflow dags trigger --wait` does: the DAG files parsed
 * into the project's store (`.windflow/`), a manual run created, a scheduler for that run alone (the DAG may
 * stay paused), each task in its own process. The run then shows in the web UI. Prints the run's state.
 */
export async function runInEngine(
  dagId: string,
  options: { conf?: JsonObject; logicalDate?: string | Date; root?: string } = {},
): Promise<EngineRun> {
  const root = projectPaths(options.root).root;
  const config: WindflowConfig = loadConfig({ root });
  const store = openStore(config);
  try {
    await syncDagFolder(config, store);
    // A DAG file that does not load (an exercise not done, a typo): say so rather than "no such DAG".
    const broken = store
      .listImportErrors()
      .find((e) => basename(e.file).replace(/\.[cm]?[tj]s$/, "") === dagId);
    if (broken) {
      const file = relative(root, broken.file);
      const notDone = /exercise not done yet: ([^\n]*)/.exec(broken.message);
      if (notDone) throw new ExerciseNotDoneError(`${notDone[1]}, in ${file}`);
      throw new ExerciseError(
        `${file} does not load: ${broken.message.split("\n")[0]}`,
        "fix it, then run this cell again",
      );
    }
    let run: ReturnType<typeof triggerDag>["run"];
    try {
      ({ run } = triggerDag(store, dagId, {
        ...(options.conf ? { conf: options.conf } : {}),
        ...(options.logicalDate ? { logicalDate: options.logicalDate } : {}),
      }));
    } catch (error) {
      // A logical date asked for that has its run already (the same second: notebook 05's past intervals can
      // meet a run notebook 04 triggered then, or the cell run twice): each logical date runs once, as in
      // Airflow; that run is shown as it is rather than failing the cell.
      const existing =
        error instanceof DuplicateRunError && error.reason === "run_id" && options.logicalDate !== undefined
          ? store.getRun({ dagId, runId: error.runId })
          : undefined;
      if (!existing) throw error;
      const view = runStateView(store, existing);
      process.stdout.write(
        `${dagId}: logical date ${existing.logicalDate.toISOString()} has its run already (${existing.runId}): ` +
          `each logical date runs once; here it is as it stands\n${formatRunState(view)}\n`,
      );
      return {
        dagId,
        runId: existing.runId,
        state: view.run.state,
        stamp: view.run.stamp,
        tasks: view.tasks,
      };
    }
    await schedulerMain({
      config,
      store,
      mode: "until-idle",
      only: { dagId, runId: run.runId },
      // Parsed just above: the run starts without parsing every DAG file again.
      parseDagFiles: false,
      log: createLogger("WARNING", (line) => {
        // Only what concerns this run: another DAG file that does not load yet (the predict DAG before
        // Exercise 4 is done) is not this run's problem, and reads as one in red.
        const other = /import error in (\S+?\.[cm]?[tj]s): /.exec(line);
        if (other && basename(other[1] as string).replace(/\.[cm]?[tj]s$/, "") !== dagId) return;
        process.stdout.write(`${line}\n`);
      }),
    });
    const view = runStateView(store, run);
    process.stdout.write(`${formatRunState(view)}\n`);
    return { dagId, runId: run.runId, state: view.run.state, stamp: view.run.stamp, tasks: view.tasks };
  } finally {
    store.close();
  }
}

/** Every dated predictions file of a folder, oldest first, read (for `figures.predictionsOverTime`). */
export function readPredictionRuns(folder: string): (PredictionSeries & { name: string })[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => /^\d{8}-\d{6}(_\d+)?\.csv$/.test(f))
    .sort()
    .map((name) => {
      const [date, time] = name.slice(0, 15).split("-") as [string, string];
      const rows = readFileSync(join(folder, name), "utf8").trim().split("\n").slice(1);
      return {
        name,
        time: `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${time.slice(0, 2)}:${time.slice(2, 4)}:${time.slice(4, 6)}Z`,
        predictions: rows.map((r) => Number(r.split(",")[0])),
      };
    });
}
