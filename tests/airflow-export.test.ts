/**
 * `dags export --to airflow`, the pure part (fast lane): the Python text made from DAG specs. That Airflow
 * imports it, schedules it as windflow does and runs it is tests/airflow-real.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { dag } from "../src/orchestration/dag.js";
import {
  airflowDagFile,
  ancestors,
  exportToAirflow,
  pyDatetime,
  pyLiteral,
  pyName,
  pySchedule,
  pyTimedelta,
  staleFiles,
} from "../src/orchestration/export/airflow.js";
import { EXTERNAL_EXIT_CODES, MAX_INLINE_JSON_ARG } from "../src/orchestration/external-contract.js";
import { SPILL_NAME } from "../src/util/atomic.js";

const options = { projectRoot: "/srv/windflow", version: "9.9.9" };

function sample() {
  return dag(
    {
      id: "sample",
      description: 'Line one of the doc.\n\nMore **markdown** with "quotes" and a back\\slash.',
      schedule: "0 */4 * * *",
      startDate: "2026-03-02T06:30:00Z",
      catchup: true,
      maxActiveRuns: 3,
      tags: ["ml", "x"],
      params: { path: "data/a.csv", n: 3, ratio: 0.5, on: true, off: false, none: null, list: [1, "b"] },
      defaults: { retries: 2, retryDelay: "90s", executionTimeout: "1h" },
    },
    (d) => {
      const a = d.task("extract-raw", () => "a", { description: "Reads the raw file." });
      const b = d.task("class", (ctx) => ctx.xcom(a), { retries: 0, executionTimeout: null });
      const c = d.task("alert", () => undefined, { triggerRule: "one_failed", retryDelay: 1500 });
      a.before(b).before(c);
    },
  ).spec;
}

describe("Python literals", () => {
  test("JSON values become the same Python values", () => {
    assert.equal(pyLiteral(null), "None");
    assert.equal(pyLiteral(true), "True");
    assert.equal(pyLiteral(false), "False");
    assert.equal(pyLiteral(-1.5e-7), "-1.5e-7");
    assert.equal(pyLiteral('a "q" \\ \n é'), '"a \\"q\\" \\\\ \\n é"');
    assert.equal(pyLiteral({ "k y": [1, null, { z: false }] }), '{"k y": [1, None, {"z": False}]}');
    assert.throws(() => pyLiteral(Number.NaN), /not a JSON number/);
  });
  test("durations and dates in exact units, UTC", () => {
    assert.equal(pyTimedelta(28 * 86_400_000), "datetime.timedelta(days=28)");
    assert.equal(pyTimedelta(120_000), "datetime.timedelta(seconds=120)");
    assert.equal(pyTimedelta(1500), "datetime.timedelta(milliseconds=1500)");
    assert.equal(
      pyDatetime("2026-01-01T00:00:00Z"),
      "datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)",
    );
    assert.equal(
      pyDatetime("2026-03-02T06:30:00.250Z"),
      "datetime.datetime(2026, 3, 2, 6, 30, 0, 250000, tzinfo=datetime.timezone.utc)",
    );
  });
  test("schedules: the timetables that keep windflow's semantics", () => {
    assert.equal(pySchedule({ schedule: null }), "WindflowManualTimetable()");
    assert.equal(pySchedule({ schedule: { cron: "@daily" } }), 'WindflowCronTimetable("@daily")');
    assert.equal(
      pySchedule({ schedule: { every: "28d" } }),
      "WindflowIntervalTimetable(datetime.timedelta(days=28))",
    );
    assert.equal(
      pySchedule({ schedule: { every: "1h30m" } }),
      "WindflowIntervalTimetable(datetime.timedelta(seconds=5400))",
    );
  });
  test("task ids become distinct Python names", () => {
    const taken = new Set<string>();
    assert.equal(pyName("extract-raw", taken), "extract_raw");
    assert.equal(pyName("extract.raw", taken), "extract_raw_2");
    assert.equal(pyName("class", taken), "class_");
    assert.equal(pyName("1st", taken), "t_1st");
    assert.equal(pyName("dag", taken), "dag_");
  });
});

