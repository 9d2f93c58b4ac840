/**
 * The scheduler loop with real task processes and a real SQLite store, each test in its own temporary home
 * and DAGs folder (fixture DAGs from tests/fixtures/dags/scheduler-*.ts): manual runs, return values, retries,
 * trigger rules, timeouts, task processes killed with SIGKILL, catch-up, paused DAGs, parallelism, and task
 * processes that cannot start. Waits use deadlines, never bare sleeps.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { isProcessAlive } from "../src/orchestration/executor/local.js";
import { taskLogPath } from "../src/orchestration/executor/task-log.js";
import { syncDagFolder } from "../src/orchestration/scheduler/dag-processor.js";
import { setDagPaused, triggerDag, wakeScheduler } from "../src/orchestration/scheduler/trigger.js";
import type { TaskInstanceKey } from "../src/orchestration/store/store.js";
import { cli, type SchedulerEnv, schedulerEnv, until } from "./helpers/scheduler-env.js";

const envs: SchedulerEnv[] = [];
/** A home with `files` installed and recorded in the store (paused, as new DAGs are). */
async function home(files: string[], settings: Record<string, string> = {}): Promise<SchedulerEnv> {
  const e = schedulerEnv(settings);
  envs.push(e);
  for (const f of files) e.install(f);
  const summary = await syncDagFolder(e.config, e.store);
  assert.deepEqual(summary.errors, []);
  return e;
}
after(() => {
  for (const e of envs) e.cleanup();
});
const states = (e: SchedulerEnv, dagId: string, runId: string) =>
  Object.fromEntries(e.store.listTaskInstances({ dagId, runId }).map((ti) => [ti.taskId, ti.state]));

describe("scheduler: manual runs", () => {
  test("a paused DAG's manual run waits; unpaused, its three tasks run in order, return values handed down", async () => {
    const e = await home(["scheduler-chain.ts"]);
    const { run, stamp, paused } = triggerDag(e.store, "sched_chain", {
      conf: { label: "sum" },
      now: new Date("2026-11-25T17:30:05.678Z"),
    });
    assert.equal(paused, true);
    assert.equal(run.runId, "manual__20261125-173005");
    assert.equal(run.logicalDate.toISOString(), "2026-11-25T17:30:05.000Z");
    assert.equal(stamp, "20261125-173005");

    // Paused: nothing runs, the run waits in queued, and `until-idle` does not wait for it.
    const idle = await e.runScheduler({ mode: "until-idle" });
    assert.equal(idle.stoppedBy, "idle");
    assert.equal(idle.tasksStarted, 0);
    assert.equal(e.store.getRun(run)?.state, "queued");

    setDagPaused(e.store, "sched_chain", false);
    const report = await e.runScheduler({ mode: "until-idle" });
    assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
    assert.equal(report.tasksStarted, 3);
    assert.equal(e.store.getRun(run)?.state, "success", e.lines.join("\n"));
    const tis = e.store.listTaskInstances({ dagId: "sched_chain", runId: run.runId });
    assert.deepEqual(
      tis.map((t) => [t.taskId, t.state, t.returnValue]),
      [
        ["extract", "success", { rows: 3 }],
        ["transform", "success", 6],
        ["load", "success", "sum=6 at 20261125-173005"],
      ],
    );
    // In order, each once, each with its log.
    for (let i = 1; i < tis.length; i++)
      assert.ok(
        (tis[i]?.startedAt as Date) >= (tis[i - 1]?.endedAt as Date),
        "started after its upstream ended",
      );
    assert.deepEqual(e.marks(run.runId), ["extract 1", "transform 1", "load 1"]);
    // Cold task processes here, warm ones in tests/scheduler-warm.test.ts: the log says which ran.
    const warm = Number(process.env.WINDFLOW_TEST_WARM ?? 0);
    assert.equal(
      e.lines.some((l) => l.includes(`${warm} warm task processes`)),
      warm > 0,
      `${warm} warm task processes expected`,
    );
    for (const t of tis) {
      const log = taskLogPath(e.config.logging.base_log_folder, t, 1);
      assert.equal(t.logPath, log);
      assert.match(readFileSync(log, "utf8"), /\[windflow\] success/);
    }
  });

  test("a failing task is retried then fails: upstream_failed downstream, the all_done task still runs", async () => {
    const e = await home(["scheduler-failing.ts"]);
    setDagPaused(e.store, "sched_failing", false);
    const { run } = triggerDag(e.store, "sched_failing");
    const report = await e.runScheduler({ mode: "until-idle" });
    assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
    assert.deepEqual(states(e, "sched_failing", run.runId), {
      flaky: "failed",
      after: "upstream_failed",
      after_after: "upstream_failed",
      cleanup: "success",
    });
    assert.equal(e.store.getRun(run)?.state, "failed");
    const key: TaskInstanceKey = { dagId: "sched_failing", runId: run.runId, taskId: "flaky" };
    const tries = e.store.listTries(key);
    assert.deepEqual(
      tries.map((t) => [t.tryNumber, t.state]),
      [
        [1, "up_for_retry"],
        [2, "failed"],
      ],
    );
    assert.ok(
      (tries[1]?.startedAt.getTime() ?? 0) - (tries[0]?.endedAt?.getTime() ?? 0) >= 200,
      "the retry waited for its delay",
    );
    assert.match(e.store.getTaskInstance(key)?.error ?? "", /the source is down \(try 2\)/);
    assert.equal(e.store.getTaskInstance({ ...key, taskId: "cleanup" })?.returnValue, "cleaned");
  });
});

