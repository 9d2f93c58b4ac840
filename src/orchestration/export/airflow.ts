/**
 * `windflow dags export --to airflow`: windflow DAGs as Apache Airflow 3 DAG files, so that the same
 * `dags/*.ts` run on Airflow's workers (as Metaflow's `airflow create` and kedro-airflow do for their flows).
 *
 * What is made, for an Airflow home `OUT` (`-o OUT`):
 * - `OUT/dags/<dag id>.py`, one per DAG: the DAG's id, description (`doc_md`), tags, schedule, start date,
 *   catch-up, max active runs, params, task defaults (retries, retry delay, execution timeout), and one
 *   `WindflowOperator` per task with its trigger rule, options and dependencies. Each task runs
 *   `windflow tasks external` (one try, no windflow store) in the windflow project, with the run's id,
 *   logical date, data interval, try number, conf and its upstream tasks' return values; the value it prints
 *   becomes the task's XCom, its skip code a skip, its failure Airflow's failure (retried by Airflow).
 * - `OUT/plugins/windflow_airflow.py`: that operator and the two timetables that keep windflow's schedule
 *   semantics (docs/adr/0011-airflow-export.md): data intervals (logical date = interval start, as windflow
 *   and Airflow 2), a fixed interval anchored at the start date also with catch-up off (Airflow's own
 *   `DeltaDataIntervalTimetable` then rounds to the Unix epoch), and a manual run for the instant it was
 *   triggered (`[date, date]`).
 *
 * Pure: specs in, file texts out (the CLI writes them atomically; `--check` compares).
 */
import { isAbsolute, relative } from "node:path";
import { SPILL_NAME } from "../../util/atomic.js";
import { parseDuration } from "../duration.js";
import { EXTERNAL_EXIT_CODES, MAX_INLINE_JSON_ARG } from "../external-contract.js";
import type { DagSpec, Json, TaskSpec } from "../types.js";
import { WINDFLOW_AIRFLOW_PLUGIN } from "./airflow-plugin.js";

/** The plugin module's file name (under `plugins/`), imported by every exported DAG file. */
export const PLUGIN_FILE = "windflow_airflow.py";

/** Options of the export. */
export interface AirflowExportOptions {
  /** The windflow project folder (absolute): where Airflow's workers find `dist/cli/main.js` and the DAG files. */
  readonly projectRoot: string;
  /** windflow's version, written in each file's header. */
  readonly version: string;
}

/** One file to write, relative to the Airflow home given with `-o`. */
export interface ExportedFile {
  readonly path: string;
  readonly text: string;
}

/** The files of an export of `specs`: one DAG file each, and the plugin. */
export function exportToAirflow(specs: readonly DagSpec[], options: AirflowExportOptions): ExportedFile[] {
  const files = specs.map((spec) => ({ path: `dags/${spec.id}.py`, text: airflowDagFile(spec, options) }));
  files.push({ path: `plugins/${PLUGIN_FILE}`, text: airflowPluginFile(options) });
  return files;
}

/** The plugin module: the operator and the timetables (the same text for every export of one version). */
export function airflowPluginFile(options: Pick<AirflowExportOptions, "version">): string {
  return WINDFLOW_AIRFLOW_PLUGIN.replaceAll("{{VERSION}}", options.version)
    .replaceAll("{{SKIP_CODE}}", String(EXTERNAL_EXIT_CODES.skipped))
    .replaceAll("{{MAX_INLINE_JSON_ARG}}", String(MAX_INLINE_JSON_ARG))
    .replaceAll("{{SPILL_NAME}}", SPILL_NAME.source);
}

/** A Python literal for a JSON value (None, True, False, str, int/float, list, dict). */
export function pyLiteral(value: Json): string {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`not a JSON number: ${value}`);
    return String(value);
  }
  // A JSON string is a valid Python string literal (same escapes: \" \\ \n \t \uXXXX).
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pyLiteral).join(", ")}]`;
  const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pyLiteral(v)}`);
  return `{${entries.join(", ")}}`;
}

