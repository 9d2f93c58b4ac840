import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  evaluate,
  readyTasks,
  runState,
  tasksToSkipOrFail,
  triggerRuleVerdict,
  type Verdict,
} from "../src/orchestration/readiness.js";
import type { TaskState } from "../src/orchestration/state.js";
import { TRIGGER_RULES, type TriggerRule } from "../src/orchestration/types.js";
import { specOf } from "./helpers/orchestration-specs.js";

// Short names for upstream states in the table below.
const S: Record<string, TaskState> = {
  ok: "success",
  F: "failed",
  UF: "upstream_failed",
  sk: "skipped",
  run: "running",
  no: "none",
  retry: "up_for_retry",
  q: "queued",
};
const up = (text: string): TaskState[] => (text === "" ? [] : text.split(" ").map((t) => S[t] as TaskState));

// [upstream states, verdict for each rule in TRIGGER_RULES order:
//  all_success, all_failed, all_done, one_success, one_failed, none_failed]
const TABLE: [string, Verdict[]][] = [
  ["", ["run", "run", "run", "run", "run", "run"]],
  ["ok ok", ["run", "skipped", "run", "run", "skipped", "run"]],
  ["ok run", ["wait", "skipped", "wait", "run", "wait", "wait"]],
  ["no no", ["wait", "wait", "wait", "wait", "wait", "wait"]],
  ["ok F", ["upstream_failed", "skipped", "run", "run", "run", "upstream_failed"]],
  ["F F", ["upstream_failed", "run", "run", "upstream_failed", "run", "upstream_failed"]],
  ["F UF", ["upstream_failed", "run", "run", "upstream_failed", "run", "upstream_failed"]],
  ["F run", ["upstream_failed", "wait", "wait", "wait", "run", "upstream_failed"]],
  ["ok sk", ["skipped", "skipped", "run", "run", "skipped", "run"]],
  ["sk sk", ["skipped", "skipped", "run", "skipped", "skipped", "run"]],
  ["sk F", ["upstream_failed", "skipped", "run", "upstream_failed", "run", "upstream_failed"]],
  ["sk run", ["skipped", "skipped", "wait", "wait", "wait", "wait"]],
  ["retry ok", ["wait", "skipped", "wait", "run", "wait", "wait"]],
  ["retry", ["wait", "wait", "wait", "wait", "wait", "wait"]],
  ["q UF", ["upstream_failed", "wait", "wait", "wait", "run", "upstream_failed"]],
  ["ok ok ok", ["run", "skipped", "run", "run", "skipped", "run"]],
];

describe("trigger rules", () => {
  test("the table covers the rules in order", () => {
    assert.deepEqual(TRIGGER_RULES, [
      "all_success",
      "all_failed",
      "all_done",
      "one_success",
      "one_failed",
      "none_failed",
    ]);
  });
  for (const [states, verdicts] of TABLE) {
    TRIGGER_RULES.forEach((rule, i) => {
      test(`${rule} with upstream [${states}] -> ${verdicts[i]}`, () => {
        assert.equal(triggerRuleVerdict(rule, up(states)), verdicts[i]);
      });
    });
  }
  test("the verdict does not depend on the order of upstream states", () => {
    for (const [states] of TABLE) {
      const list = up(states);
      for (const rule of TRIGGER_RULES)
        assert.equal(triggerRuleVerdict(rule, [...list].reverse()), triggerRuleVerdict(rule, list));
    }
  });
});