describe("scheduler: waking up", () => {
  test("a trigger wakes a sleeping scheduler at once (wakeScheduler), not at its next heartbeat", async () => {
    // A heartbeat of ten minutes, and DAG files listed as rarely: without the wake-up the run would wait for them.
    const e = await home(["scheduler-chain.ts"], {
      WINDFLOW__SCHEDULER__HEARTBEAT_INTERVAL: "10m",
      WINDFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL: "10m",
    });
    setDagPaused(e.store, "sched_chain", false);
    const scheduler = e.scheduler();
    const running = scheduler.run({ mode: "forever", timeoutMs: 300_000 });
    try {
      // Asleep on its heartbeat: its next pass is minutes away.
      const asleepUntil = await until(
        "the scheduler to sleep on its heartbeat",
        () => {
          const at = scheduler.sleepingUntil;
          return at !== undefined && at - Date.now() > 60_000 ? at : undefined;
        },
        60_000,
      );
      assert.equal(scheduler.wakeups("wake-up file"), 0);
      const { run } = triggerDag(e.store, "sched_chain");
      wakeScheduler(e.config.home);
      await until(
        "the run to succeed well before the heartbeat",
        () => (e.store.getRun(run)?.state === "success" ? true : undefined),
        60_000,
      );
      assert.ok(Date.now() < asleepUntil, "done before the sleep would have ended");
      assert.ok(scheduler.wakeups("wake-up file") >= 1, "woken by the trigger's wake-up file");
    } finally {
      scheduler.stop("test done");
      await running;
    }
  });
});