describe("the exported DAG file", () => {
  const spec = sample();
  const text = airflowDagFile(spec, options);

  test("says how it was made and where windflow is", () => {
    assert.match(text, /^# Apache Airflow 3 DAG "sample", exported by windflow 9\.9\.9 from \(no file/);
    assert.match(text, /WINDFLOW_PROJECT = "\/srv\/windflow"/);
    assert.match(text, /WINDFLOW_DAG_FILE = None/);
    const located = airflowDagFile({ ...spec, fileloc: "/srv/windflow/dags/sample.ts" }, options);
    assert.match(located, /WINDFLOW_DAG_FILE = "dags\/sample\.ts"/);
    assert.match(located, /from dags\/sample\.ts:/);
    const outside = airflowDagFile({ ...spec, fileloc: "/elsewhere/sample.ts" }, options);
    assert.match(outside, /WINDFLOW_DAG_FILE = "\/elsewhere\/sample\.ts"/);
    assert.match(text, /from windflow_airflow import WindflowCronTimetable, WindflowOperator/);
  });
  test("carries the DAG's settings", () => {
    assert.match(text, /dag_id="sample",/);
    assert.match(text, /description="Line one of the doc\.",/);
    assert.match(
      text,
      /doc_md="Line one of the doc\.\\n\\nMore \*\*markdown\*\* with \\"quotes\\" and a back\\\\slash\.",/,
    );
    assert.match(text, /schedule=WindflowCronTimetable\("0 \*\/4 \* \* \*"\),/);
    assert.match(
      text,
      /start_date=datetime\.datetime\(2026, 3, 2, 6, 30, 0, tzinfo=datetime\.timezone\.utc\),/,
    );
    assert.match(text, /catchup=True,/);
    assert.match(text, /max_active_runs=3,/);
    assert.match(text, /tags=\["ml", "x"\],/);
    assert.match(
      text,
      /params=\{"path": "data\/a\.csv", "n": 3, "ratio": 0\.5, "on": True, "off": False, "none": None, "list": \[1, "b"\]\},/,
    );
    assert.match(
      text,
      /"retries": 2,\n\s+"retry_delay": datetime\.timedelta\(seconds=90\),\n\s+"execution_timeout": datetime\.timedelta\(seconds=3600\),/,
    );
  });
  test("one operator per task, with its own options, XCom sources and dependencies", () => {
    assert.match(
      text,
      /extract_raw = WindflowOperator\(\n\s+task_id="extract-raw",\n\s+windflow_dag_id="sample",\n\s+windflow_project=WINDFLOW_PROJECT,\n\s+windflow_file=WINDFLOW_DAG_FILE,\n\s+xcom_from=\[\],\n\s+doc_md="Reads the raw file\.",\n\s+\)/,
    );
    assert.match(
      text,
      /class_ = WindflowOperator\([^)]*xcom_from=\["extract-raw"\],\n\s+retries=0,\n\s+execution_timeout=None,/,
    );
    assert.match(
      text,
      /alert = WindflowOperator\([^)]*xcom_from=\["extract-raw", "class"\],\n\s+trigger_rule="one_failed",\n\s+retry_delay=datetime\.timedelta\(milliseconds=1500\),/,
    );
    assert.match(text, /\n {4}extract_raw >> class_\n {4}class_ >> alert\n$/);
  });
  test("ancestors: every task upstream, direct or not, in declaration order", () => {
    assert.deepEqual(ancestors(spec, "alert"), ["extract-raw", "class"]);
    assert.deepEqual(ancestors(spec, "extract-raw"), []);
  });
  test("the same spec gives the same text (--check can compare)", () => {
    assert.equal(airflowDagFile(sample(), options), text);
  });
});

describe("the export and its check", () => {
  const files = exportToAirflow([sample()], options);
  test("one file per DAG under dags/, and the plugin with the external try's contract (skip code, inline JSON limit)", () => {
    assert.deepEqual(
      files.map((f) => f.path),
      ["dags/sample.py", "plugins/windflow_airflow.py"],
    );
    const plugin = files[1]?.text ?? "";
    assert.match(plugin, /windflow 9\.9\.9/);
    assert.match(plugin, new RegExp(`^SKIP_EXIT_CODE = ${EXTERNAL_EXIT_CODES.skipped}$`, "m"));
    assert.equal(EXTERNAL_EXIT_CODES.skipped, 99, "Airflow's BashOperator's skip_on_exit_code default");
    assert.match(plugin, new RegExp(`^MAX_INLINE_JSON_ARG = ${MAX_INLINE_JSON_ARG}$`, "m"));
    assert.ok(
      plugin.includes(`_SPILL_NAME = re.compile(r"${SPILL_NAME.source}")`),
      "the spill folders' pattern",
    );
    assert.doesNotMatch(plugin, /\{\{/);
    assert.match(
      plugin,
      /timetables = \[WindflowIntervalTimetable, WindflowCronTimetable, WindflowManualTimetable\]/,
    );
  });
  test("--check names missing and changed files, and nothing when up to date", () => {
    const disk = new Map(files.map((f) => [f.path, f.text]));
    assert.deepEqual(
      staleFiles(files, (p) => disk.get(p)),
      [],
    );
    disk.set("dags/sample.py", `${files[0]?.text}# edited\n`);
    disk.delete("plugins/windflow_airflow.py");
    assert.deepEqual(
      staleFiles(files, (p) => disk.get(p)),
      [
        { path: "dags/sample.py", reason: "changed" },
        { path: "plugins/windflow_airflow.py", reason: "missing" },
      ],
    );
  });
});

test("a long first line becomes a description cut at a word, the whole text the doc", () => {
  const long = `${"word ".repeat(60)}end`;
  const text = airflowDagFile({ ...sample(), description: long }, options);
  const description = /description="([^"]*)"/.exec(text)?.[1] ?? "";
  assert.ok(description.length <= 200, description);
  assert.match(description, /word…$/);
  assert.match(text, new RegExp(`doc_md="${long}"`));
});