describe("readyTasks", () => {
  //   extract -> transform -> load
  //           \-> audit (all_done)
  const spec = specOf([
    ["extract"],
    ["transform", ["extract"]],
    ["load", ["transform"]],
    ["audit", ["extract", "transform"], "all_done"],
  ]);

  test("at the start only the roots are ready; missing states count as none", () => {
    assert.deepEqual(readyTasks(spec, {}), ["extract"]);
    assert.deepEqual(readyTasks(spec, { extract: "none" }), ["extract"]);
  });
  test("a task is ready once its upstream tasks allow it, and only from none", () => {
    assert.deepEqual(readyTasks(spec, { extract: "running" }), []);
    assert.deepEqual(readyTasks(spec, { extract: "success" }), ["transform"]);
    assert.deepEqual(readyTasks(spec, { extract: "success", transform: "scheduled" }), []);
    assert.deepEqual(readyTasks(spec, { extract: "success", transform: "success" }), ["load", "audit"]);
    assert.deepEqual(readyTasks(spec, { extract: "success", transform: "success", load: "queued" }), [
      "audit",
    ]);
  });
  test("a pure function: the input is not modified", () => {
    const states = Object.freeze({ extract: "failed" as TaskState });
    evaluate(spec, states);
    assert.deepEqual(states, { extract: "failed" });
  });
  test("ready tasks come in topological order, declaration order among equals", () => {
    const wide = specOf([["z"], ["b", ["z"]], ["a", ["z"]], ["c"]]);
    assert.deepEqual(readyTasks(wide, {}), ["z", "c"]);
    assert.deepEqual(readyTasks(wide, { z: "success" }), ["b", "a", "c"]);
  });
});

describe("tasksToSkipOrFail", () => {
  test("a failure cascades upstream_failed downstream, and an all_done task becomes ready", () => {
    const spec = specOf([
      ["extract"],
      ["transform", ["extract"]],
      ["load", ["transform"]],
      ["audit", ["transform"], "all_done"],
    ]);
    const states = { extract: "failed" as TaskState };
    assert.deepEqual(tasksToSkipOrFail(spec, states), [
      { taskId: "transform", state: "upstream_failed" },
      { taskId: "load", state: "upstream_failed" },
    ]);
    assert.deepEqual(readyTasks(spec, states), ["audit"]);
  });
  test("skips cascade through all_success, stop at none_failed", () => {
    const spec = specOf([
      ["check"],
      ["alert", ["check"], "one_failed"],
      ["after_alert", ["alert"]],
      ["report", ["check", "alert"], "none_failed"],
    ]);
    const { decided, ready } = evaluate(spec, { check: "success" });
    assert.deepEqual(decided, [
      { taskId: "alert", state: "skipped" },
      { taskId: "after_alert", state: "skipped" },
    ]);
    assert.deepEqual(ready, ["report"]);
  });
  test("one_failed runs on a failure; all_failed after every upstream failed", () => {
    const spec = specOf([
      ["a"],
      ["b"],
      ["alert", ["a", "b"], "one_failed"],
      ["fallback", ["a", "b"], "all_failed"],
    ]);
    assert.deepEqual(evaluate(spec, { a: "failed", b: "running" }), { ready: ["alert"], decided: [] });
    assert.deepEqual(evaluate(spec, { a: "failed", b: "failed", alert: "success" }), {
      ready: ["fallback"],
      decided: [],
    });
    assert.deepEqual(evaluate(spec, { a: "failed", b: "success", alert: "running" }), {
      ready: [],
      decided: [{ taskId: "fallback", state: "skipped" }],
    });
  });
  test("only tasks in none are decided", () => {
    const spec = specOf([["a"], ["b", ["a"]]]);
    assert.deepEqual(tasksToSkipOrFail(spec, { a: "failed", b: "running" }), []);
  });
});

describe("runState", () => {
  const spec = specOf([["a"], ["b", ["a"]], ["c", ["b"], "all_done"]]);
  const cases: [Record<string, TaskState>, string][] = [
    [{}, "running"],
    [{ a: "success", b: "running" }, "running"],
    [{ a: "success", b: "success", c: "up_for_retry" }, "running"],
    [{ a: "success", b: "success", c: "success" }, "success"],
    [{ a: "success", b: "skipped", c: "success" }, "success"],
    [{ a: "skipped", b: "skipped", c: "skipped" }, "success"],
    // Unlike Airflow (leaves only): a failure followed by a successful all_done leaf fails the run.
    [{ a: "failed", b: "upstream_failed", c: "success" }, "failed"],
    [{ a: "success", b: "failed", c: "success" }, "failed"],
    [{ a: "failed", b: "upstream_failed" }, "running"],
  ];
  for (const [states, expected] of cases)
    test(`${JSON.stringify(states)} -> ${expected}`, () => assert.equal(runState(spec, states), expected));
});

test("every rule of the union is handled (exhaustive switch)", () => {
  for (const rule of TRIGGER_RULES as readonly TriggerRule[])
    assert.ok(triggerRuleVerdict(rule, ["success"]));
});
