/**
 * Every documented setting changes what it says: one row per setting of `CONFIG_OPTIONS` (src/config.ts), each
 * set through its `WINDFLOW__SECTION__KEY` variable in a fresh home, and checked through the component that reads
 * it (the DAG processor, the store, the scheduler, a task process, the web server...). The table must name every
 * setting of config.ts and of the README's configuration table: a setting added without a row fails here.
 *
 * A few settings are about time in long-running loops (the scheduler's heartbeat, the DAG folder's listing, the
 * DAG processor's timeout, the clean-up time of a killed task) or about the model's backend: their rows name the
 * behavioural test that already holds them, and the table checks that the test exists and sets the variable.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CONFIG_OPTIONS } from "../src/config.js";
import { LocalExecutor } from "../src/orchestration/executor/local.js";
import { listConfiguredDagFiles } from "../src/orchestration/loader.js";
import { syncDagFolder } from "../src/orchestration/scheduler/dag-processor.js";
import { createLogger } from "../src/orchestration/scheduler/log.js";
import { setDagPaused, triggerDag } from "../src/orchestration/scheduler/trigger.js";
import { MemoryStore } from "../src/orchestration/store/memory.js";
import { runTasksOf } from "../src/orchestration/store/records.js";
import { taskOptions } from "../src/orchestration/task-options.js";
import { serveWebserver } from "../src/server/main.js";
import { schedulerStatus } from "../src/server/views.js";
import { cli, ROOT, type SchedulerEnv, schedulerEnv } from "./helpers/scheduler-env.js";
import { webEnv } from "./helpers/web-env.js";

const envs: SchedulerEnv[] = [];
after(() => {
  for (const e of envs) e.cleanup();
});
const home = (settings: Record<string, string> = {}) => {
  const e = schedulerEnv(settings);
  envs.push(e);
  return e;
};
const variable = (setting: string) => `WINDFLOW__${setting.replace(".", "__").toUpperCase()}`;

/** The settings DAG in the store of `e` (parsed in child processes, with e's settings), and a run of it. */
async function settingsRun(e: SchedulerEnv) {
  e.install("settings.ts");
  const summary = await syncDagFolder(e.config, e.store);
  assert.deepEqual(summary.errors, []);
  setDagPaused(e.store, "settings_dag", false);
  const { run } = triggerDag(e.store, "settings_dag");
  return run;
}

/** Runs one task instance of the settings DAG in its own task process (`windflow tasks run`), as queued. */
async function runTask(e: SchedulerEnv, taskId: string) {
  const run = await settingsRun(e);
  const key = { dagId: "settings_dag", runId: run.runId, taskId };
  e.store.setRunState(run, "queued", "running");
  e.store.setTaskState(key, "none", "scheduled");
  e.store.setTaskState(key, "scheduled", "queued");
  const done = await cli(["tasks", "run", "settings_dag", taskId, run.runId], e.env, { timeoutMs: 120_000 });
  return { ti: e.store.getTaskInstance(key), done };
}

/** A port free on 127.0.0.1 now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** One row: the setting, the value given, and what must follow (checked in a home with that value). */
interface Row {
  readonly setting: string;
  readonly value: string;
  readonly check?: (e: SchedulerEnv) => Promise<void> | void;
  /** Held by this behavioural test instead (`file: test name`), which sets the variable. */
  readonly coveredBy?: string;
}

