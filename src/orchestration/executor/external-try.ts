/**
 * One try for an external orchestrator (Airflow's BashOperator, a CI job...): `windflow tasks external DAG
 * TASK --run-id R --logical-date ISO [...]`, or `node external-try.js ...` (no CLI to load). No windflow store:
 * the orchestrator hands in what it knows (run id, logical date, data interval, try number and max tries,
 * conf, upstream return values), and the try is run by the engine's one try runner (`runTry`), as `windflow
 * tasks run` and `dags test` do.
 *
 * - The return value goes to stdout as JSON, on its last line (`null` when the task returns nothing): what
 *   the orchestrator keeps as the task's XCom. The task's `ctx.log` lines go to stderr.
 * - Exit codes (`EXTERNAL_EXIT_CODES`): 0 success; 99 skipped (`ctx.skip`: Airflow's BashOperator skips the
 *   task on 99 by default, `skip_on_exit_code`); 1 failed, with windflow's message and hint on stderr; 2 not
 *   run (bad arguments, no such DAG or task).
 * - It never retries: the try number is the orchestrator's (`ctx.tryNumber`), and so are retries.
 * - At the task's execution timeout (or on SIGTERM/SIGINT) `ctx.signal` aborts, the try fails at once, the
 *   task gets `[core] killed_task_cleanup_time`, then the process exits, which ends whatever it still does.
 * - For `windflow worker` (store-free tries, `[bullmq] shared_home = false`): with `WINDFLOW_TRY_EVENTS_FD=n`
 *   the `ctx.log` lines and, at the end, the outcome (`TryReport`: value, error with hint and stack,
 *   retryable) go to file descriptor n as JSON lines (`{"log": text}`, `{"end": report}`) instead of stderr,
 *   so that the worker relays them and the scheduler records the try as a local one is recorded; with
 *   `WINDFLOW_STOP_WITH_PARENT=1` the try stops (as on SIGTERM) when stdin, a pipe from the worker, closes.
 */
import { readFileSync, writeSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadConfig, type WindflowConfig } from "../../config.js";
import { WindflowError } from "../../errors.js";
import { exitWhenFlushed } from "../../util/exit.js";
import type { Dag } from "../dag.js";
import { DagImportError } from "../errors.js";
import { EXTERNAL_EXIT_CODES } from "../external-contract.js";
import { listConfiguredDagFiles, loadDag, loadDagFile } from "../loader.js";
import { taskOptions } from "../task-options.js";
import type { Json, JsonObject } from "../types.js";
import { loadedTask } from "./run-task.js";
import { stopWithParent } from "./stop-with-parent.js";
import { errorInfo, runTry, type TryReport, tryReport } from "./try-runner.js";

export { EXTERNAL_EXIT_CODES } from "../external-contract.js";

export const EXTERNAL_USAGE =
  "windflow tasks external DAG_ID TASK_ID --run-id ID --logical-date ISO [--data-interval-start ISO " +
  "--data-interval-end ISO] [--try N] [--max-tries M] [--conf JSON|@FILE] [--xcom JSON|@FILE] [--file DAG_FILE]";

/** Where an external try writes (the process's streams unless given: tests). */
export interface ExternalTryIO {
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
  config?: WindflowConfig;
  /** Aborting it stops the try as a SIGTERM would. */
  stop?: AbortSignal;
  /**
   * Structured output (`WINDFLOW_TRY_EVENTS_FD`): the `ctx.log` lines and the outcome go here instead of
   * stderr (errors of the arguments still go to stderr); stdout still gets the return value.
   */
  events?: (event: { log: string } | { end: TryReport }) => void;
}

/** The arguments of an external try are wrong (nothing ran). */
export class ExternalTryUsageError extends WindflowError {}

function date(name: string, value: string | undefined): Date {
  const d = value === undefined ? undefined : new Date(value);
  if (!d || Number.isNaN(d.getTime()))
    throw new ExternalTryUsageError(`--${name}: expected an ISO date, got ${JSON.stringify(value ?? "")}`, {
      hint: "e.g. 2026-11-25T17:30:00Z (Airflow: {{ logical_date.isoformat() }})",
    });
  return d;
}

/**
 * `--conf`/`--xcom`: the JSON itself, or `@FILE`, a file that holds it (curl's convention; JSON objects start
 * with `{`, so `@` is unambiguous). Linux refuses any single argument over 128 KiB (`E2BIG`), less than a few
 * upstream return values may weigh (`[core] max_xcom_size` each): `windflow worker` passes larger ones as files.
 */
