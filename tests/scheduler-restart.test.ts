/**
 * The scheduler killed with SIGKILL in the middle of a run, then restarted: the run completes, no run is
 * created twice, every task wrote its output once (the running task process outlived the scheduler and was
 * adopted by the new one); and a task whose process died with the scheduler is retried by the next one.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, describe, test } from "node:test";
import { isProcessAlive } from "../src/orchestration/executor/local.js";
import { syncDagFolder } from "../src/orchestration/scheduler/dag-processor.js";
import { setDagPaused, triggerDag } from "../src/orchestration/scheduler/trigger.js";
import type { TaskInstanceKey } from "../src/orchestration/store/store.js";
import { cli, HANG_GUARD_MS, type SchedulerEnv, schedulerEnv, until } from "./helpers/scheduler-env.js";

const envs: SchedulerEnv[] = [];
after(() => {
  for (const e of envs) e.cleanup();
});

/** Starts `windflow scheduler` (forever) in its own process; resolves with the child once it runs. */
function startSchedulerProcess(e: SchedulerEnv): {
  child: Promise<ChildProcess>;
  done: ReturnType<typeof cli>;
} {
  let resolveChild: (c: ChildProcess) => void = () => {};
  const child = new Promise<ChildProcess>((r) => {
    resolveChild = r;
  });
  const done = cli(["scheduler"], e.env, {
    timeoutMs: 90_000,
    onSpawn: (c) => {
      e.track(c);
      resolveChild(c);
    },
  });
  return { child, done };
}

describe("scheduler restart after kill -9", () => {
  test("mid-run: the run completes, nothing duplicated, the running task adopted and not run twice", async () => {
    const e = schedulerEnv();
    envs.push(e);
    e.install("scheduler-restart.ts");
    await syncDagFolder(e.config, e.store);
    setDagPaused(e.store, "sched_restart", false);

    const first = startSchedulerProcess(e);
    const child = await first.child;
    const run = await until(
      "the scheduled run",
      () => e.store.listRuns({ dagId: "sched_restart" })[0],
      HANG_GUARD_MS,
    );
    assert.equal(run.runType, "scheduled");
    const key: TaskInstanceKey = { dagId: "sched_restart", runId: run.runId, taskId: "two" };
    const two = await until(
      "task two to run",
      () => {
        const ti = e.store.getTaskInstance(key);
        return ti?.state === "running" ? ti : undefined;
      },
      HANG_GUARD_MS,
    );
    child.kill("SIGKILL");
    const killed = await first.done;
    assert.equal(killed.signal, "SIGKILL");
    assert.equal(isProcessAlive(two.pid as number), true, "the task process outlived its scheduler");
    assert.equal(e.store.getTaskInstance(key)?.state, "running");

    // A new scheduler (in this process: it starts at once, while "two" still runs).
    const report = await e.runScheduler({ mode: "until-idle", timeoutMs: 60_000 });
    assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
    assert.ok(
      e.lines.some((l) =>
        l.includes(`task ${key.dagId}/${key.runId}/two: adopted its running process ${two.pid}`),
      ),
      e.lines.join("\n"),
    );
    assert.equal(e.store.getRun(run)?.state, "success", e.lines.join("\n"));
    const tis = e.store.listTaskInstances({ dagId: "sched_restart", runId: run.runId });
    assert.deepEqual(
      tis.map((t) => [t.taskId, t.state, t.tryNumber]),
      [
        ["one", "success", 1],
        ["two", "success", 1],
        ["three", "success", 1],
        ["four", "success", 1],
      ],
    );
    assert.equal(tis[1]?.pid, two.pid, "two's first and only try is the process that outlived the scheduler");
    assert.deepEqual(e.marks(run.runId), ["one 1", "two 1", "three 1", "four 1"], "each task wrote once");
    // No logical date has two scheduled runs (a new hour may have begun meanwhile: that is a new date).
    const dates = e.store.listRuns({ dagId: "sched_restart" }).map((r) => r.logicalDate.getTime());
    assert.equal(new Set(dates).size, dates.length);
    assert.ok(dates.length <= 2);
  });

  test("a task whose process died with the scheduler is found dead by the next one and retried", async () => {
    const e = schedulerEnv();
    envs.push(e);
    e.install("scheduler-kill.ts");
    await syncDagFolder(e.config, e.store);
    setDagPaused(e.store, "sched_kill", false);
    const { run } = triggerDag(e.store, "sched_kill");
    const key: TaskInstanceKey = { dagId: "sched_kill", runId: run.runId, taskId: "sleeper" };

    const first = startSchedulerProcess(e);
    const child = await first.child;
    const sleeping = await until(
      "the first try to run",
      () => {
        const ti = e.store.getTaskInstance(key);
        return ti?.state === "running" ? ti : undefined;
      },
      HANG_GUARD_MS,
    );
    child.kill("SIGKILL");
    process.kill(sleeping.pid as number, "SIGKILL");
    await first.done;
    await until("the task process to die", () => (isProcessAlive(sleeping.pid as number) ? undefined : true));

    const report = await e.runScheduler({ mode: "until-idle", timeoutMs: 60_000 });
    assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
    assert.equal(report.lostTries, 1);
    const ti = e.store.getTaskInstance(key);
    assert.equal(ti?.state, "success");
    assert.equal(ti?.returnValue, "woke on try 2");
    assert.match(e.store.listTries(key)[0]?.error ?? "", /is gone without recording the end of the try/);
  });
});
