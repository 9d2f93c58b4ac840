/**
 * The orchestration commands of the `windflow` CLI: dags, tasks, scheduler, db, config.
 * Thin like main.ts: parse, call the library, print, set the exit code. Libraries are imported when a
 * command runs, so that `windflow --help` stays fast.
 */
import { existsSync } from "node:fs";
import { relative } from "node:path";
import { type Command, Option } from "commander";
import type { WindflowConfig } from "../config.js";
import { WindflowError } from "../errors.js";
import type { Dag } from "../orchestration/dag.js";
import type { ProcessorResult } from "../orchestration/scheduler/dag-processor.js";
import type { SqliteStore } from "../orchestration/store/sqlite.js";
import type { DagSpec, Json, JsonObject } from "../orchestration/types.js";
import { exitWhenFlushed } from "../util/exit.js";

export interface CliContext {
  /** The project root. */
  root: string;
  /** Writes a line to stderr. */
  say: (line: string) => void;
}

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const json = (value: unknown): void => out(JSON.stringify(value, null, 2));

interface TriggerCliOptions {
  conf?: string;
  date?: string;
  unpause?: boolean;
  wait?: boolean;
  timeout?: number;
  json?: boolean;
}

export function registerOrchestrationCommands(program: Command, { root, say }: CliContext): void {
  async function config(): Promise<WindflowConfig> {
    const { loadConfig } = await import("../config.js");
    return loadConfig({ root });
  }

  /** Opens the store (creating the database if needed), runs `fn`, closes it. */
  async function withStore<T>(fn: (store: SqliteStore, c: WindflowConfig) => T | Promise<T>): Promise<T> {
    const c = await config();
    const { openStore } = await import("../orchestration/store/index.js");
    const store = openStore(c);
    try {
      return await fn(store, c);
    } finally {
      store.close();
    }
  }

  /** The active DAG record, parsing the DAGs folder first if the store does not know the DAG yet. */
  async function storedDag(store: SqliteStore, c: WindflowConfig, dagId: string) {
    const { activeDag, syncDagFolder } = await import("../orchestration/scheduler/index.js");
    if (!store.getDag(dagId)?.isActive) {
      say(
        `DAG ${dagId} is not in the store yet: parsing the DAGs folder ${relative(root, c.core.dags_folder) || "."}`,
      );
      const summary = await syncDagFolder(c, store);
      for (const e of summary.errors) say(`import error: ${e.message.split("\n")[0]}`);
    }
    return activeDag(store, dagId);
  }

  /**
   * Finds the DAG `id` among the DAG files, parsed as the scheduler parses them (`parseDagFolder`: each file in
   * a child process, bounded by `[scheduler] dag_file_processor_timeout`), so a DAG file that exits, crashes or
   * loops at import cannot silence or hang the command; it stops as soon as a file defines `id`. A clear error
   * listing the known ids and the files that failed otherwise.
   */
  async function findDagSpec(id: string): Promise<{ spec: DagSpec; file: string }> {
    const c = await config();
    const { parseDagFolder } = await import("../orchestration/scheduler/dag-processor.js");
    const defines = (r: ProcessorResult) => r.kind === "parsed" && r.specs.some((s) => s.id === id);
    const results = await parseDagFolder(c, { stopWhen: defines });
    const known: string[] = [];
    const failed: string[] = [];
    for (const r of results) {
      if (r.kind === "failed") failed.push(relative(root, r.file));
      if (r.kind !== "parsed") continue;
      const spec = r.specs.find((s) => s.id === id);
      if (spec) return { spec, file: r.file };
      known.push(...r.specs.map((s) => s.id));
    }
    throw new WindflowError(`no DAG ${JSON.stringify(id)} in ${c.core.dags_folder}`, {
      hint:
        (known.length > 0 ? `known DAGs: ${known.join(", ")}` : "the DAGs folder defines no DAG") +
        (failed.length > 0
          ? `; files that did not load (\`windflow dags list\` says why): ${failed.join(", ")}`
          : ""),
    });
  }

  /**
   * Every DAG spec of the DAGs folder, parsed as the scheduler does (each file in a child process); a file that
   * does not load stops the command, named (an export must not silently miss a DAG).
   */
  async function allDagSpecs(): Promise<DagSpec[]> {
    const c = await config();
    const { parseDagFolder } = await import("../orchestration/scheduler/dag-processor.js");
    const specs: DagSpec[] = [];
    const failed: string[] = [];
    for (const r of await parseDagFolder(c)) {
      if (r.kind === "parsed") specs.push(...r.specs);
      else if (r.kind === "failed") failed.push(relative(root, r.file));
    }
    if (failed.length > 0)
      throw new WindflowError(`DAG files that do not load: ${failed.join(", ")}`, {
        hint: "`windflow dags list` says why; fix them or name the DAGs to export",
      });
    return specs;
  }

  /**
   * The DAG `id` with its tasks' code, for the commands that run it in this process (`dags test`, `tasks test`):
   * found by `findDagSpec`, then only its own file is imported here.
   */
  async function findDag(id: string): Promise<Dag> {
    const { file } = await findDagSpec(id);
    const { loadDagFile } = await import("../orchestration/loader.js");
    const dag = loadDagFile(file).find((d) => d.id === id);
    if (!dag) throw new WindflowError(`no DAG ${JSON.stringify(id)} in ${relative(root, file)} any more`);
    return dag;
  }

  async function conf(text: string | undefined): Promise<JsonObject | undefined> {
    if (text === undefined) return undefined;
    const { parseConf } = await import("../orchestration/scheduler/trigger.js");
    return parseConf(text);
  }

  // --- dags ----------------------------------------------------------------------------------------------

  const dags = program
    .command("dags")
    .description("DAGs: list, show, trigger, pause, unpause, test, list-runs, state");
  dags
    .command("list")
    .description(
      "list the DAGs with their paused state and the import errors (from the store once it exists)",
    )
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const c = await config();
      const { dagRow, formatDagList, storedDagList } = await import("../orchestration/scheduler/views.js");
      let listing: ReturnType<typeof storedDagList> | undefined;
      if (existsSync(c.database.path)) {
        const { openStore } = await import("../orchestration/store/index.js");
        const store = openStore(c);
        try {
          listing = storedDagList(store, root);
        } finally {
          store.close();
        }
        // A database where no scheduler has recorded anything yet says nothing: read the files.
        if (listing.dags.length === 0 && listing.importErrors.length === 0) listing = undefined;
      }
      if (!listing) {
        // Parsed as the scheduler does (child processes, with the timeout): a file that exits or loops at
        // import is an import error, not the end of this command.
        const { parseDagFolder } = await import("../orchestration/scheduler/dag-processor.js");
        listing = { dags: [], importErrors: [] };
        for (const r of await parseDagFolder(c)) {
          if (r.kind === "parsed") for (const spec of r.specs) listing.dags.push(dagRow(spec, root));
          if (r.kind === "failed")
            listing.importErrors.push({ file: relative(root, r.file), error: r.message, at: "" });
        }
      }
      if (opts.json) json(listing);
      else out(formatDagList(listing.dags, listing.importErrors));
      if (listing.importErrors.length > 0) process.exitCode = 1;
    });
  dags
    .command("show")
    .description("show a DAG's tasks and dependencies as a text graph")
    .argument("<dag_id>")
    .option("--json", "print the serialised DAG")
    .action(async (id: string, opts: { json?: boolean }) => {
      const { spec } = await findDagSpec(id);
      if (opts.json) {
        const { toJSON } = await import("../orchestration/validate.js");
        out(toJSON(spec));
      } else {
        const { renderDag } = await import("../orchestration/graph.js");
        out(renderDag(spec));
      }
    });
  dags
    .command("export")
    .description(
      "write the DAGs as Apache Airflow 3 DAG files (dags/<id>.py) and their plugin (plugins/windflow_airflow.py) " +
        "into an Airflow home; each task runs `windflow tasks external` in this project",
    )
    .argument("[dag_ids...]", "the DAGs to export (default with --all: every DAG)")
    .addOption(
      new Option("--to <engine>", "the engine to export to").choices(["airflow"]).makeOptionMandatory(),
    )
    .option("--all", "every DAG of the DAGs folder")
    .requiredOption(
      "-o, --output <dir>",
      "the Airflow home to write into (dags/ and plugins/ are made there)",
    )
    .option("--project <dir>", "where the windflow project is on Airflow's workers (default: this project)")
    .option("--check", "write nothing: exit 1 when an exported file is missing or not up to date")
    .action(
      async (ids: string[], opts: { all?: boolean; output: string; project?: string; check?: boolean }) => {
        const { resolve, join } = await import("node:path");
        const { readFileSync, mkdirSync } = await import("node:fs");
        const { exportToAirflow, staleFiles } = await import("../orchestration/export/airflow.js");
        const { VERSION } = await import("../index.js");
        if (opts.all === ids.length > 0)
          throw new WindflowError("dags export: name the DAGs to export, or give --all (not both)", {
            hint: "e.g. windflow dags export --to airflow train predict -o airflow-home",
          });
        const specs = opts.all ? await allDagSpecs() : [];
        for (const id of ids) specs.push((await findDagSpec(id)).spec);
        const files = exportToAirflow(specs, {
          projectRoot: resolve(opts.project ?? root),
          version: VERSION,
        });
        const home = resolve(opts.output);
        if (opts.check) {
          const stale = staleFiles(files, (path) => {
            try {
              return readFileSync(join(home, path), "utf8");
            } catch {
              return undefined;
            }
          });
          for (const s of stale) out(`${s.reason}: ${join(relative(root, home) || ".", s.path)}`);
          if (stale.length > 0) {
            say(`${stale.length} exported file(s) out of date: export again without --check`);
            process.exitCode = 1;
          } else say(`${files.length} exported file(s) up to date in ${home}`);
          return;
        }
        const { writeFileAtomicSync } = await import("../util/atomic.js");
        for (const f of files) {
          const dest = join(home, f.path);
          mkdirSync(join(dest, ".."), { recursive: true });
          writeFileAtomicSync(dest, f.text);
          const shown = relative(root, dest);
          out(`wrote ${shown.startsWith("..") ? dest : shown}`);
        }
      },
    );
  dags
    .command("test")
    .description("run a whole DAG in this process, no database: each task's state and duration")
    .argument("<dag_id>")
    .option("--date <iso>", "logical date (default: now)")
    .option("--conf <json>", "the run's conf (overrides params)")
    .option("--json", "print JSON")
    .action(async (id: string, opts: { date?: string; conf?: string; json?: boolean }) => {
      const { formatTestRun, testDag } = await import("../orchestration/test-run.js");
      const runConf = await conf(opts.conf);
      const d = await findDag(id);
      const result = await testDag(d, {
        ...(opts.date ? { logicalDate: opts.date } : {}),
        ...(runConf ? { conf: runConf } : {}),
        onTask: (event) => {
          if (event.type === "start") say(`${id}.${event.taskId}: try ${event.tryNumber} started`);
        },
        log: (taskId, line) => say(`  [${taskId}] ${line}`),
      });
      if (opts.json) json(result);
      else out(formatTestRun(result));
      if (result.state !== "success") process.exitCode = 1;
    });
  dags
    .command("trigger")
    .description(
      "create a manual run (logical date: now, to the second); prints its run id, logical date and file stamp. " +
        "A paused DAG's run stays queued until the DAG is unpaused",
    )
    .argument("<dag_id>")
    .option("--conf <json>", "the run's conf: a JSON object overriding params")
    .option("--date <iso>", "logical date (default: now, to the second)")
    .option("--unpause", "unpause the DAG too (its scheduled runs then start as well)")
    .option(
      "--wait",
      "run it now through the engine and wait: a scheduler for this run alone (even if the DAG is paused), " +
        "the tasks' logs followed; exit code 1 if the run fails",
    )
    .option("--timeout <seconds>", "with --wait: give up after this long (exit code 1)", (v) =>
      Number.parseFloat(v),
    )
    .option("--json", "print JSON")
    .action(async (id: string, opts: TriggerCliOptions) => {
      const runConf = await conf(opts.conf);
      const { setDagPaused, triggerDag, wakeScheduler } = await import(
        "../orchestration/scheduler/trigger.js"
      );
      const { runRow } = await import("../orchestration/scheduler/views.js");
      const runId = await withStore(async (store, c) => {
        await storedDag(store, c, id);
        if (opts.unpause && setDagPaused(store, id, false)) say(`DAG ${id} unpaused`);
        const result = triggerDag(store, id, {
          ...(runConf ? { conf: runConf } : {}),
          ...(opts.date ? { logicalDate: opts.date } : {}),
        });
        const row = runRow(result.run);
        const waits =
          result.waitsFor.length > 0
            ? `it waits for ${result.waitsFor.map((r) => `${r.runId} (${r.state})`).join(", ")}: ${id} runs at most ${result.maxActiveRuns} at a time (maxActiveRuns)`
            : undefined;
        const note = result.paused
          ? `DAG ${id} is paused: the run stays queued until \`windflow dags unpause ${id}\``
          : waits;
        if (opts.wait) {
          say(
            `run ${id}/${row.runId} (logical date ${row.logicalDate}, files stamped ${row.stamp}): running it now`,
          );
          return row.runId;
        }
        if (opts.json) {
          json({
            ...row,
            conf: result.run.conf,
            paused: result.paused,
            outputs: result.outputs,
            waitsFor: result.waitsFor.map((r) => r.runId),
            ...(note ? { note } : {}),
          });
          return row.runId;
        }
        out(`run_id        ${row.runId}`);
        out(`logical_date  ${row.logicalDate}`);
        out(`stamp         ${row.stamp}  (the run's dated files, e.g. predictions/${row.stamp}.csv)`);
        for (const file of result.outputs) out(`writes        ${file}`);
        out(`state         ${row.state}`);
        if (note) out(`note          ${note}`);
        else out("note          the scheduler starts it (`windflow scheduler`)");
        return row.runId;
      });
      if (opts.wait) process.exitCode = await waitForRun(id, runId, opts);
      else wakeScheduler((await config()).home);
    });

  /** `dags trigger --wait`: a scheduler for one run, the tasks' logs followed; the run's state at the end. */
  async function waitForRun(dagId: string, runId: string, opts: TriggerCliOptions): Promise<number> {
    const c = await config();
    const { schedulerMain } = await import("../orchestration/scheduler/main.js");
    const { createLogger } = await import("../orchestration/scheduler/log.js");
    const { formatRunState, RunLogTail, runStateView } = await import("../orchestration/scheduler/views.js");
    const { openStore } = await import("../orchestration/store/index.js");
    const store = openStore(c);
    try {
      const tail = new RunLogTail(store, c.logging.base_log_folder, { dagId, runId }, (taskId, line) =>
        say(`  [${taskId}] ${line}`),
      );
      const timer = setInterval(() => tail.poll(), 250);
      let code: number;
      try {
        code = await schedulerMain({
          config: c,
          mode: "until-idle",
          only: { dagId, runId },
          // The scheduler's own lines only when something goes wrong: the tasks' logs tell the story.
          log: createLogger("WARNING"),
          ...(opts.timeout === undefined ? {} : { timeoutMs: opts.timeout * 1000 }),
        });
      } finally {
        clearInterval(timer);
        tail.flush();
      }
      const view = runStateView(store, { dagId, runId });
      if (opts.json) json(view);
      else out(formatRunState(view));
      return code !== 0 || view.run.state !== "success" ? 1 : 0;
    } finally {
      store.close();
    }
  }
  for (const [name, paused] of [
    ["pause", true],
    ["unpause", false],
  ] as const) {
    dags
      .command(name)
      .description(
        paused
          ? "pause a DAG: no new scheduled run, and its runs wait (running tasks finish)"
          : "unpause a DAG: the scheduler creates its due runs and runs them",
      )
      .argument("<dag_id>")
      .action(async (id: string) => {
        const { runsOnUnpause, setDagPaused, wakeScheduler } = await import(
          "../orchestration/scheduler/trigger.js"
        );
        await withStore(async (store, c) => {
          const dag = await storedDag(store, c, id);
          const changed = setDagPaused(store, id, paused);
          if (changed && !paused) wakeScheduler(c.home);
          out(`DAG ${id} ${changed ? "is now" : "was already"} ${paused ? "paused" : "unpaused"}`);
          if (!paused) {
            const { first, more } = runsOnUnpause(store, dag, new Date());
            if (first)
              out(
                `the scheduler creates its run for the interval ${first.start.toISOString()} to ${first.end.toISOString()} now` +
                  `${more ? ", then the other missed intervals (catch-up on)" : " (the latest complete interval: catch-up off)"}`,
              );
          }
        });
      });
  }
  dags
    .command("list-runs")
    .description("list runs, newest logical date first")
    .argument("[dag_id]", "only this DAG's runs")
    .addOption(
      new Option("--state <state>", "only runs in this state").choices([
        "queued",
        "running",
        "success",
        "failed",
      ]),
    )
    .option("--limit <n>", "at most this many", (v) => Number.parseInt(v, 10))
    .option("--json", "print JSON")
    .action(async (id: string | undefined, opts: { state?: string; limit?: number; json?: boolean }) => {
      const { formatRuns, runRow } = await import("../orchestration/scheduler/views.js");
      await withStore((store) => {
        const rows = store
          .listRuns({
            ...(id ? { dagId: id } : {}),
            ...(opts.state ? { states: [opts.state as "queued"] } : {}),
            ...(opts.limit ? { limit: opts.limit } : {}),
          })
          .map(runRow);
        if (opts.json) json(rows);
        else out(formatRuns(rows));
      });
    });
  dags
    .command("state")
    .description("the state of a run and of each of its task instances")
    .argument("<dag_id>")
    .argument("<run_id>")
    .option("--json", "print JSON")
    .action(async (dagId: string, runId: string, opts: { json?: boolean }) => {
      const { formatRunState, runStateView } = await import("../orchestration/scheduler/views.js");
      await withStore((store) => {
        const view = runStateView(store, { dagId, runId });
        if (opts.json) json(view);
        else out(formatRunState(view));
        if (view.run.state === "failed") process.exitCode = 1;
      });
    });

  // --- tasks ---------------------------------------------------------------------------------------------

  const tasks = program
    .command("tasks")
    .description("task instances: list, run, test, logs, clear, mark-success, mark-failed, stop");
  tasks
    .command("list")
    .description("the tasks of a DAG, upstream first, with their options")
    .argument("<dag_id>")
    .option("--json", "print JSON")
    .action(async (id: string, opts: { json?: boolean }) => {
      const { taskRows } = await import("../orchestration/scheduler/views.js");
      const rows = taskRows((await findDagSpec(id)).spec);
      if (opts.json) return json(rows);
      for (const t of rows)
        out(
          `${t.taskId}${t.upstream.length > 0 ? `  <- ${t.upstream.join(", ")}` : ""}` +
            `${t.triggerRule === "all_success" ? "" : `  [${t.triggerRule}]`}`,
        );
    });
  tasks
    .command("run")
    .description("run one try of a queued task instance in this process (what the executor starts)")
    .argument("<dag_id>")
    .argument("<task_id>")
    .argument("<run_id>")
    .action(async (dagId: string, taskId: string, runId: string) => {
      const { tasksRunMain } = await import("../orchestration/executor/run-task.js");
      const code = await tasksRunMain([dagId, taskId, runId], { config: await config() });
      // Exit now: a stopped task may have left work behind; the try is over and recorded.
      await exitWhenFlushed(code);
    });
  tasks
    .command("external")
    .description(
      "one try for an external orchestrator (Airflow...), no store: the return value as JSON on the last stdout line; exit 0, 99 skipped, 1 failed, 2 not run",
    )
    .usage("DAG_ID TASK_ID --run-id ID --logical-date ISO [options] (see the README)")
    .argument("[args...]")
    .allowUnknownOption()
    .helpOption(false)
    .action(async (args: string[]) => {
      const { externalTryMain } = await import("../orchestration/executor/external-try.js");
      const stop = new AbortController();
      for (const signal of ["SIGTERM", "SIGINT"] as const)
        process.on(signal, () => stop.abort(`received ${signal}`));
      const code = await externalTryMain(args, { config: await config(), stop: stop.signal });
      // Exit now (a stopped task may have left work behind; the try is over), once the return value has left
      // through the pipe: a plain process.exit cut values over 64 KiB for a slow reader.
      await exitWhenFlushed(code);
    });
  tasks
    .command("test")
    .description("run one task in this process, no database, whatever its dependencies")
    .argument("<dag_id>")
    .argument("<task_id>")
    .option("--date <iso>", "logical date (default: now)")
    .option("--conf <json>", "the run's conf (overrides params)")
    .option(
      "--xcom <json>",
      'return values of upstream tasks, e.g. \'{"prepare_features": "data/x.parquet"}\'',
    )
    .option("--json", "print JSON")
    .action(
      async (
        dagId: string,
        taskId: string,
        opts: { date?: string; conf?: string; xcom?: string; json?: boolean },
      ) => {
        const { formatTestRun, testDag } = await import("../orchestration/test-run.js");
        const runConf = await conf(opts.conf);
        const xcoms = (await conf(opts.xcom)) as Record<string, Json> | undefined;
        const d = await findDag(dagId);
        const result = await testDag(d, {
          only: taskId,
          ...(xcoms ? { xcoms } : {}),
          ...(opts.date ? { logicalDate: opts.date } : {}),
          ...(runConf ? { conf: runConf } : {}),
          log: (_task, line) => say(`  [${taskId}] ${line}`),
        });
        if (opts.json) json(result);
        else out(formatTestRun(result));
        if (result.state !== "success") process.exitCode = 1;
      },
    );
  tasks
    .command("logs")
    .description("print the log of a task instance's try (the current or last one unless --try)")
    .argument("<dag_id>")
    .argument("<task_id>")
    .argument("<run_id>")
    .option("--try <n>", "which try", (v) => Number.parseInt(v, 10))
    .option("--follow", "keep printing while the try runs")
    .action(
      async (dagId: string, taskId: string, runId: string, opts: { try?: number; follow?: boolean }) => {
        const { followFile, logPathOf, tryGoesOn } = await import("../orchestration/scheduler/views.js");
        await withStore(async (store, c) => {
          const key = { dagId, runId, taskId };
          const found = logPathOf(c.logging.base_log_folder, key, {
            store,
            ...(opts.try === undefined ? {} : { tryNumber: opts.try }),
          });
          if (!found || (!opts.follow && !existsSync(found.path)))
            throw new WindflowError(
              `no log for ${dagId}/${runId}/${taskId}${opts.try ? ` try ${opts.try}` : ""}`,
              {
                hint: store.getTaskInstance(key)
                  ? "the task instance has not started a try yet: `windflow dags state` shows its state"
                  : "check the ids with `windflow dags list-runs` and `windflow tasks list`",
              },
            );
          const tryNumber = found.tryNumber;
          await followFile(
            found.path,
            (text) => process.stdout.write(text),
            () => opts.follow === true && tryGoesOn(store, key, tryNumber),
          );
        });
      },
    );

  // Actions by hand (scheduler/actions.ts): the store changes now; a scheduler kills the process of a stopped try.
  const actions = [
    ["clear", "clear", "run a task instance and (unless --no-downstream) its downstream tasks again"],
    [
      "mark-success",
      "success",
      "mark a task instance success (a running try is ended and its process killed)",
    ],
    ["mark-failed", "failed", "mark a task instance failed (a running try is ended and its process killed)"],
    ["stop", "stop", "stop a queued or running try: it ends failed (stopped by you), without retry"],
  ] as const;
  for (const [name, action, description] of actions) {
    const command = tasks
      .command(name)
      .description(description)
      .argument("<dag_id>")
      .argument("<task_id>")
      .argument("<run_id>")
      .option("--by <name>", "who does it, as recorded (default: your login name)")
      .option("--json", "print JSON");
    if (action === "clear") command.option("--no-downstream", "clear this task instance only");
    command.action(
      async (
        dagId: string,
        taskId: string,
        runId: string,
        opts: { by?: string; json?: boolean; downstream?: boolean },
      ) => {
        const { userInfo } = await import("node:os");
        const { taskAction, wakeScheduler } = await import("../orchestration/scheduler/index.js");
        await withStore((store, c) => {
          const by = opts.by ?? userInfo().username;
          const result = taskAction(store, { dagId, runId, taskId }, action, {
            by,
            downstream: opts.downstream !== false,
          });
          wakeScheduler(c.home);
          if (opts.json) return json(result);
          const verb = action === "clear" ? "cleared" : action === "stop" ? "stopped" : `marked ${action}`;
          for (const ch of result.changed)
            out(`${dagId}/${runId}/${ch.taskId}: ${ch.from} -> ${verb} by ${by}`);
          if (result.runQueued) out(`run ${dagId}/${runId} queued again`);
        });
      },
    );
  }

  // --- scheduler -----------------------------------------------------------------------------------------

  program
    .command("scheduler")
    .description(
      "parse the DAG files, create and run DAG runs. --once: one pass, then wait for the tasks it started; " +
        "--until-idle: until no run of an unpaused DAG is left to run. SIGTERM/SIGINT stop it gracefully",
    )
    .option("--once", "one pass (parse, schedule, dispatch), then wait for the task processes it started")
    .option("--until-idle", "loop until nothing is left to do")
    .option("--timeout <seconds>", "stop after this long (exit code 1)", (v) => Number.parseFloat(v))
    .action(async (opts: { once?: boolean; untilIdle?: boolean; timeout?: number }) => {
      if (opts.once && opts.untilIdle)
        throw new WindflowError("--once and --until-idle exclude each other", { hint: "give one of them" });
      const { schedulerMain } = await import("../orchestration/scheduler/main.js");
      process.exitCode = await schedulerMain({
        config: await config(),
        mode: opts.once ? "once" : opts.untilIdle ? "until-idle" : "forever",
        ...(opts.timeout === undefined ? {} : { timeoutMs: opts.timeout * 1000 }),
      });
    });

  // --- worker -------------------------------------------------------------------------------------------

  program
    .command("worker")
    .description(
      "run tries from the BullMQ queue ([core] executor = bullmq; [bullmq] redis_url, queue, concurrency, " +
        "data_root, shared_home): each in its own process, as the scheduler's local executor does (with " +
        "shared_home = false, without the store: state and log lines go to the scheduler through Redis). " +
        "SIGTERM/SIGINT: take no new try, finish the running ones, exit",
    )
    .option("--concurrency <n>", "tries at once (default [bullmq] concurrency)", (v) =>
      Number.parseInt(v, 10),
    )
    .action(async (opts: { concurrency?: number }) => {
      if (opts.concurrency !== undefined && !(Number.isInteger(opts.concurrency) && opts.concurrency >= 1))
        throw new WindflowError("--concurrency: expected a whole number of 1 or more", {
          hint: "e.g. --concurrency 2",
        });
      const { workerMain } = await import("../orchestration/executor/bullmq-worker.js");
      process.exitCode = await workerMain(await config(), {
        ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }),
      });
    });

  // --- db ------------------------------------------------------------------------------------------------

  const db = program.command("db").description("the metadata database: init, reset");
  db.command("init")
    .description("create the home, the config file (defaults) and the database, or migrate it; idempotent")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const { dbInit } = await import("../orchestration/store/index.js");
      const r = dbInit(await config());
      if (opts.json) return json(r);
      out(`home      ${r.home}`);
      out(`config    ${r.configFile}${r.configWritten ? " (written with the defaults)" : ""}`);
      out(
        `database  ${r.database} (${r.databaseCreated ? "created, " : ""}schema ${r.schemaVersionBefore} -> ${r.schemaVersion})`,
      );
    });
  db.command("reset")
    .description("delete the database (DAG records, runs, task instances, users) and create an empty one")
    .option("--yes", "confirm")
    .action(async (opts: { yes?: boolean }) => {
      const c = await config();
      if (!opts.yes)
        throw new WindflowError(`db reset deletes ${c.database.path} and everything in it`, {
          hint: "stop the scheduler, then run `windflow db reset --yes`",
        });
      const { dbReset } = await import("../orchestration/store/index.js");
      const r = dbReset(c);
      out(`database  ${r.database} (empty, schema ${r.schemaVersion})`);
    });

  // --- config --------------------------------------------------------------------------------------------

  const cfg = program
    .command("config")
    .description("the configuration: windflow.cfg and WINDFLOW__* variables");
  cfg
    .command("list")
    .description("every setting with its value and where it comes from")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const { configList } = await import("../config.js");
      const entries = configList(await config());
      if (opts.json) return json(entries);
      let section = "";
      for (const e of entries) {
        if (e.section !== section) {
          out(`${section ? "\n" : ""}[${e.section}]`);
          section = e.section;
        }
        out(`${e.key} = ${e.value}${e.source.kind === "default" ? "" : `  # ${e.from}`}`);
      }
    });
  cfg
    .command("get")
    .description("the value of one setting")
    .argument("<section>")
    .argument("<key>")
    .option("--json", "print JSON (value, origin, description)")
    .action(async (section: string, key: string, opts: { json?: boolean }) => {
      const { configGet } = await import("../config.js");
      const entry = configGet(section, key, await config());
      if (opts.json) json(entry);
      else out(entry.value);
    });
}
