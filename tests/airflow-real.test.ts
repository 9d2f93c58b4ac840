/**
 * `dags export --to airflow` against real Apache Airflow 3 (pinned in requirements/airflow.txt, installed by
 * `make test` in .venv-airflow): the exported files import without error, go through Airflow's serialization
 * (the plugin's timetables are registered), and Airflow's scheduler computes the same next runs (logical date
 * and data interval) as windflow's for every kind of schedule, and the same manual-run interval.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
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
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { synthesizeDataset } from "../src/data/synthetic.js";
import { dag } from "../src/orchestration/dag.js";
import { exportToAirflow } from "../src/orchestration/export/airflow.js";
import { listDagFiles, loadDagFile } from "../src/orchestration/loader.js";
import { manualRun, upcomingRuns } from "../src/orchestration/schedule.js";
import type { DagSpec } from "../src/orchestration/types.js";
import { deadPid } from "./helpers/pids.js";

const ROOT = resolve(__dirname, "..");
export const AIRFLOW_PYTHON = join(ROOT, ".venv-airflow", "bin", "python");
const run = promisify(execFile);

/** Airflow's environment for a home: no examples, SQLite in the home, quiet. */
export function airflowEnv(home: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__LOAD_EXAMPLES: "False",
    AIRFLOW__CORE__DAGS_FOLDER: join(home, "dags"),
    AIRFLOW__CORE__PLUGINS_FOLDER: join(home, "plugins"),
    AIRFLOW__LOGGING__LOGGING_LEVEL: "WARNING",
  };
}

/** Every kind of schedule windflow has, with and without catch-up, a start in the future, manual only. */
function variants(): DagSpec[] {
  const make = (
    id: string,
    schedule: string | { every: string } | null,
    startDate: string,
    catchup: boolean,
  ) =>
    dag({ id, schedule, startDate, catchup }, (d) => {
      d.task("noop", () => undefined);
    }).spec;
  return [
    make("cron_4h", "0 */4 * * *", "2026-01-01T00:00:00Z", false),
    make("cron_4h_catchup", "0 */4 * * *", "2026-11-20T01:00:00Z", true),
    make("daily_catchup", "@daily", "2026-11-01T00:00:00Z", true),
    make("weekly", "@weekly", "2026-01-01T00:00:00Z", false),
    make("every_28d_catchup", { every: "28d" }, "2026-01-01T00:00:00Z", true),
    make("every_90s", { every: "90s" }, "2026-11-28T09:00:30Z", false),
    make("every_1h_future", { every: "1h" }, "2027-02-03T04:05:06Z", false),
    make("manual_only", null, "2026-01-01T00:00:00Z", false),
  ];
}

const iso = (d: Date) => d.toISOString();

