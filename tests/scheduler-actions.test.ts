/**
 * The actions by hand (src/orchestration/scheduler/actions.ts) against a real scheduler, real task processes
 * and a real SQLite store: a try that never yields and has no timeout is stopped (the scheduler kills its
 * process, the try ends failed "stopped by alice", no retry); clearing it runs it and its downstream again
 * (new tries, the finished run queued again); marks; what each action refuses; stop and mark-success through the
 * CLI too. Waits use deadlines.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { isProcessAlive } from "../src/orchestration/executor/local.js";
import {
  clearTaskInstance,
  markTaskInstance,
  stopTaskInstance,
  TaskActionError,
} from "../src/orchestration/scheduler/actions.js";
import { syncDagFolder } from "../src/orchestration/scheduler/dag-processor.js";
import { setDagPaused, triggerDag, wakeScheduler } from "../src/orchestration/scheduler/trigger.js";
import { RecordNotFoundError } from "../src/orchestration/store/errors.js";
import type { TaskInstanceKey } from "../src/orchestration/store/store.js";
import { cli, type SchedulerEnv, schedulerEnv, until } from "./helpers/scheduler-env.js";

const envs: SchedulerEnv[] = [];
after(() => {
  for (const e of envs) e.cleanup();
});

async function home(): Promise<SchedulerEnv> {
  const e = schedulerEnv();
  envs.push(e);
  e.install("scheduler-actions.ts");
  const summary = await syncDagFolder(e.config, e.store);
  assert.deepEqual(summary.errors, []);
  setDagPaused(e.store, "sched_actions", false);
  return e;
}

/** A home whose sched_actions run is started by a scheduler (until idle) and whose `stuck` try is running. */
async function stuckRunning() {
  const e = await home();
  const { run } = triggerDag(e.store, "sched_actions");
  const key = (taskId: string): TaskInstanceKey => ({ dagId: "sched_actions", runId: run.runId, taskId });
  const scheduler = e.runScheduler({ mode: "until-idle" });
  const running = await until("stuck's first try to run", () => {
    const ti = e.store.getTaskInstance(key("stuck"));
    return ti?.state === "running" && ti.pid !== null ? ti : undefined;
  });
  return { e, run, key, scheduler, running };
}

const states = (e: SchedulerEnv, runId: string) =>
  Object.fromEntries(
    e.store.listTaskInstances({ dagId: "sched_actions", runId }).map((ti) => [ti.taskId, ti.state]),
  );