function jsonObject(name: string, value: string | undefined): JsonObject {
  if (value === undefined) return {};
  let text = value;
  if (value.startsWith("@")) {
    const file = value.slice(1);
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new ExternalTryUsageError(
        `--${name} ${value}: cannot read ${JSON.stringify(file)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        { hint: `--${name} @FILE reads the JSON from FILE: give a file that exists, or the JSON itself` },
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ExternalTryUsageError(
      `--${name}${text === value ? "" : ` ${value}`}: not JSON (${(error as Error).message})`,
      { hint: `--${name} '{"key": "value"}', or --${name} @FILE with that in FILE` },
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new ExternalTryUsageError(`--${name}: expected a JSON object`, {
      hint: `--${name} '{"key": "value"}'`,
    });
  return parsed as JsonObject;
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new ExternalTryUsageError(`--${name}: expected a whole number >= 1, got ${value}`);
  return n;
}

/** The DAG `dagId`: from `file`, else searched in the configured DAG folders. */
function findDag(config: WindflowConfig, dagId: string, file: string | undefined): Dag {
  if (file !== undefined) return loadDag(file, dagId, { fresh: true });
  const broken: string[] = [];
  for (const f of listConfiguredDagFiles(config)) {
    try {
      const found = loadDagFile(f).find((d) => d.id === dagId);
      if (found) return found;
    } catch (error) {
      broken.push(error instanceof DagImportError ? error.file : f);
    }
  }
  throw new ExternalTryUsageError(`no DAG "${dagId}" in ${config.core.dags_folder}`, {
    hint: `give its file with --file${broken.length > 0 ? `; these files did not load: ${broken.join(", ")}` : ""}`,
  });
}

/** Runs one external try (see the module comment) and returns the exit code; the caller exits with it. */
export async function externalTryMain(argv: readonly string[], io: ExternalTryIO = {}): Promise<number> {
  const out = io.stdout ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = io.stderr ?? ((line: string) => process.stderr.write(`${line}\n`));
  const say = (error: unknown, named: boolean) => {
    const info = errorInfo(error);
    err(`error: ${named ? `${info.name}: ` : ""}${info.message}`);
    if (info.hint) err(`hint: ${info.hint}`);
  };
  let input: Parameters<typeof runTry>[0];
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        "run-id": { type: "string" },
        "logical-date": { type: "string" },
        "data-interval-start": { type: "string" },
        "data-interval-end": { type: "string" },
        try: { type: "string" },
        "max-tries": { type: "string" },
        conf: { type: "string" },
        xcom: { type: "string" },
        file: { type: "string" },
      },
    });
    const [dagId, taskId, ...rest] = positionals;
    if (!dagId || !taskId || rest.length > 0 || !values["run-id"])
      throw new ExternalTryUsageError(`usage: ${EXTERNAL_USAGE}`);
    const logicalDate = date("logical-date", values["logical-date"]);
    const dataInterval = {
      start: values["data-interval-start"]
        ? date("data-interval-start", values["data-interval-start"])
        : logicalDate,
      end: values["data-interval-end"] ? date("data-interval-end", values["data-interval-end"]) : logicalDate,
    };
    const config = io.config ?? loadConfig();
    const dag = findDag(config, dagId, values.file);
    const task = loadedTask(dag, taskId, config); // an unknown task: not run
    const tryNumber = positiveInt("try", values.try, 1);
    input = {
      dagId,
      taskId,
      load: () => task,
      runId: values["run-id"],
      logicalDate,
      dataInterval,
      conf: jsonObject("conf", values.conf),
      tryNumber,
      maxTries: positiveInt("max-tries", values["max-tries"], taskOptions(dag.spec, taskId).retries + 1),
      xcoms: jsonObject("xcom", values.xcom) as Record<string, Json>,
      log: io.events ? (line) => io.events?.({ log: line }) : (line) => err(`[${taskId}] ${line}`),
      settings: config.core,
      ...(io.stop ? { stop: io.stop } : {}),
    };
  } catch (error) {
    say(error, !(error instanceof WindflowError));
    return EXTERNAL_EXIT_CODES.notRun;
  }
  const result = await runTry(input);
  if (result.outcome === "success") out(JSON.stringify(result.value ?? null));
  if (io.events) io.events({ end: tryReport(result) });
  // A skip's message is TaskSkip's own ("skipped: <reason>").
  else if (result.outcome === "skipped") err(errorInfo(result.error).message);
  else if (result.outcome === "failed") say(result.error, true);
  await result.cleanedUp();
  return EXTERNAL_EXIT_CODES[result.outcome];
}

if (require.main === module) {
  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const)
    process.on(signal, () => stop.abort(`received ${signal}`));
  if (process.env.WINDFLOW_STOP_WITH_PARENT === "1") stopWithParent(() => stop.abort("its worker is gone"));
  const fd = Number(process.env.WINDFLOW_TRY_EVENTS_FD);
  const events =
    Number.isInteger(fd) && fd > 2 ? (e: object) => writeSync(fd, `${JSON.stringify(e)}\n`) : undefined;
  externalTryMain(process.argv.slice(2), { stop: stop.signal, ...(events ? { events } : {}) }).then(
    // Exit now (a stopped task may have left work behind: timers, sockets; the try is over), once the
    // return value has left through the pipe.
    (code) => exitWhenFlushed(code),
    (error: unknown) => {
      process.stderr.write(
        `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      return exitWhenFlushed(EXTERNAL_EXIT_CODES.notRun);
    },
  );
}
