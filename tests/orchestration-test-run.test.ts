import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { XCOM_MAX_BYTES } from "../src/orchestration/context.js";
import { dag } from "../src/orchestration/dag.js";
import { ConfError } from "../src/orchestration/errors.js";
import {
  formatTestRun,
  type TaskResult,
  type TestRunEvent,
  type TestRunResult,
  testDag,
} from "../src/orchestration/test-run.js";
import type { TaskContext } from "../src/orchestration/types.js";

const START = "2026-01-01T00:00:00Z";
const LOGICAL = "2026-11-25T17:30:05Z";
const byId = (r: TestRunResult): Record<string, TaskResult | undefined> =>
  Object.fromEntries(r.tasks.map((t) => [t.taskId, t]));

describe("testDag: a whole DAG in-process, no database", () => {
  test("success path: order, return values through ctx.xcom, the run context", async () => {
    const seen: Record<string, unknown> = {};
    const pipeline = dag(
      {
        id: "pipeline",
        schedule: "@daily",
        startDate: START,
        params: { dataPath: "data/in.csv", rows: 10 },
      },
      (d) => {
        const features = d.task("prepare_features", (ctx) => {
          seen.ctx = ctx;
          ctx.log(`reading ${ctx.params.dataPath}`);
          return `data/features_${ctx.stamp}.parquet`;
        });
        const model = d.task("train_model", async (ctx) => {
          await new Promise((r) => setTimeout(r, 5));
          return { model: "models/m", from: ctx.xcom(features), rows: ctx.params.rows };
        });
        const check = d.task("check", (ctx) => {
          seen.model = ctx.xcom(model).model;
          seen.features = ctx.xcom<string>("prepare_features");
        });
        features.before(model).before(check);
      },
    );
    const events: TestRunEvent[] = [];
    const result = await testDag(pipeline, {
      logicalDate: LOGICAL,
      conf: { rows: 20, extra: true },
      onTask: (e) => events.push(e),
    });
    assert.equal(result.state, "success");
    assert.equal(result.runId, "test__20261125-173005");
    assert.equal(result.stamp, "20261125-173005");
    assert.deepEqual(result.params, { dataPath: "data/in.csv", rows: 20, extra: true });
    assert.deepEqual(
      result.tasks.map((t) => [t.taskId, t.state, t.tries.length]),
      [
        ["prepare_features", "success", 1],
        ["train_model", "success", 1],
        ["check", "success", 1],
      ],
    );
    const tasks = byId(result);
    assert.equal(tasks.prepare_features?.value, "data/features_20261125-173005.parquet");
    assert.deepEqual(tasks.train_model?.value, {
      model: "models/m",
      from: "data/features_20261125-173005.parquet",
      rows: 20,
    });
    assert.equal(tasks.check?.value, undefined);
    assert.ok((tasks.train_model?.durationMs ?? 0) >= 4);
    assert.deepEqual(tasks.prepare_features?.tries[0]?.logs, ["reading data/in.csv"]);
    assert.equal(seen.model, "models/m");
    assert.equal(seen.features, "data/features_20261125-173005.parquet");
    const ctx = seen.ctx as TaskContext;
    assert.equal(ctx.dagId, "pipeline");
    assert.equal(ctx.taskId, "prepare_features");
    assert.equal(ctx.logicalDate.toISOString(), "2026-11-25T17:30:05.000Z");
    assert.deepEqual(ctx.dataInterval, { start: ctx.logicalDate, end: ctx.logicalDate });
    assert.deepEqual(ctx.conf, { rows: 20, extra: true });
    assert.equal(ctx.tryNumber, 1);
    assert.equal(ctx.maxTries, 1);
    assert.deepEqual(
      events.map((e) => `${e.type}:${e.type === "finish" ? e.task.taskId : e.taskId}`),
      [
        "start:prepare_features",
        "finish:prepare_features",
        "start:train_model",
        "finish:train_model",
        "start:check",
        "finish:check",
      ],
    );
    const text = formatTestRun(result);
    assert.match(
      text,
      /^DAG pipeline, run test__20261125-173005 \(logical date 2026-11-25T17:30:05.000Z\): success in/,
    );
    assert.match(text, /\n {2}prepare_features +success +\d+ms +-> "data\/features_20261125-173005.parquet"/);
  });

  test("a failing task: retried, then failed; upstream_failed downstream; all_done and one_failed still run", async () => {
    let tries = 0;
    const failing = dag(
      { id: "failing", startDate: START, defaults: { retries: 2, retryDelay: "1h" } },
      (d) => {
        const extract = d.task("extract", () => "rows.csv");
        const transform = d.task("transform", (ctx) => {
          tries++;
          ctx.log(`try ${ctx.tryNumber} of ${ctx.maxTries}`);
          throw new Error(`boom ${ctx.tryNumber}`);
        });
        const load = d.task("load", () => "loaded");
        const publish = d.task("publish", () => "published");
        const cleanup = d.task("cleanup", (ctx) => `cleaned after ${ctx.xcom(extract)}`, {
          triggerRule: "all_done",
        });
        const alert = d.task("alert", () => "alerted", { triggerRule: "one_failed" });
        extract.before(transform).before(load).before(publish);
        transform.before([cleanup, alert]);
      },
    );
    const events: TestRunEvent[] = [];
    const result = await testDag(failing, { onTask: (e) => events.push(e) }); // retry delay shortened to 0
    assert.equal(result.state, "failed");
    assert.equal(tries, 3);
    const t = byId(result);
    assert.equal(t.extract?.state, "success");
    assert.equal(t.transform?.state, "failed");
    assert.deepEqual(
      t.transform?.tries.map((x) => [x.tryNumber, x.outcome, x.error?.message, x.logs]),
      [
        [1, "failed", "boom 1", ["try 1 of 3"]],
        [2, "failed", "boom 2", ["try 2 of 3"]],
        [3, "failed", "boom 3", ["try 3 of 3"]],
      ],
    );
    assert.equal(t.transform?.error?.message, "boom 3");
    assert.equal(t.load?.state, "upstream_failed");
    assert.equal(t.publish?.state, "upstream_failed");
    assert.deepEqual(t.load?.tries, []);
    assert.equal(t.cleanup?.state, "success");
    assert.equal(t.cleanup?.value, "cleaned after rows.csv");
    assert.equal(t.alert?.state, "success");
    assert.deepEqual(
      events
        .filter((e) => e.type === "retry")
        .map((e) => (e.type === "retry" ? [e.tryNumber, e.delayMs] : [])),
      [
        [1, 0],
        [2, 0],
      ],
    );
    assert.match(formatTestRun(result), /transform +failed \(3 tries\) .* Error: boom 3/);
  });

  test("a flaky task succeeds on its second try; the DAG's retry delay is kept on request", async () => {
    const flaky = dag({ id: "flaky", startDate: START }, (d) => {
      d.task(
        "sometimes",
        (ctx) => {
          if (ctx.tryNumber === 1) throw new Error("transient");
          return ctx.tryNumber;
        },
        { retries: 1, retryDelay: "40ms" },
      );
    });
    const t0 = performance.now();
    const result = await testDag(flaky, { retryDelayMs: "dag" });
    assert.ok(performance.now() - t0 >= 35);
    assert.equal(result.state, "success");
    assert.deepEqual(
      result.tasks[0]?.tries.map((x) => x.outcome),
      ["failed", "success"],
    );
    assert.equal(result.tasks[0]?.value, 2);
  });

  test("return values over the size limit, or not JSON, fail without retry and say what to do", async () => {
    const big = dag({ id: "big", startDate: START, defaults: { retries: 3 } }, (d) => {
      const huge = d.task("huge", () => "x".repeat(XCOM_MAX_BYTES + 1));
      d.task("dated", () => ({ when: new Date() }) as never);
      d.task("after", () => 1).after(huge);
    });
    const result = await testDag(big);
    const t = byId(result);
    assert.equal(t.huge?.state, "failed");
    assert.equal(t.huge?.tries.length, 1);
    assert.equal(t.huge?.error?.name, "XComError");
    assert.equal(
      t.huge?.error?.message,
      `DAG big, task huge: the return value is ${XCOM_MAX_BYTES + 3} bytes serialised, more than the ${XCOM_MAX_BYTES} allowed`,
    );
    assert.match(t.huge?.error?.hint ?? "", /write the data to a file and return its path/);
    assert.equal(t.dated?.state, "failed");
    assert.match(t.dated?.error?.message ?? "", /not plain JSON: \$\.when is a Date/);
    assert.equal(t.after?.state, "upstream_failed");
    const limited = await testDag(big, { xcomMaxBytes: 10 * XCOM_MAX_BYTES });
    assert.equal(byId(limited).huge?.state, "success");
  });

  test("a try obeys [core] as in a task process: size limit, default timeout, abort reason, clean-up time", async () => {
    let reason: unknown;
    let cleaned = false;
    let sawCleaned: boolean | undefined;
    const d = dag({ id: "core", startDate: START }, (b) => {
      b.task("small", () => "x".repeat(20));
      const hangs = b.task(
        "hangs",
        (ctx) =>
          new Promise<void>((resolve) => {
            ctx.signal.addEventListener("abort", () => {
              reason = ctx.signal.reason;
              // Cleans up after the timeout, then settles: the next task waits for it.
              setTimeout(() => {
                cleaned = true;
                resolve();
              }, 30);
            });
          }),
      );
      b.task(
        "next",
        () => {
          sawCleaned = cleaned;
        },
        { triggerRule: "all_done" },
      ).after(hangs);
    });
    const result = await testDag(d, {
      core: { max_xcom_size: 10, default_task_execution_timeout: 50, killed_task_cleanup_time: 60_000 },
    });
    const t = byId(result);
    assert.equal(t.small?.error?.name, "XComError");
    assert.match(t.small?.error?.message ?? "", /22 bytes serialised, more than the 10 allowed/);
    assert.equal(t.hangs?.error?.name, "TaskTimeoutError", "[core] default_task_execution_timeout applies");
    assert.match(t.hangs?.error?.message ?? "", /timed out after 50 ms/);
    assert.equal((reason as Error | undefined)?.name, "TaskTimeoutError", "ctx.signal.reason is the error");
    assert.equal(t.next?.state, "success");
    assert.equal(sawCleaned, true, "the next task started after the timed-out one had cleaned up");
  });

  test("ctx.xcom: only upstream tasks, a clear error for a missing value, a fallback", async () => {
    const d1 = dag({ id: "reads", startDate: START }, (d) => {
      const a = d.task("a", () => {});
      const b = d.task("b", (ctx) => ctx.xcom("a", "fallback"));
      const c = d.task("c", (ctx) => ctx.xcom("a"));
      d.task("stranger", (ctx) => ctx.xcom("a"));
      a.before([b, c]);
    });
    const t = byId(await testDag(d1));
    assert.equal(t.b?.value, "fallback");
    assert.equal(t.c?.state, "failed");
    assert.match(t.c?.error?.message ?? "", /ctx.xcom\("a"\): a returned no value/);
    assert.equal(t.stranger?.state, "failed");
    assert.match(t.stranger?.error?.message ?? "", /a is not upstream of stranger/);
  });

  test("ctx.skip skips the task and its all_success downstream; none_failed still runs", async () => {
    const skipping = dag({ id: "skipping", startDate: START }, (d) => {
      const gate = d.task("gate", (ctx) => ctx.skip("no new data"));
      const work = d.task("work", () => 1);
      const report = d.task("report", () => "done", { triggerRule: "none_failed" });
      gate.before(work).before(report);
    });
    const result = await testDag(skipping);
    assert.equal(result.state, "success");
    const t = byId(result);
    assert.equal(t.gate?.state, "skipped");
    assert.equal(t.gate?.error?.message, "skipped: no new data");
    assert.equal(t.work?.state, "skipped");
    assert.equal(t.report?.state, "success");
  });

  test("an execution timeout fails the try and aborts ctx.signal", async () => {
    let aborted = false;
    const slow = dag({ id: "slow", startDate: START }, (d) => {
      d.task(
        "sleepy",
        (ctx) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 5000);
            ctx.signal.addEventListener("abort", () => {
              aborted = true;
              clearTimeout(timer);
              resolve();
            });
          }),
        { executionTimeout: "30ms" },
      );
    });
    const result = await testDag(slow);
    assert.equal(result.tasks[0]?.state, "failed");
    assert.equal(result.tasks[0]?.error?.name, "TaskTimeoutError");
    assert.match(result.tasks[0]?.error?.message ?? "", /timed out after 30 ms/);
    assert.ok(aborted);
  });

  test("a conf that does not fit the params fails before any task runs", async () => {
    let ran = false;
    const typed = dag({ id: "typed", startDate: START, params: { rows: 10 } }, (d) => {
      d.task("t", () => {
        ran = true;
      });
    });
    await assert.rejects(
      testDag(typed, { conf: { rows: "ten" } }),
      (e: unknown) => e instanceof ConfError && e.key === "rows" && /expected a number/.test(e.message),
    );
    assert.equal(ran, false);
  });

  test("the default logical date is now, to the second", async () => {
    const one = dag(
      { id: "one", startDate: START },
      (d) => void d.task("t", (ctx) => ctx.logicalDate.toISOString()),
    );
    const before = Math.floor(Date.now() / 1000) * 1000;
    const result = await testDag(one);
    assert.equal(result.logicalDate.getMilliseconds(), 0);
    assert.ok(result.logicalDate.getTime() >= before && result.logicalDate.getTime() <= Date.now());
    assert.equal(result.tasks[0]?.value, result.logicalDate.toISOString());
  });
});