describe("actions by hand with a live scheduler", () => {
  test("stop kills a hung try without timeout (failed, stopped by alice, no retry); clear runs it and its downstream again", async () => {
    const { e, run, key, scheduler: first, running } = await stuckRunning();
    const result = stopTaskInstance(e.store, key("stuck"), { by: "alice" });
    assert.deepEqual(result.changed, [{ taskId: "stuck", from: "running" }]);
    wakeScheduler(e.home);
    const report = await first;
    assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
    assert.equal(isProcessAlive(running.pid as number), false, "the scheduler killed the process");
    assert.match(e.lines.join("\n"), /sched_actions\/.*\/stuck: failed by alice: killing its process/);
    const stuck = e.store.getTaskInstance(key("stuck"));
    assert.equal(stuck?.state, "failed", "stopped: no retry although 2 remain");
    assert.equal(stuck?.error, "stopped by alice");
    assert.deepEqual(
      e.store.listTries(key("stuck")).map((t) => [t.tryNumber, t.state, t.error]),
      [[1, "failed", "stopped by alice"]],
    );
    assert.deepEqual(states(e, run.runId), { first: "success", stuck: "failed", after: "upstream_failed" });
    assert.equal(e.store.getRun(run)?.state, "failed");

    // Clear stuck with its downstream: both run again (try 2 of stuck returns at once), first is left alone.
    const cleared = clearTaskInstance(e.store, key("stuck"), { by: "bob" });
    assert.deepEqual(
      cleared.changed.map((c) => `${c.taskId}:${c.from}`),
      ["stuck:failed", "after:upstream_failed"],
    );
    assert.equal(cleared.runQueued, true);
    assert.equal(e.store.getRun(run)?.state, "queued");
    assert.equal(e.store.getTaskInstance(key("stuck"))?.maxTries, 4, "try 1 + 1 + its 2 retries");
    const second = await e.runScheduler({ mode: "until-idle" });
    assert.equal(second.stoppedBy, "idle", e.lines.join("\n"));
    assert.deepEqual(states(e, run.runId), { first: "success", stuck: "success", after: "success" });
    assert.equal(e.store.getRun(run)?.state, "success");
    assert.equal(e.store.getTaskInstance(key("stuck"))?.returnValue, "try 2");
    assert.equal(e.store.getTaskInstance(key("first"))?.tryNumber, 1, "upstream not cleared");
    assert.deepEqual(
      e.store.listTries(key("after")).map((t) => t.tryNumber),
      [1],
      "after never ran before: its first try now",
    );
  });

  test("through the CLI: tasks stop ends a running hung try (the scheduler kills its process), tasks mark-success then passes it", async () => {
    const { e, run, key, scheduler, running } = await stuckRunning();
    const stop = await cli(["tasks", "stop", "sched_actions", "stuck", run.runId, "--by", "erin"], e.env);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, `sched_actions/${run.runId}/stuck: running -> stopped by erin\n`);
    const report = await scheduler;
    assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
    assert.equal(isProcessAlive(running.pid as number), false, "the scheduler killed the process");
    assert.deepEqual(
      e.store.listTries(key("stuck")).map((t) => [t.tryNumber, t.state, t.error]),
      [[1, "failed", "stopped by erin"]],
    );
    const marked = await cli(
      ["tasks", "mark-success", "sched_actions", "stuck", run.runId, "--by", "erin"],
      e.env,
    );
    assert.equal(marked.code, 0, marked.stderr);
    assert.equal(marked.stdout, `sched_actions/${run.runId}/stuck: failed -> marked success by erin\n`);
    const stuck = e.store.getTaskInstance(key("stuck"));
    assert.deepEqual([stuck?.state, stuck?.setBy, stuck?.error], ["success", "erin", null]);
    const again = await cli(["tasks", "mark-success", "sched_actions", "stuck", run.runId], e.env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /cannot mark success .*\/stuck: it is success/);
  });

  test("clearing a running try kills its process and runs a new one; mark success / failed; refusals name the state", async () => {
    const { e, run, key, scheduler, running } = await stuckRunning();
    assert.throws(
      () => clearTaskInstance(e.store, key("after"), { by: "bob", downstream: false }),
      (err: unknown) =>
        err instanceof TaskActionError && /cannot clear .*\/after: it is none/.test(err.message),
    );
    const cleared = clearTaskInstance(e.store, key("stuck"), { by: "bob" });
    assert.deepEqual(cleared.changed, [{ taskId: "stuck", from: "running" }]);
    assert.equal(cleared.runQueued, false, "the run was still running");
    wakeScheduler(e.home);
    const report = await scheduler;
    assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
    assert.equal(isProcessAlive(running.pid as number), false);
    assert.deepEqual(
      e.store.listTries(key("stuck")).map((t) => [t.tryNumber, t.state, t.error]),
      [
        [1, "failed", "cleared by bob"],
        [2, "success", null],
      ],
    );
    assert.equal(e.store.getRun(run)?.state, "success");

    const marked = markTaskInstance(e.store, key("after"), "failed", { by: "carol" });
    assert.deepEqual(marked.changed, [{ taskId: "after", from: "success" }]);
    assert.equal(e.store.getTaskInstance(key("after"))?.error, "marked failed by carol");
    assert.equal(e.store.getTaskInstance(key("after"))?.setBy, "carol");
    assert.throws(
      () => markTaskInstance(e.store, key("after"), "failed", { by: "carol" }),
      /cannot mark failed .*\/after: it is failed/,
    );
    markTaskInstance(e.store, key("after"), "success", { by: "carol" });
    assert.equal(e.store.getTaskInstance(key("after"))?.error, null);
    assert.throws(
      () => stopTaskInstance(e.store, key("after"), { by: "carol" }),
      (err: unknown) =>
        err instanceof TaskActionError && err.hint === "only a queued or running try can be stopped",
    );
    assert.throws(() => stopTaskInstance(e.store, key("nope"), { by: "carol" }), RecordNotFoundError);
  });
});