describe("exported DAGs in real Airflow", { timeout: 600_000 }, () => {
  let home: string;
  let specs: DagSpec[];
  before(() => {
    home = mkdtempSync(join(tmpdir(), "windflow-airflow-"));
    const project = listDagFiles(join(ROOT, "dags")).flatMap((f) => loadDagFile(f).map((d) => d.spec));
    specs = [...project, ...variants()];
    for (const f of exportToAirflow(specs, { projectRoot: ROOT, version: "test" })) {
      mkdirSync(join(home, f.path, ".."), { recursive: true });
      writeFileSync(join(home, f.path), f.text);
    }
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  // "Now" between boundaries of every schedule, on a boundary of several, and before some start dates.
  test("every file imports, serializes, and Airflow schedules the next 5 runs as windflow does", async () => {
    const nows = ["2026-11-28T12:53:07.000Z", "2026-11-28T12:00:00.000Z", "2026-02-14T23:59:59.999Z"];
    const outFile = join(home, "next-runs.json");
    await run(AIRFLOW_PYTHON, [join(ROOT, "tests", "airflow", "next_runs.py"), "5", outFile, ...nows], {
      env: airflowEnv(home),
      maxBuffer: 64 * 1024 * 1024,
    });
    const airflow = JSON.parse(readFileSync(outFile, "utf8")) as {
      import_errors: Record<string, string>;
      at: Record<string, Record<string, { timetable: string; runs: string[][]; manual: string[] }>>;
    };
    assert.deepEqual(airflow.import_errors, {});
    for (const now of nows) {
      const dags = airflow.at[now] ?? {};
      assert.deepEqual(Object.keys(dags).sort(), specs.map((s) => s.id).sort());
      for (const spec of specs) {
        const got = dags[spec.id];
        assert.ok(got, spec.id);
        const expected = upcomingRuns(spec, new Date(now), 5).map((i) => [
          iso(i.start),
          iso(i.start),
          iso(i.end),
        ]);
        assert.deepEqual(got.runs, expected, `${spec.id} at ${now}: ${got.timetable}`);
        if (spec.schedule !== null) assert.equal(got.runs.length, 5, spec.id);
        const manual = manualRun(new Date(now));
        assert.deepEqual(got.manual, [iso(manual.dataInterval.start), iso(manual.dataInterval.end)], spec.id);
      }
    }
  });
});

/** `airflow dags test` of exported DAGs: Airflow runs each task through `windflow tasks external`. */
describe("exported DAGs run by Airflow (airflow dags test)", { timeout: 1_800_000 }, () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  const work = (...p: string[]) => join(home, "work", ...p);
  const windflowDags = join(ROOT, "tests", "fixtures", "airflow-dags");

  before(async () => {
    home = mkdtempSync(join(tmpdir(), "windflow-airflow-run-"));
    const specs = [...listDagFiles(join(ROOT, "dags")), ...listDagFiles(windflowDags)].flatMap((f) =>
      loadDagFile(f).map((d) => d.spec),
    );
    for (const f of exportToAirflow(specs, { projectRoot: ROOT, version: "test" })) {
      mkdirSync(join(home, f.path, ".."), { recursive: true });
      writeFileSync(join(home, f.path), f.text);
    }
    // Airflow's INFO lines hold the operator's: windflow's log lines, its error and hint, the skip's reason.
    env = {
      ...airflowEnv(home),
      AIRFLOW__LOGGING__LOGGING_LEVEL: "INFO",
      WINDFLOW__CORE__LOAD_EXAMPLES: "False",
      // airflow_big's tasks return 100 kB each.
      WINDFLOW__CORE__MAX_XCOM_SIZE: "150000",
    };
    await run(join(ROOT, ".venv-airflow", "bin", "airflow"), ["db", "migrate"], { env, maxBuffer: 64 << 20 });
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  async function dagsTest(dagId: string, date: string, conf?: object) {
    const args = ["dags", "test", dagId, date, ...(conf ? ["--conf", JSON.stringify(conf)] : [])];
    const result = await run(join(ROOT, ".venv-airflow", "bin", "airflow"), args, {
      env,
      maxBuffer: 64 << 20,
    }).then(
      (r) => ({ code: 0, output: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        output: e.stdout + e.stderr,
      }),
    );
    const reportFile = join(home, `${dagId}-report.json`);
    await run(AIRFLOW_PYTHON, [join(ROOT, "tests", "airflow", "run_report.py"), dagId, reportFile], { env });
    const report = JSON.parse(readFileSync(reportFile, "utf8")) as {
      state: string;
      tasks: Record<string, { state: string; try_number: number; xcom: unknown }>;
    };
    return { ...result, report };
  }

  test("XCom in and out, a skip, Airflow's retries, windflow's error and hint in Airflow's log", async () => {
    const r = await dagsTest("airflow_demo", "2026-11-28T10:00:00+00:00");
    assert.equal(r.report.state, "failed", r.output.slice(-3000));
    const t = r.report.tasks;
    assert.deepEqual(t.make, {
      state: "success",
      try_number: 1,
      // A manual run is for its instant: the logical date given, data interval [date, date].
      xcom: {
        n: 2,
        stamp: "20261128-100000",
        start: "2026-11-28T10:00:00.000Z",
        end: "2026-11-28T10:00:00.000Z",
      },
    });
    assert.deepEqual(t.use, { state: "success", try_number: 1, xcom: 20 });
    assert.deepEqual(t.maybe_skip, { state: "skipped", try_number: 1, xcom: null });
    assert.deepEqual(t.flaky, { state: "success", try_number: 2, xcom: "ok on try 2 of 2" });
    assert.deepEqual(t.broken, { state: "failed", try_number: 2, xcom: null });
    assert.match(r.output, /bad modelPath on try 2/);
    assert.match(r.output, /hint: set modelPath to a model folder/);
    assert.match(r.output, /nothing to do today/);
    // The failed first try of flaky: windflow's message and hint in Airflow's log, then Airflow's retry.
    assert.match(r.output, /the source is down/);
    assert.match(r.output, /hint: it comes back/);
  });

  test("upstream values over the 128 KiB one argument may hold reach the task (the operator passes a file)", async () => {
    // What an Airflow task process killed with -9 mid-try left: the operator's next spill removes it.
    const left = join(tmpdir(), `windflow-try-${deadPid()}-ab_c1234`);
    mkdirSync(left);
    writeFileSync(join(left, "xcom.json"), "{}");
    try {
      const r = await dagsTest("airflow_big", "2026-11-28T10:00:00+00:00");
      assert.equal(r.report.state, "success", r.output.slice(-3000));
      assert.deepEqual(r.report.tasks.join?.xcom, { left: 100_000, right: 100_000, sample: "lr" });
      // Airflow's log shows the start of a large return value, not 100 kB of it.
      assert.match(r.output, /return value: "l{100,}\.\.\. \(100002 characters in all\)/);
      assert.equal(existsSync(left), false, "a dead task process's spill folder swept");
    } finally {
      rmSync(left, { recursive: true, force: true });
    }
  });

  test("the course's DAGs: train writes its model, get_data its records, predict its dated CSV", async () => {
    mkdirSync(work("data"), { recursive: true });
    await synthesizeDataset(work("data", "data.csv"), { seed: 5, days: 3 });
    const train = await dagsTest("train", "2026-11-25T17:00:00+00:00", {
      dataPath: work("data", "data.csv"),
      featuresPath: work("data", "prepared_features_train.parquet"),
      modelsDir: work("models"),
      epochs: 2,
    });
    assert.equal(train.report.state, "success", train.output.slice(-3000));
    assert.equal(train.report.tasks.train_model?.xcom, work("models", "20261125-170000"));
    assert.ok(existsSync(work("models", "20261125-170000", "model.json")));
    assert.ok(existsSync(work("models", "20261125-170000", "metadata.json")));

    const generate = await dagsTest("get_data_from_engie_hub", "2026-11-25T17:30:00+00:00", {
      dataPath: work("data", "data.csv"),
      outputFolder: work("data", "generated_data"),
    });
    assert.equal(generate.report.state, "success", generate.output.slice(-3000));
    assert.ok(existsSync(work("data", "generated_data", "20261125-173000.csv")));

    const predict = await dagsTest("predict", "2026-11-25T17:30:05+00:00", {
      inputPath: work("data", "generated_data", "latest.csv"),
      featuresFolder: work("data"),
      modelPath: work("models"),
      predictionsFolder: work("data", "predictions"),
    });
    assert.equal(predict.report.state, "success", predict.output.slice(-3000));
    const csv = work("data", "predictions", "20261125-173005.csv");
    assert.equal(predict.report.tasks.predict?.xcom, csv);
    const [header, ...rows] = readFileSync(csv, "utf8").trim().split("\n");
    assert.equal(header, "predictions,predictions_time");
    assert.ok(rows.length > 0);
    for (const row of rows) assert.equal(row.split(",")[1], "20261125-173005");
    assert.deepEqual(readdirSync(work("data", "predictions")).sort(), ["20261125-173005.csv", "latest.csv"]);
  });
});