/** `datetime.timedelta(...)` for a number of milliseconds, in the largest exact units. */
export function pyTimedelta(ms: number): string {
  if (ms % 86_400_000 === 0) return `datetime.timedelta(days=${ms / 86_400_000})`;
  if (ms % 1000 === 0) return `datetime.timedelta(seconds=${ms / 1000})`;
  return `datetime.timedelta(milliseconds=${ms})`;
}

/** `datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)` for an ISO instant. */
export function pyDatetime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`not a date: ${iso}`);
  const parts = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
  const time = [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  const micro = d.getUTCMilliseconds() * 1000;
  const all = micro > 0 ? [...parts, ...time, micro] : time.some((x) => x > 0) ? [...parts, ...time] : parts;
  return `datetime.datetime(${all.join(", ")}, tzinfo=datetime.timezone.utc)`;
}

/** The `schedule=` argument for a windflow schedule. */
export function pySchedule(spec: Pick<DagSpec, "schedule">): string {
  if (spec.schedule === null) return "WindflowManualTimetable()";
  if ("cron" in spec.schedule) return `WindflowCronTimetable(${JSON.stringify(spec.schedule.cron)})`;
  return `WindflowIntervalTimetable(${pyTimedelta(parseDuration(spec.schedule.every))})`;
}

/** The plugin's timetable class a schedule uses. */
function pyTimetableClass(spec: Pick<DagSpec, "schedule">): string {
  if (spec.schedule === null) return "WindflowManualTimetable";
  return "cron" in spec.schedule ? "WindflowCronTimetable" : "WindflowIntervalTimetable";
}

/** A Python identifier for a task id (ids may hold `-` and `.`). */
export function pyName(taskId: string, taken: Set<string>): string {
  let name = taskId.replace(/[^A-Za-z0-9_]/g, "_");
  if (/^[0-9]/.test(name)) name = `t_${name}`;
  if (PY_KEYWORDS.has(name) || name === "dag") name = `${name}_`;
  let unique = name;
  for (let i = 2; taken.has(unique); i++) unique = `${name}_${i}`;
  taken.add(unique);
  return unique;
}

const PY_KEYWORDS = new Set(
  "False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield".split(
    " ",
  ),
);

/** Every task upstream of `id`, direct or not (what `ctx.xcom(task)` may read), in declaration order. */
export function ancestors(spec: Pick<DagSpec, "tasks">, id: string): string[] {
  const byId = new Map(spec.tasks.map((t) => [t.id, t]));
  const seen = new Set<string>();
  const visit = (taskId: string): void => {
    for (const up of byId.get(taskId)?.upstream ?? []) {
      if (seen.has(up)) continue;
      seen.add(up);
      visit(up);
    }
  };
  visit(id);
  return spec.tasks.map((t) => t.id).filter((t) => seen.has(t));
}

/** A Python triple-quoted string holding `text` as it is. */
function pyDocString(text: string): string {
  return JSON.stringify(text);
}

/** Airflow shows `description` in its DAG list: the first line, cut at a word within 200 characters. */
export function shortDescription(line: string): string {
  if (line.length <= 200) return line;
  const cut = line.slice(0, 199);
  const space = cut.lastIndexOf(" ");
  return `${(space > 100 ? cut.slice(0, space) : cut).replace(/[\s,;:]+$/, "")}…`;
}