describe("scheduler: tries that end badly", () => {
  test("a task that never yields is killed past its execution timeout; the try fails", async () => {
    const e = await home(["scheduler-timeout.ts"]);
    setDagPaused(e.store, "sched_timeout", false);
    const { run } = triggerDag(e.store, "sched_timeout");
    const report = await e.runScheduler({ mode: "until-idle" });
    assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
    assert.equal(report.timeouts, 1);
    const ti = e.store.getTaskInstance({ dagId: "sched_timeout", runId: run.runId, taskId: "spin" });
    assert.equal(ti?.state, "failed");
    assert.match(
      ti?.error ?? "",
      /timed out: still running \d+ ms after its start, past its execution timeout of 1000 ms; killed by the scheduler/,
    );
    assert.equal(isProcessAlive(ti?.pid as number), false, "the process was killed");
    assert.equal(e.store.getRun(run)?.state, "failed");
    assert.match(readFileSync(ti?.logPath as string, "utf8"), /spinning without yielding[\s\S]*timed out/);
  });

  test("a task process killed with SIGKILL is detected and its task retried", async () => {
    const e = await home(["scheduler-kill.ts"]);
    setDagPaused(e.store, "sched_kill", false);
    const { run } = triggerDag(e.store, "sched_kill");
    const key: TaskInstanceKey = { dagId: "sched_kill", runId: run.runId, taskId: "sleeper" };
    const scheduler = e.runScheduler({ mode: "until-idle" });
    const running = await until("the first try to run", () => {
      const ti = e.store.getTaskInstance(key);
      return ti?.state === "running" && ti.pid !== null ? ti : undefined;
    });
    process.kill(running.pid as number, "SIGKILL");
    const report = await scheduler;
    assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
    assert.equal(report.lostTries, 1);
    const ti = e.store.getTaskInstance(key);
    assert.equal(ti?.state, "success");
    assert.equal(ti?.tryNumber, 2);
    assert.equal(ti?.returnValue, "woke on try 2");
    const tries = e.store.listTries(key);
    assert.deepEqual(
      tries.map((t) => [t.tryNumber, t.state]),
      [
        [1, "up_for_retry"],
        [2, "success"],
      ],
    );
    assert.match(
      tries[0]?.error ?? "",
      /process \d+ was killed by SIGKILL without recording the end of the try/,
    );
  });

  test("a task process that cannot start: started again, then the task fails (the run does not hang)", async () => {
    const e = await home(["scheduler-kill.ts"]);
    setDagPaused(e.store, "sched_kill", false);
    const { run } = triggerDag(e.store, "sched_kill");
    const report = await e.runScheduler({
      mode: "until-idle",
      taskCommand: ["/nonexistent/windflow-node"],
      warmWorkers: 0,
    });
    assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
    const ti = e.store.getTaskInstance({ dagId: "sched_kill", runId: run.runId, taskId: "sleeper" });
    assert.equal(ti?.state, "failed");
    assert.equal(ti?.tryNumber, 0, "no try started");
    assert.match(
      ti?.error ?? "",
      /^TaskStartError: the task process could not start \(.*ENOENT.*\) before starting the try, 3 times/,
    );
    assert.equal(e.store.getRun(run)?.state, "failed");
  });
});

describe("scheduler: scheduled runs", () => {
  test("paused DAGs get no run; unpaused, catch-up creates the missed runs within max active runs, no duplicate", async () => {
    const e = await home(["scheduler-catchup.ts", "scheduler-latest.ts"]);
    const none = await e.runScheduler({ mode: "once" });
    assert.equal(none.runsCreated, 0);
    assert.deepEqual(e.store.listRuns(), [], "paused DAGs create nothing");

    setDagPaused(e.store, "sched_catchup", false);
    setDagPaused(e.store, "sched_latest", false);
    const before = Date.now();
    const first = await e.runScheduler({ mode: "once" });
    assert.equal(first.stoppedBy, "once");
    const after = Date.now();
    const catchup = e.store.listRuns({ dagId: "sched_catchup", order: "oldest" });
    assert.deepEqual(
      catchup.map((r) => [
        r.runId,
        r.runType,
        r.dataInterval.start.toISOString(),
        r.dataInterval.end.toISOString(),
      ]),
      [
        ["scheduled__20260101-000000", "scheduled", "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"],
        ["scheduled__20260102-000000", "scheduled", "2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z"],
        ["scheduled__20260103-000000", "scheduled", "2026-01-03T00:00:00.000Z", "2026-01-04T00:00:00.000Z"],
      ],
      "the three oldest intervals: maxActiveRuns is 3",
    );
    // `--once` waited for the tasks it started, then recorded the runs' ends.
    assert.deepEqual(
      catchup.map((r) => r.state),
      ["success", "success", "success"],
      e.lines.join("\n"),
    );
    // No catch-up: only the latest complete daily interval (yesterday, UTC).
    const day = 86_400_000;
    const latest = e.store.listRuns({ dagId: "sched_latest" });
    assert.equal(latest.length, 1);
    const expected = [before, after].map((t) => new Date(Math.floor(t / day) * day - day).toISOString());
    assert.ok(expected.includes(latest[0]?.logicalDate.toISOString() as string), latest[0]?.runId);

    // The next pass goes on where the last run left off; sched_latest has nothing new.
    const second = await e.runScheduler({ mode: "once" });
    assert.equal(second.runsCreated, 3);
    assert.deepEqual(
      e.store.listRuns({ dagId: "sched_catchup", order: "oldest" }).map((r) => r.runId.slice(-15, -7)),
      ["20260101", "20260102", "20260103", "20260104", "20260105", "20260106"],
    );
    assert.equal(e.store.listRuns({ dagId: "sched_latest" }).length, 1);
    // What the UI shows as the next run: 2026-01-07, due already (the catch-up goes on at the next pass).
    const dag = e.store.getDag("sched_catchup");
    assert.equal(dag?.nextLogicalDate?.toISOString(), "2026-01-07T00:00:00.000Z");
    assert.ok((dag?.nextRunAt?.getTime() ?? Number.POSITIVE_INFINITY) <= Date.now());
  });

  test("[core] parallelism bounds the task processes running at once", async () => {
    const e = await home(["scheduler-parallel.ts"], { WINDFLOW__CORE__PARALLELISM: "2" });
    setDagPaused(e.store, "sched_parallel", false);
    const { run } = triggerDag(e.store, "sched_parallel");
    const report = await e.runScheduler({ mode: "until-idle" });
    assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
    const tis = e.store.listTaskInstances({ dagId: "sched_parallel", runId: run.runId });
    assert.deepEqual(
      tis.map((t) => t.state),
      ["success", "success", "success", "success"],
    );
    // The most tries running at one instant, from the store's timestamps.
    const edges = tis.flatMap((t) => [
      [t.startedAt?.getTime() as number, 1],
      [t.endedAt?.getTime() as number, -1],
    ]);
    edges.sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
    let now = 0;
    let most = 0;
    for (const [, d] of edges) {
      now += d as number;
      most = Math.max(most, now);
    }
    assert.equal(most, 2);
  });
});

