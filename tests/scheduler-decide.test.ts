/** The scheduler's pure decisions (`scheduler/decide.ts`) on plain records: no store, no process, no timer. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  decideRun,
  dispatchOrder,
  heartbeatDue,
  killDeadline,
  killedByHand,
  runningVerdict,
  runsToStart,
  scheduledRunsToCreate,
} from "../src/orchestration/scheduler/decide.js";
import type { TaskState } from "../src/orchestration/state.js";
import type { TaskInstanceRecord } from "../src/orchestration/store/store.js";
import type { DagSpec, TaskSpec } from "../src/orchestration/types.js";

const task = (id: string, upstream: string[] = [], extra: Partial<TaskSpec> = {}): TaskSpec => ({
  id,
  upstream,
  triggerRule: "all_success",
  ...extra,
});
const spec = (tasks: TaskSpec[], extra: Partial<DagSpec> = {}): DagSpec => ({
  id: "d",
  description: "",
  schedule: { every: "1d" },
  startDate: "2026-01-01T00:00:00.000Z",
  catchup: true,
  maxActiveRuns: 2,
  defaults: { retries: 0, retryDelayMs: 1000, executionTimeoutMs: null },
  tags: [],
  outputs: [],
  params: {},
  tasks,
  fileloc: "/dags/d.ts",
  ...extra,
});
const ti = (taskId: string, state: TaskState, nextRetryAt: Date | null = null) => ({
  taskId,
  state,
  nextRetryAt,
});
const at = (iso: string) => new Date(iso);

describe("scheduledRunsToCreate: catch-up within max active runs", () => {
  const now = at("2026-01-05T12:00:00Z");
  test("catch-up: the oldest due intervals, as many as free slots", () => {
    const s = spec([task("a")]);
    const got = scheduledRunsToCreate(s, { isPaused: false }, now, null, 0);
    assert.deepEqual(
      got.map((i) => i.start.toISOString()),
      ["2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"],
    );
    assert.equal(got[0]?.end.toISOString(), "2026-01-02T00:00:00.000Z");
    assert.deepEqual(
      scheduledRunsToCreate(s, { isPaused: false }, now, at("2026-01-02T00:00:00Z"), 1).map((i) =>
        i.start.toISOString(),
      ),
      ["2026-01-03T00:00:00.000Z"],
    );
    assert.deepEqual(scheduledRunsToCreate(s, { isPaused: false }, now, null, 2), [], "no free slot");
  });
  test("no catch-up: only the latest complete interval", () => {
    const got = scheduledRunsToCreate(
      spec([task("a")], { catchup: false }),
      { isPaused: false },
      now,
      null,
      0,
    );
    assert.deepEqual(
      got.map((i) => i.start.toISOString()),
      ["2026-01-04T00:00:00.000Z"],
    );
  });
  test("a paused DAG, or one without schedule, gets none", () => {
    assert.deepEqual(scheduledRunsToCreate(spec([task("a")]), { isPaused: true }, now, null, 0), []);
    assert.deepEqual(
      scheduledRunsToCreate(spec([task("a")], { schedule: null }), { isPaused: false }, now, null, 0),
      [],
    );
  });
});

describe("runsToStart", () => {
  const run = (runId: string, state: "queued" | "running", day: number) => ({
    runId,
    state,
    logicalDate: at(`2026-01-0${day}T00:00:00Z`),
    createdAt: at("2026-02-01T00:00:00Z"),
  });
  test("oldest logical dates first, within max active runs; none for a paused DAG", () => {
    const runs = [
      run("c", "queued", 3),
      run("a", "queued", 1),
      run("r", "running", 5),
      run("b", "queued", 2),
    ];
    assert.deepEqual(runsToStart({ maxActiveRuns: 3 }, { isPaused: false }, runs), ["a", "b"]);
    assert.deepEqual(runsToStart({ maxActiveRuns: 1 }, { isPaused: false }, runs), []);
    assert.deepEqual(runsToStart({ maxActiveRuns: 3 }, { isPaused: true }, runs), []);
  });
});

describe("decideRun", () => {
  const now = at("2026-01-05T00:00:00Z");
  test("a chain: the first task is scheduled, then the next once it succeeded, then the run succeeds", () => {
    const s = spec([task("a"), task("b", ["a"])]);
    let d = decideRun(s, [ti("a", "none"), ti("b", "none")], now);
    assert.deepEqual(d.moves, [{ taskId: "a", from: "none", to: "scheduled" }]);
    assert.equal(d.state, "running");
    d = decideRun(s, [ti("a", "success"), ti("b", "none")], now);
    assert.deepEqual(d.moves, [{ taskId: "b", from: "none", to: "scheduled" }]);
    d = decideRun(s, [ti("a", "success"), ti("b", "success")], now);
    assert.deepEqual(d.moves, []);
    assert.equal(d.state, "success");
  });
  test("a failure: upstream_failed cascades, an all_done task runs, the run fails at the end", () => {
    const s = spec([
      task("a"),
      task("b", ["a"]),
      task("c", ["b"]),
      task("z", ["a"], { triggerRule: "all_done" }),
    ]);
    const d = decideRun(s, [ti("a", "failed"), ti("b", "none"), ti("c", "none"), ti("z", "none")], now);
    assert.deepEqual(d.moves, [
      { taskId: "z", from: "none", to: "scheduled" },
      { taskId: "b", from: "none", to: "upstream_failed" },
      { taskId: "c", from: "none", to: "upstream_failed" },
    ]);
    assert.equal(d.state, "running");
    const end = decideRun(
      s,
      [ti("a", "failed"), ti("b", "upstream_failed"), ti("c", "upstream_failed"), ti("z", "success")],
      now,
    );
    assert.equal(end.state, "failed");
  });
  test("retries: scheduled once their delay has passed; the earliest waiting one is reported", () => {
    const s = spec([task("a"), task("b"), task("c")]);
    const d = decideRun(
      s,
      [
        ti("a", "up_for_retry", at("2026-01-04T23:59:59Z")),
        ti("b", "up_for_retry", at("2026-01-05T00:00:10Z")),
        ti("c", "up_for_retry", at("2026-01-05T00:00:05Z")),
      ],
      now,
    );
    assert.deepEqual(d.moves, [{ taskId: "a", from: "up_for_retry", to: "scheduled" }]);
    assert.equal(d.nextRetryAt?.toISOString(), "2026-01-05T00:00:05.000Z");
    assert.equal(d.state, "running");
  });
  test("tasks removed from the DAG become removed (unless started); tasks added are reported missing", () => {
    const s = spec([task("a"), task("new")]);
    const d = decideRun(s, [ti("a", "success"), ti("gone", "none"), ti("old", "running")], now);
    assert.deepEqual(d.missing, ["new"]);
    assert.deepEqual(d.moves, [
      { taskId: "gone", from: "none", to: "removed" },
      { taskId: "new", from: "none", to: "scheduled" },
    ]);
    assert.equal(d.state, "running");
  });
});

describe("dispatchOrder", () => {
  const c = (runId: string, taskId: string, state: TaskState, day: number, order: number) => ({
    ti: { dagId: "d", runId, taskId, state, queuedAt: null },
    logicalDate: at(`2026-01-0${day}T00:00:00Z`),
    order,
  });
  test("queued without a process first, then by run logical date and order in the run, up to the slots", () => {
    const got = dispatchOrder(
      [
        c("r2", "x", "scheduled", 2, 1),
        c("r1", "b", "scheduled", 1, 2),
        c("r1", "a", "scheduled", 1, 1),
        c("r3", "q", "queued", 3, 1),
      ],
      3,
    );
    assert.deepEqual(
      got.map((g) => g.ti.taskId),
      ["q", "a", "b"],
    );
    assert.deepEqual(dispatchOrder([c("r1", "a", "scheduled", 1, 1)], 0), []);
  });
});

describe("killDeadline and runningVerdict", () => {
  const settings = { defaultTimeoutMs: null, cleanupMs: 5000, graceMs: 2000 };
  test("start + timeout + clean-up + grace; the DAG's default, then the config's; none without timeout", () => {
    const started = { taskId: "a", startedAt: at("2026-01-01T00:00:00Z") };
    const s = spec([task("a", [], { executionTimeoutMs: 1000 }), task("b")]);
    assert.equal(killDeadline(s, started, settings)?.toISOString(), "2026-01-01T00:00:08.000Z");
    assert.equal(killDeadline(s, { ...started, taskId: "b" }, settings), null);
    assert.equal(
      killDeadline(s, { ...started, taskId: "b" }, { ...settings, defaultTimeoutMs: 60_000 })?.toISOString(),
      "2026-01-01T00:01:07.000Z",
    );
    assert.equal(killDeadline(s, { taskId: "a", startedAt: null }, settings), null);
  });
  test("watched, adopted, lost or elsewhere", () => {
    const here = { hostname: "me", watched: false, alive: (pid: number) => pid === 10 };
    const r = (
      pid: number | null,
      hostname: string | null,
    ): Pick<TaskInstanceRecord, "pid" | "hostname"> => ({
      pid,
      hostname,
    });
    assert.equal(runningVerdict(r(10, "me"), { ...here, watched: true }), "watched");
    assert.equal(runningVerdict(r(10, "me"), here), "adopt");
    assert.equal(runningVerdict(r(11, "me"), here), "lost");
    assert.equal(runningVerdict(r(11, "other"), here), "elsewhere");
    assert.equal(runningVerdict(r(null, null), here), "lost");
  });
  test("zombie_threshold: a try on another machine is lost once its heartbeat (or start) is older", () => {
    const now = at("2026-01-01T00:10:00Z");
    const here = { hostname: "me", watched: false, alive: () => true, now, zombieThresholdMs: 300_000 };
    const other = (heartbeatAt: string | null, startedAt: string | null) => ({
      pid: 10,
      hostname: "other",
      heartbeatAt: heartbeatAt === null ? null : at(heartbeatAt),
      startedAt: startedAt === null ? null : at(startedAt),
    });
    assert.equal(runningVerdict(other("2026-01-01T00:05:00Z", "2026-01-01T00:00:00Z"), here), "elsewhere");
    assert.equal(runningVerdict(other("2026-01-01T00:04:59Z", "2026-01-01T00:00:00Z"), here), "lost");
    assert.equal(runningVerdict(other(null, "2026-01-01T00:05:00Z"), here), "elsewhere");
    assert.equal(runningVerdict(other(null, "2026-01-01T00:04:59Z"), here), "lost");
    assert.equal(
      runningVerdict(other("2026-01-01T00:04:59Z", null), { ...here, zombieThresholdMs: 600_000 }),
      "elsewhere",
    );
    assert.equal(runningVerdict(other("2026-01-01T00:04:59Z", null), { ...here, watched: true }), "watched");
  });
});

describe("actions by hand and heartbeats", () => {
  test("the process of a try is killed once a person set its state, or it was cleared", () => {
    const cases: [TaskState, string | null, boolean][] = [
      ["failed", "alice", true],
      ["success", "alice", true],
      ["none", "alice", true],
      ["none", null, true],
      ["scheduled", null, true],
      ["running", null, false],
      ["queued", null, false],
      ["failed", null, false],
      ["success", null, false],
      ["up_for_retry", null, false],
    ];
    for (const [state, setBy, kill] of cases)
      assert.equal(killedByHand({ state, setBy }), kill, `${state} set by ${setBy}`);
  });
  test("a heartbeat is due without one, or when the last is old enough", () => {
    const now = at("2026-01-01T00:00:10Z");
    assert.equal(heartbeatDue({ heartbeatAt: null }, now, 5000), true);
    assert.equal(heartbeatDue({ heartbeatAt: at("2026-01-01T00:00:06Z") }, now, 5000), false);
    assert.equal(heartbeatDue({ heartbeatAt: at("2026-01-01T00:00:05Z") }, now, 5000), true);
  });
});