const ROWS: readonly Row[] = [
  {
    setting: "core.dags_folder",
    value: "", // set below to a folder of the home
    check: (e) => {
      const folder = join(e.home, "other-dags");
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, "x.ts"), "export {};\n");
      const c = home({ [variable("core.dags_folder")]: folder }).config;
      assert.deepEqual(listConfiguredDagFiles(c), [join(folder, "x.ts")]);
    },
  },
  {
    setting: "core.load_examples",
    value: "true",
    check: (e) => {
      const examples = listConfiguredDagFiles(e.config).filter((f) => f.startsWith(join(ROOT, "examples")));
      assert.ok(examples.length > 0, "the example DAGs are read");
      assert.deepEqual(
        listConfiguredDagFiles(home().config).filter((f) => f.startsWith(join(ROOT, "examples"))),
        [],
      );
    },
  },
  {
    setting: "core.parallelism",
    value: "2",
    coveredBy: "tests/scheduler.test.ts: [core] parallelism bounds the task processes running at once",
  },
  {
    setting: "core.max_active_runs_per_dag",
    value: "3",
    check: async (e) => {
      await settingsRun(e);
      assert.equal(e.store.getDag("settings_dag")?.spec.maxActiveRuns, 3);
    },
  },
  {
    setting: "core.default_task_retries",
    value: "3",
    check: async (e) => {
      const run = await settingsRun(e);
      const ti = e.store.getTaskInstance({ dagId: "settings_dag", runId: run.runId, taskId: "plain" });
      assert.equal(ti?.maxTries, 4, "1 + 3 retries (the issue: it stayed 1)");
      const spec = e.store.getDag("settings_dag")?.spec;
      assert.equal(spec && runTasksOf(spec)[0]?.maxTries, 4);
    },
  },
  {
    setting: "core.default_task_retry_delay",
    value: "2m",
    check: async (e) => {
      await settingsRun(e);
      const spec = e.store.getDag("settings_dag")?.spec;
      assert.equal(spec && taskOptions(spec, "plain").retryDelayMs, 120_000);
    },
  },
  {
    setting: "core.default_task_execution_timeout",
    value: "300ms",
    check: async (e) => {
      const { ti } = await runTask(e, "slow");
      assert.equal(ti?.state, "failed");
      assert.match(ti?.error ?? "", /timed out|timeout/i);
    },
  },
  {
    setting: "core.max_xcom_size",
    value: "50",
    check: async (e) => {
      const { ti } = await runTask(e, "big");
      assert.equal(ti?.state, "failed");
      assert.match(ti?.error ?? "", /50/);
    },
  },
  {
    setting: "core.killed_task_cleanup_time",
    value: "300ms",
    coveredBy: "tests/executor.test.ts",
  },
  {
    setting: "core.executor",
    value: "bullmq",
    coveredBy: "tests/bullmq.test.ts: a chain on two workers",
  },
  {
    setting: "scheduler.dag_dir_list_interval",
    value: "1h",
    coveredBy: "tests/scheduler.test.ts",
  },
  {
    setting: "scheduler.heartbeat_interval",
    value: "500ms",
    coveredBy: "tests/scheduler.test.ts",
  },
  {
    setting: "scheduler.dag_file_processor_timeout",
    value: "2s",
    coveredBy: "tests/scheduler-processor.test.ts",
  },
  {
    setting: "scheduler.scheduler_health_check_threshold",
    value: "2m",
    check: (e) => {
      const now = new Date("2026-01-01T00:10:00Z");
      const job = {
        hostname: "h",
        pid: 1,
        startedAt: new Date("2026-01-01T00:00:00Z"),
        latestHeartbeat: new Date("2026-01-01T00:09:00Z"), // 60 s ago
        endedAt: null,
        kind: "home" as const,
      };
      const threshold = e.config.scheduler.scheduler_health_check_threshold;
      const byDefault = home().config.scheduler.scheduler_health_check_threshold;
      assert.equal(schedulerStatus([job], now, threshold).status, "running");
      assert.notEqual(schedulerStatus([job], now, byDefault).status, "running", "30 s: it is silent");
    },
  },
  {
    setting: "scheduler.zombie_threshold",
    value: "1h",
    check: async (e) => {
      // A try running on another machine, started 10 minutes ago, no heartbeat since: lost after 5 min
      // (the default), still running with 1 h.
      const outcome = async (c: SchedulerEnv) => {
        const store = new MemoryStore();
        c.install("settings.ts");
        const summary = await syncDagFolder(c.config, c.store);
        assert.deepEqual(summary.errors, []);
        const spec = c.store.getDag("settings_dag")?.spec;
        assert.ok(spec);
        const t0 = new Date("2026-01-01T00:00:00Z");
        store.upsertDag(spec, { parsedAt: t0, paused: false });
        const run = store.createRun({
          dagId: "settings_dag",
          runId: "manual__1",
          runType: "manual",
          logicalDate: t0,
          dataInterval: { start: t0, end: t0 },
          state: "running",
          tasks: [{ taskId: "plain", maxTries: 1 }],
        });
        const key = { dagId: "settings_dag", runId: run.runId, taskId: "plain" };
        store.setTaskState(key, "none", "scheduled", {}, t0);
        store.setTaskState(key, "scheduled", "queued", {}, t0);
        store.setTaskState(key, "queued", "running", { pid: 424242, hostname: "far-away" }, t0);
        const s = c.scheduler({
          store,
          parseDagFiles: false,
          hostname: "here",
          now: () => new Date(t0.getTime() + 10 * 60_000),
        });
        await s.run({ mode: "once", timeoutMs: 60_000 });
        return store.getTaskInstance(key);
      };
      assert.equal((await outcome(e))?.state, "running");
      const lost = await outcome(home());
      assert.equal(lost?.state, "failed");
      assert.match(
        lost?.error ?? "",
        /no heartbeat of its process 424242 on far-away for more than the zombie threshold/,
      );
    },
  },
  {
    setting: "scheduler.warm_task_processes",
    value: "1",
    check: async (e) => {
      const report = async (c: SchedulerEnv) => {
        const lines: string[] = [];
        const s = c.scheduler({ warmWorkers: undefined, log: createLogger("INFO", (l) => lines.push(l)) });
        await s.run({ mode: "once", timeoutMs: 60_000 });
        return lines.join("\n");
      };
      assert.match(await report(e), /parallelism \d+, .*\b1 warm task processes/);
      assert.doesNotMatch(
        await report(home({ [variable("scheduler.warm_task_processes")]: "0" })),
        /warm task/,
      );
    },
  },
  {
    setting: "scheduler.task_queued_timeout",
    value: "1s",
    check: async (e) => {
      // Task processes that never claim their task instance: killed after 1 s each, 3 times, then failed.
      const run = await settingsRun(e);
      const lines: string[] = [];
      const s = e.scheduler({
        taskCommand: [process.execPath, "-e", "setTimeout(() => {}, 60000)"],
        log: createLogger("INFO", (l) => lines.push(l)),
      });
      await s.run({ mode: "until-idle", timeoutMs: 90_000 });
      const ti = e.store.getTaskInstance({ dagId: "settings_dag", runId: run.runId, taskId: "plain" });
      assert.equal(ti?.state, "failed", lines.join("\n"));
      assert.match(lines.join("\n"), /queued for 1000 ms without starting: killing its process/);
    },
  },
  {
    setting: "bullmq.redis_url",
    value: "redis://127.0.0.1:6379",
    coveredBy: "tests/bullmq.test.ts: a chain on two workers",
  },
  {
    setting: "bullmq.queue",
    value: "chain",
    coveredBy: "tests/bullmq.test.ts: a chain on two workers",
  },
  {
    setting: "bullmq.concurrency",
    value: "1",
    coveredBy: "tests/bullmq.test.ts: a chain on two workers",
  },
  {
    setting: "bullmq.data_root",
    value: "/elsewhere",
    coveredBy: "tests/bullmq.test.ts: a worker whose paths differ from the scheduler's refuses to start",
  },
  {
    setting: "bullmq.shared_home",
    value: "false",
    coveredBy: "tests/bullmq.test.ts: store-free: a chain whose workers have an empty home of their own",
  },
  {
    setting: "bullmq.lock_duration",
    value: "3s",
    coveredBy: "tests/bullmq.test.ts: a chain on two workers",
  },
  {
    setting: "database.path",
    value: "", // set below
    check: (e) => {
      const path = join(e.home, "elsewhere", "my.db");
      mkdirSync(join(e.home, "elsewhere"), { recursive: true });
      const c = home({ [variable("database.path")]: path });
      c.store.listDags();
      assert.ok(existsSync(path), "the database is where the setting says");
      assert.equal(existsSync(join(c.home, "windflow.db")), false);
    },
  },
  {
    setting: "database.busy_timeout",
    value: "1500ms",
    check: (e) => {
      assert.equal(e.store.db.pragma("busy_timeout", { simple: true }), 1500);
      assert.equal(home().store.db.pragma("busy_timeout", { simple: true }), 5000);
    },
  },
  {
    setting: "logging.base_log_folder",
    value: "", // set below
    check: async (e) => {
      const folder = join(e.home, "my-logs");
      const c = home({ [variable("logging.base_log_folder")]: folder });
      const executor = new LocalExecutor({ config: c.config, command: [process.execPath, "-e", ""] });
      const started = executor.start({ dagId: "d", runId: "r", taskId: "t", tryNumber: 0 });
      executor.close({ kill: true });
      assert.ok(started.logPath.startsWith(`${folder}/dag_id=d/run_id=r/task_id=t/`), started.logPath);
    },
  },
  {
    setting: "logging.max_bytes_per_try",
    value: "262144",
    // A real try floods its log past the cap set by the variable; its log ends with the truncation mark.
    coveredBy: "tests/adversarial/crashes.test.ts",
  },
  {
    setting: "logging.logging_level",
    value: "WARNING",
    check: (e) => {
      const lines: string[] = [];
      const log = createLogger(e.config.logging.logging_level as "WARNING", (l) => lines.push(l));
      log.info("an info line");
      log.warn("a warning line");
      assert.deepEqual(
        lines.map((l) => l.replace(/^.*?(an info|a warning)/, "$1")),
        ["a warning line"],
      );
    },
  },
  { setting: "model.backend", value: "cpu", coveredBy: "tests/backend.test.ts" },
  {
    setting: "webserver.host",
    value: "localhost",
    check: async (e) => {
      const port = await freePort();
      const c = home({
        [variable("webserver.host")]: e.config.webserver.host,
        [variable("webserver.port")]: String(port),
      });
      const served = await serveWebserver({ config: c.config, say: () => {} });
      try {
        assert.match(served.url, /^http:\/\/localhost:/);
      } finally {
        await served.stop();
      }
    },
  },
  {
    setting: "webserver.port",
    value: "", // set below to a free port
    check: async () => {
      const port = await freePort();
      const c = home({ [variable("webserver.port")]: String(port) });
      const served = await serveWebserver({ config: c.config, say: () => {} });
      try {
        assert.equal(new URL(served.url).port, String(port));
        assert.equal(
          (await fetch(`${served.url}/api/v1/health`)).status,
          401,
          "served there (sign-in needed)",
        );
      } finally {
        await served.stop();
      }
    },
  },
  {
    setting: "webserver.base_url",
    value: "/windflow",
    check: async (e) => {
      const web = await webEnv({
        settings: { [variable("webserver.base_url")]: e.config.webserver.base_url },
      });
      try {
        assert.equal(
          (await fetch(`${web.url}/windflow/api/v1/health`)).status,
          401,
          "served (sign-in needed)",
        );
        assert.equal((await fetch(`${web.url}/api/v1/health`)).status, 404);
      } finally {
        await web.close();
      }
    },
  },
  {
    setting: "webserver.predictions_folder",
    value: "", // set below
    check: async (e) => {
      const folder = join(e.home, "my-predictions");
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, "20260101-000000.csv"), "Date_time,Ba_avg_pred\n2026-01-01T00:00:00Z,1.5\n");
      const web = await webEnv({ settings: { [variable("webserver.predictions_folder")]: folder } });
      try {
        const admin = await web.signedIn();
        const body = JSON.stringify(await (await admin.api("GET", "/predictions")).json());
        assert.match(body, /20260101-000000\.csv/);
      } finally {
        await web.close();
      }
    },
  },
  {
    setting: "webserver.models_folder",
    value: "", // set below
    check: async (e) => {
      const folder = join(e.home, "my-models");
      mkdirSync(join(folder, "20260101-000000"), { recursive: true });
      writeFileSync(join(folder, "20260101-000000", "model.json"), "{}");
      const web = await webEnv({ settings: { [variable("webserver.models_folder")]: folder } });
      try {
        const admin = await web.signedIn();
        const { models } = (await (await admin.api("GET", "/models")).json()) as {
          models: { name: string }[];
        };
        assert.deepEqual(
          models.map((m) => m.name),
          ["20260101-000000"],
        );
      } finally {
        await web.close();
      }
    },
  },
];

