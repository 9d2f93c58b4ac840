import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IllegalTransitionError } from "../src/orchestration/errors.js";
import {
  canTransition,
  isRunState,
  isTaskState,
  manualRunTransition,
  manualTransition,
  RUN_STATES,
  RUN_TERMINAL,
  runTransition,
  TASK_FAILED,
  TASK_MANUAL_TRANSITIONS,
  TASK_STATES,
  TASK_TERMINAL,
  TASK_TRANSITIONS,
  TASK_UNFINISHED,
  type TaskState,
  transition,
} from "../src/orchestration/state.js";

// The allowed moves, written out again here on purpose: a change to the table in state.ts must be a
// deliberate change to this list too.
const ALLOWED_TASK = new Set([
  "none>scheduled",
  "none>skipped",
  "none>upstream_failed",
  "none>removed",
  "scheduled>queued",
  "scheduled>removed",
  "queued>running",
  "queued>scheduled",
  "queued>up_for_retry",
  "queued>failed",
  "running>success",
  "running>failed",
  "running>up_for_retry",
  "running>skipped",
  "up_for_retry>scheduled",
  "up_for_retry>removed",
]);
const ALLOWED_RUN = new Set(["queued>running", "running>success", "running>failed"]);

/** States reachable from `from` (itself included) through allowed moves. */
function reachable(from: TaskState): Set<TaskState> {
  const seen = new Set<TaskState>([from]);
  const queue: TaskState[] = [from];
  for (let s = queue.shift(); s !== undefined; s = queue.shift())
    for (const next of TASK_TRANSITIONS[s])
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
  return seen;
}

describe("task instance state machine", () => {
  for (const from of TASK_STATES) {
    for (const to of TASK_STATES) {
      const allowed = ALLOWED_TASK.has(`${from}>${to}`);
      test(`${from} -> ${to} is ${allowed ? "allowed" : "refused"}`, () => {
        assert.equal(canTransition(from, to), allowed);
        if (allowed) assert.equal(transition(from, to), to);
        else
          assert.throws(
            () => transition(from, to),
            (e: unknown) =>
              e instanceof IllegalTransitionError &&
              e.kind === "task" &&
              e.from === from &&
              e.to === to &&
              e.message === `illegal task state transition ${from} -> ${to}`,
          );
      });
    }
  }

  test("the table lists only known states and no duplicates", () => {
    let count = 0;
    for (const from of TASK_STATES) {
      const tos = TASK_TRANSITIONS[from];
      assert.equal(new Set(tos).size, tos.length);
      for (const to of tos) assert.ok(TASK_STATES.includes(to));
      count += tos.length;
    }
    assert.equal(count, ALLOWED_TASK.size);
  });

  test("terminal states have no way out; unfinished ones all lead to a terminal state", () => {
    for (const s of TASK_TERMINAL) assert.deepEqual(TASK_TRANSITIONS[s], []);
    for (const s of TASK_UNFINISHED)
      assert.ok(
        [...reachable(s)].some((x) => TASK_TERMINAL.has(x)),
        `${s} reaches a terminal state`,
      );
  });

  test("every state is reachable from none", () => {
    assert.deepEqual([...reachable("none")].sort(), [...TASK_STATES].sort());
  });

  test("named sets", () => {
    assert.deepEqual([...TASK_TERMINAL].sort(), [
      "failed",
      "removed",
      "skipped",
      "success",
      "upstream_failed",
    ]);
    assert.deepEqual([...TASK_FAILED].sort(), ["failed", "upstream_failed"]);
    assert.deepEqual([...TASK_UNFINISHED].sort(), ["none", "queued", "running", "scheduled", "up_for_retry"]);
    assert.ok(isTaskState("up_for_retry"));
    assert.ok(!isTaskState("retrying"));
    assert.ok(!isTaskState(3));
  });
});

describe("run state machine", () => {
  for (const from of RUN_STATES) {
    for (const to of RUN_STATES) {
      const allowed = ALLOWED_RUN.has(`${from}>${to}`);
      test(`${from} -> ${to} is ${allowed ? "allowed" : "refused"}`, () => {
        if (allowed) assert.equal(runTransition(from, to), to);
        else
          assert.throws(
            () => runTransition(from, to),
            (e: unknown) =>
              e instanceof IllegalTransitionError && e.kind === "run" && e.from === from && e.to === to,
          );
      });
    }
  }

  test("terminal run states", () => {
    assert.deepEqual([...RUN_TERMINAL].sort(), ["failed", "success"]);
    assert.ok(isRunState("queued"));
    assert.ok(!isRunState("none"));
  });
});

// The moves a person may make (clear: to none; mark: to success / failed), written out again on purpose.
const ALLOWED_BY_HAND = new Set([
  "none>success",
  "none>failed",
  ...["scheduled", "queued", "running", "up_for_retry", "upstream_failed", "skipped"].flatMap((s) => [
    `${s}>none`,
    `${s}>success`,
    `${s}>failed`,
  ]),
  "success>none",
  "success>failed",
  "failed>none",
  "failed>success",
]);
const ALLOWED_RUN_BY_HAND = new Set(["success>queued", "failed>queued"]);

describe("moves by hand (clear, mark success / failed, stop)", () => {
  for (const from of TASK_STATES) {
    for (const to of TASK_STATES) {
      const allowed = ALLOWED_BY_HAND.has(`${from}>${to}`);
      test(`task ${from} -> ${to} by hand is ${allowed ? "allowed" : "refused"}`, () => {
        if (allowed) assert.equal(manualTransition(from, to), to);
        else
          assert.throws(
            () => manualTransition(from, to),
            (e: unknown) =>
              e instanceof IllegalTransitionError &&
              e.kind === "task" &&
              e.message === `illegal task state transition ${from} -> ${to} by hand`,
          );
      });
    }
  }
  for (const from of RUN_STATES) {
    for (const to of RUN_STATES) {
      const allowed = ALLOWED_RUN_BY_HAND.has(`${from}>${to}`);
      test(`run ${from} -> ${to} by hand is ${allowed ? "allowed" : "refused"}`, () => {
        if (allowed) assert.equal(manualRunTransition(from, to), to);
        else assert.throws(() => manualRunTransition(from, to), IllegalTransitionError);
      });
    }
  }
  test("a removed task cannot be touched by hand, and no move by hand stays in place", () => {
    assert.deepEqual(TASK_MANUAL_TRANSITIONS.removed, []);
    for (const s of TASK_STATES) assert.ok(!TASK_MANUAL_TRANSITIONS[s].includes(s), s);
  });
});