test("no task process is left behind", () => {
  for (const e of envs)
    for (const ti of e.store.listTaskInstances())
      if (ti.pid !== null && existsSync(`/proc/${ti.pid}`))
        assert.equal(isProcessAlive(ti.pid), false, `${ti.dagId}/${ti.taskId} pid ${ti.pid}`);
});

describe("schedulers sharing a home", () => {
  test("a second scheduler (its own process) and a scheduler of one run (dags trigger --wait) start each try once", {
    timeout: 600_000,
  }, async () => {
    const e = await home(["scheduler-chain.ts"]);
    setDagPaused(e.store, "sched_chain", false);
    const a = e.scheduler();
    const aRunning = a.run({ mode: "forever", timeoutMs: 540_000 });
    let b: import("node:child_process").ChildProcess | undefined;
    const bDone = cli(["scheduler", "--timeout", "500"], e.env, {
      timeoutMs: 560_000,
      onSpawn: (child) => {
        b = child;
        e.track(child);
      },
    });
    try {
      await until(
        "two live schedulers of the home",
        () =>
          e.store.listSchedulerJobs(10, "home").filter((j) => j.endedAt === null).length >= 2
            ? true
            : undefined,
        120_000,
      );
      const runIds = [0, 1, 2, 3].map(
        (i) => triggerDag(e.store, "sched_chain", { logicalDate: `2026-11-01T00:0${i}:00Z` }).run.runId,
      );
      wakeScheduler(e.config.home);
      // A scheduler of one run, as `make demo` and the notebooks' runInEngine use, while both others run.
      const waited = await cli(["dags", "trigger", "sched_chain", "--wait"], e.env, { timeoutMs: 300_000 });
      assert.equal(waited.code, 0, waited.stderr);
      const waitedRun = /run sched_chain\/(manual__\d{8}-\d{6})/.exec(waited.stderr)?.[1];
      assert.ok(waitedRun, waited.stderr);
      runIds.push(waitedRun);
      await until(
        "every run to succeed",
        () =>
          runIds.every((r) => e.store.getRun({ dagId: "sched_chain", runId: r })?.state === "success")
            ? true
            : undefined,
        300_000,
      );
      for (const runId of runIds) {
        // Each task ran once: one mark each, one try each, and no log says a second process found it taken.
        assert.deepEqual(e.marks(runId).sort(), ["extract 1", "load 1", "transform 1"], runId);
        for (const ti of e.store.listTaskInstances({ dagId: "sched_chain", runId })) {
          assert.deepEqual(
            e.store.listTries(ti).map((t) => [t.tryNumber, t.state]),
            [[1, "success"]],
            `${runId}/${ti.taskId}`,
          );
          const log = readFileSync(ti.logPath as string, "utf8");
          assert.doesNotMatch(log, /error|not queued/i, `${runId}/${ti.taskId}: ${log}`);
        }
      }
    } finally {
      a.stop("test done");
      await aRunning;
      b?.kill("SIGTERM");
      await bDone.catch(() => undefined);
    }
  });
});