/** One DAG's Airflow file. */
export function airflowDagFile(spec: DagSpec, options: AirflowExportOptions): string {
  const inProject = spec.fileloc ? relative(options.projectRoot, spec.fileloc) : "";
  const source = !spec.fileloc
    ? "(no file: defined in code)"
    : inProject.startsWith("..") || isAbsolute(inProject)
      ? spec.fileloc
      : inProject;
  const names = new Set<string>();
  const pyNames = new Map(spec.tasks.map((t) => [t.id, pyName(t.id, names)]));
  const firstLine = spec.description.split("\n")[0] ?? "";
  const defaults = spec.defaults;
  const lines: string[] = [
    `# Apache Airflow 3 DAG "${spec.id}", exported by windflow ${options.version} from ${source}:`,
    `#   windflow dags export --to airflow ${spec.id} -o <AIRFLOW_HOME>`,
    "# Do not edit: change the windflow DAG file and export again (`--check` says whether this file is up to date).",
    "# Each task runs one try of the windflow task in the windflow project (`windflow tasks external`):",
    "# Airflow's workers need that project on disk and `node` on their PATH; the plugin windflow_airflow.py",
    "# (in Airflow's plugins folder) holds the operator and the timetables that keep windflow's schedule.",
    "from __future__ import annotations",
    "",
    "import datetime",
    "",
    "from airflow.sdk import DAG",
    `from windflow_airflow import ${pyTimetableClass(spec)}, WindflowOperator`,
    "",
    `# Where the windflow project is on the workers (WINDFLOW_PROJECT overrides it at run time), and the DAG's file.`,
    `WINDFLOW_PROJECT = ${JSON.stringify(options.projectRoot)}`,
    `WINDFLOW_DAG_FILE = ${spec.fileloc ? JSON.stringify(source) : "None"}`,
    "",
    "with DAG(",
    `    dag_id=${JSON.stringify(spec.id)},`,
    `    description=${JSON.stringify(shortDescription(firstLine))},`,
    `    doc_md=${pyDocString(spec.description)},`,
    `    schedule=${pySchedule(spec)},`,
    `    start_date=${pyDatetime(spec.startDate)},`,
    `    catchup=${spec.catchup ? "True" : "False"},`,
    `    max_active_runs=${spec.maxActiveRuns},`,
    `    tags=${pyLiteral([...spec.tags])},`,
    `    params=${pyLiteral(spec.params)},`,
    "    default_args={",
    `        "retries": ${defaults.retries},`,
    `        "retry_delay": ${pyTimedelta(defaults.retryDelayMs)},`,
    `        "execution_timeout": ${defaults.executionTimeoutMs === null ? "None" : pyTimedelta(defaults.executionTimeoutMs)},`,
    "    },",
    ") as dag:",
  ];
  for (const task of spec.tasks) lines.push(...taskLines(spec, task, pyNames.get(task.id) as string));
  const edges = spec.tasks.flatMap((t) =>
    t.upstream.map((up) => `    ${pyNames.get(up)} >> ${pyNames.get(t.id)}`),
  );
  if (edges.length > 0) lines.push("", ...edges);
  return `${lines.join("\n")}\n`;
}

function taskLines(spec: DagSpec, task: TaskSpec, name: string): string[] {
  const args = [
    `task_id=${JSON.stringify(task.id)}`,
    `windflow_dag_id=${JSON.stringify(spec.id)}`,
    `windflow_project=WINDFLOW_PROJECT`,
    `windflow_file=WINDFLOW_DAG_FILE`,
    `xcom_from=${pyLiteral(ancestors(spec, task.id))}`,
  ];
  if (task.triggerRule !== "all_success") args.push(`trigger_rule=${JSON.stringify(task.triggerRule)}`);
  if (task.retries !== undefined) args.push(`retries=${task.retries}`);
  if (task.retryDelayMs !== undefined) args.push(`retry_delay=${pyTimedelta(task.retryDelayMs)}`);
  if (task.executionTimeoutMs !== undefined)
    args.push(
      `execution_timeout=${task.executionTimeoutMs === null ? "None" : pyTimedelta(task.executionTimeoutMs)}`,
    );
  if (task.description) args.push(`doc_md=${pyDocString(task.description)}`);
  return ["", `    ${name} = WindflowOperator(`, ...args.map((a) => `        ${a},`), "    )"];
}

/** Which of `files` differ from what is on disk (`read` gives a file's text, or undefined when missing). */
export function staleFiles(
  files: readonly ExportedFile[],
  read: (path: string) => string | undefined,
): { path: string; reason: "missing" | "changed" }[] {
  const out: { path: string; reason: "missing" | "changed" }[] = [];
  for (const f of files) {
    const current = read(f.path);
    if (current === undefined) out.push({ path: f.path, reason: "missing" });
    else if (current !== f.text) out.push({ path: f.path, reason: "changed" });
  }
  return out;
}