describe("every documented setting changes what it says", () => {
  test("the table has one row per setting of config.ts and of the README's configuration table", () => {
    const settings = Object.entries(CONFIG_OPTIONS).flatMap(([section, keys]) =>
      Object.keys(keys).map((key) => `${section}.${key}`),
    );
    const rows = ROWS.map((r) => r.setting);
    const missing = settings.filter((s) => !rows.includes(s));
    const unknown = rows.filter((s) => !settings.includes(s));
    assert.deepEqual(missing, [], `settings without a row in ROWS: ${missing.join(", ")}`);
    assert.deepEqual(unknown, [], `rows for no setting of config.ts: ${unknown.join(", ")}`);
    assert.deepEqual(rows, settings, "ROWS in the order of CONFIG_OPTIONS");
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const line of readme.split("\n").filter((l) => /^\| `\[[a-z]+\] /.test(l))) {
      const section = /^\| `\[([a-z]+)\]/.exec(line)?.[1] as string;
      const first = line.split("|")[1] as string;
      for (const [, key] of first.matchAll(/(?:\] |`)([a-z_]+)`/g))
        assert.ok(
          settings.includes(`${section}.${key}`),
          `README documents [${section}] ${key}: no such setting`,
        );
    }
    for (const row of ROWS) {
      assert.ok(
        (row.check === undefined) !== (row.coveredBy === undefined),
        `${row.setting}: a check or a test`,
      );
      if (row.coveredBy) {
        const [file] = row.coveredBy.split(":");
        const text = readFileSync(join(ROOT, file as string), "utf8");
        assert.ok(text.includes(variable(row.setting)), `${file} sets ${variable(row.setting)}`);
        const name = row.coveredBy.split(": ")[1];
        if (name) assert.ok(text.includes(name), `${file} has the test "${name}"`);
      }
    }
  });

  for (const row of ROWS.filter((r) => r.check)) {
    test(`[${row.setting.replace(".", "] ")} = ${row.value || "(set by the check)"}`, async () => {
      const e = home(row.value === "" ? {} : { [variable(row.setting)]: row.value });
      await row.check?.(e);
    });
  }
});
