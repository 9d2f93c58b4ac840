/**
 * Adversarial, class "crashes during a run": one DAG of independent tasks, each ending its try in its own bad
 * way (exits 0 or 3 mid-task, kills itself, aborts, throws, an unhandled rejection, loops past its timeout,
 * returns a Date or 1 MB, overflows the stack, floods its log past `[logging] max_bytes_per_try`), run by a
 * real scheduler with real task processes. Every try ends in a defined state with its reason recorded; the
 * good task succeeds; the flooded log is cut with its mark.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { taskLogPath } from "../../src/orchestration/executor/task-log.js";
import { setDagPaused, triggerDag } from "../../src/orchestration/scheduler/trigger.js";
import { ROOT, type SchedulerEnv, schedulerEnv } from "../helpers/scheduler-env.js";

const DAG = readFileSync(join(ROOT, "tests", "fixtures", "dags", "adversarial-crashes.ts.txt"), "utf8");

/** Task id, final state, what its recorded error must say. */
const CASES: readonly [string, string, RegExp | undefined][] = [
  ["exit_zero", "failed", /exit/i],
  ["exit_three", "failed", /code 3|exit/i],
  ["sigkill_self", "failed", /SIGKILL|killed/i],
  ["abort", "failed", /SIGABRT|abort|killed/i],
  ["throws", "failed", /boom in the task/],
  // Node ends the process on an unhandled rejection: a lost process, its log says why.
  ["rejects_later", "failed", /exited with code 1 without recording the end of the try/],
  ["loops", "failed", /timeout|timed out|3 s|3000/i],
  ["returns_date", "failed", /not plain JSON.*Date/],
  ["returns_1mb", "failed", /bytes serialised, more than/],
  ["stack", "failed", /Maximum call stack/],
  ["floods_log", "success", undefined],
  ["ok", "success", undefined],
];

let e: SchedulerEnv;
let runId = "";
before(async () => {
  e = schedulerEnv({
    WINDFLOW__LOGGING__MAX_BYTES_PER_TRY: String(256 * 1024),
    WINDFLOW__CORE__PARALLELISM: "4",
  });
  e.write("crashes.ts", DAG.replaceAll("SRC/", `${join(ROOT, "src")}/`));
  const { syncDagFolder } = await import("../../src/orchestration/scheduler/dag-processor.js");
  const summary = await syncDagFolder(e.config, e.store);
  assert.deepEqual(summary.errors, []);
  setDagPaused(e.store, "crashes", false);
  runId = triggerDag(e.store, "crashes").run.runId;
  const report = await e.runScheduler({ mode: "until-idle", timeoutMs: 240_000 });
  assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
});
after(() => e.cleanup());

describe("adversarial: crashes during a run", () => {
  for (const [taskId, state, error] of CASES)
    test(`${taskId}: ${state}${error ? `, its reason recorded (${error.source})` : ""}`, () => {
      const ti = e.store.getTaskInstance({ dagId: "crashes", runId, taskId });
      assert.equal(ti?.state, state, `${taskId}: ${ti?.state} ${ti?.error}`);
      if (error) assert.match(ti?.error ?? "", error);
    });

  test("the unhandled rejection is in its try's log", () => {
    const path = taskLogPath(
      e.config.logging.base_log_folder,
      { dagId: "crashes", runId, taskId: "rejects_later" },
      1,
    );
    assert.match(readFileSync(path, "utf8"), /unhandled later/);
  });

  test("the run failed (some tasks did), and says so", () => {
    assert.equal(e.store.getRun({ dagId: "crashes", runId })?.state, "failed");
  });

  test("the flooded log stopped at the cap, with its mark, the result still written", () => {
    const text = readFileSync(
      taskLogPath(e.config.logging.base_log_folder, { dagId: "crashes", runId, taskId: "floods_log" }, 1),
      "utf8",
    );
    assert.ok(Buffer.byteLength(text) < 256 * 1024 + 4096, `${Buffer.byteLength(text)} bytes`);
    assert.match(
      text,
      /----- log truncated: this try's log reached \[logging\] max_bytes_per_try \(262144 bytes\)/,
    );
    assert.match(text, /bytes of output were dropped from this log/);
    assert.doesNotMatch(text, /flood 39999 /);
  });
});
