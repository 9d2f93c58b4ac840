/**
 * `dags export --to airflow` against real Apache Airflow 3 (pinned in requirements/airflow.txt, installed by
 * `make test` in .venv-airflow): the exported files import without error, go through Airflow's serialization
 * (the plugin's timetables are registered), and Airflow's scheduler computes the same next runs (logical date
 * and data interval) as windflow's for every kind of schedule, and the same manual-run interval.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { dag } from "../src/orchestration/dag.js";
import { exportToAirflow } from "../src/orchestration/export/airflow.js";
import { listDagFiles, loadDagFile } from "../src/orchestration/loader.js";
import { manualRun, upcomingRuns } from "../src/orchestration/schedule.js";
import type { DagSpec } from "../src/orchestration/types.js";

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
