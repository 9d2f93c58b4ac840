import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chain, dag, isDag } from "../src/orchestration/dag.js";
import { DagCycleError, DagValidationError } from "../src/orchestration/errors.js";
import { findCycle, renderDag, topologicalOrder } from "../src/orchestration/graph.js";
import { taskOptions } from "../src/orchestration/task-options.js";
import type { DagSpec } from "../src/orchestration/types.js";
import { fromJSON, SPEC_FORMAT, toJSON } from "../src/orchestration/validate.js";
import { specOf } from "./helpers/orchestration-specs.js";

const START = "2026-01-01T00:00:00Z";
const noop = () => {};

/** The course's train DAG, with every option given. */
const train = dag(
  {
    id: "train",
    description: "Trains the model: **features** then model.",
    schedule: { every: "28d" },
    startDate: "2026-01-01T00:00:00+01:00",
    catchup: false,
    maxActiveRuns: 1,
    defaults: { retries: 1, retryDelay: "30s", executionTimeout: "10m" },
    tags: ["ml", "course"],
    params: { dataPath: "data/la-haute-borne-data-2017-2020.csv", epochs: 3, nested: { a: [1, null, true] } },
    outputs: ["models/{stamp}/"],
  },
  (d) => {
    const features = d.task("prepare_features", (ctx) => `${ctx.params.dataPath}.parquet`, {
      description: "CSV -> features",
    });
    const model = d.task(
      "train_model",
      (ctx) => ({ features: ctx.xcom(features), epochs: ctx.params.epochs }),
      {
        retries: 0,
        executionTimeout: null,
      },
    );
    const report = d.task("report", () => undefined, { triggerRule: "all_done", retryDelay: 500 });
    features.before(model).before(report);
  },
);

/** Expects `fn` to throw a DagValidationError of DAG `dagId` about `field`, whose message includes `text`. */
function refuses(fn: () => unknown, dagId: string, field: string, text: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DagValidationError, `a DagValidationError, got ${e}`);
    assert.equal(e.dagId, dagId);
    assert.equal(e.field, field);
    assert.ok(e.message.includes(text), `"${e.message}" includes "${text}"`);
    assert.ok(e.message.startsWith(`DAG ${dagId}: `), e.message);
    return true;
  });
}

describe("dag(): the authoring API", () => {
  test("the spec holds the options, normalised, and no functions", () => {
    assert.deepEqual(train.spec, {
      id: "train",
      description: "Trains the model: **features** then model.",
      schedule: { every: "28d" },
      startDate: "2025-12-31T23:00:00.000Z",
      catchup: false,
      maxActiveRuns: 1,
      defaults: { retries: 1, retryDelayMs: 30_000, executionTimeoutMs: 600_000 },
      tags: ["ml", "course"],
      params: {
        dataPath: "data/la-haute-borne-data-2017-2020.csv",
        epochs: 3,
        nested: { a: [1, null, true] },
      },
      outputs: ["models/{stamp}/"],
      tasks: [
        { id: "prepare_features", upstream: [], triggerRule: "all_success", description: "CSV -> features" },
        {
          id: "train_model",
          upstream: ["prepare_features"],
          triggerRule: "all_success",
          retries: 0,
          executionTimeoutMs: null,
        },
        { id: "report", upstream: ["train_model"], triggerRule: "all_done", retryDelayMs: 500 },
      ],
      fileloc: null,
    });
    assert.equal(train.id, "train");
    assert.ok(isDag(train));
    assert.ok(!isDag(train.spec));
    assert.ok(!isDag({ id: "x", spec: {}, callable: () => 1 }));
  });
  test("defaults when options are left out", () => {
    const d = dag({ id: "minimal", startDate: new Date(START) }, (b) => {
      b.task("only", () => {});
    });
    assert.deepEqual(
      { ...d.spec, tasks: undefined },
      {
        id: "minimal",
        description: "",
        schedule: null,
        startDate: "2026-01-01T00:00:00.000Z",
        catchup: false,
        maxActiveRuns: 1,
        defaults: { retries: 0, retryDelayMs: 30_000, executionTimeoutMs: null },
        tags: [],
        params: {},
        outputs: [],
        tasks: undefined,
        fileloc: null,
      },
    );
  });
  test("effective task options: the task's, else the DAG's", () => {
    assert.deepEqual(taskOptions(train.spec, "prepare_features"), {
      retries: 1,
      retryDelayMs: 30_000,
      executionTimeoutMs: 600_000,
    });
    assert.deepEqual(taskOptions(train.spec, "train_model"), {
      retries: 0,
      retryDelayMs: 30_000,
      executionTimeoutMs: null,
    });
    assert.deepEqual(taskOptions(train.spec, "report"), {
      retries: 1,
      retryDelayMs: 500,
      executionTimeoutMs: 600_000,
    });
    refuses(() => taskOptions(train.spec, "nope"), "train", "tasks", 'no task "nope"');
  });
  test("callable gives the task's function; locatedAt sets fileloc and keeps the functions", async () => {
    assert.equal(typeof train.callable("train_model"), "function");
    refuses(() => train.callable("predict"), "train", "tasks", 'no task "predict"');
    const located = train.locatedAt("/abs/dags/train.ts");
    assert.equal(located.spec.fileloc, "/abs/dags/train.ts");
    assert.equal(train.spec.fileloc, null);
    assert.equal(located.callable("report"), train.callable("report"));
    assert.ok(isDag(located));
  });
  test("dependencies: before, after, chain with lists, duplicates ignored", () => {
    const d = dag({ id: "shapes", startDate: START }, (b) => {
      const [a, x, y, z, w, v] = [
        b.task("a", noop),
        b.task("x", noop),
        b.task("y", noop),
        b.task("z", noop),
        b.task("w", noop),
        b.task("v", noop),
      ];
      chain(a, [x, y], z);
      w.after(z);
      z.before(w);
      chain([x, y], [w, v]);
    });
    const up = Object.fromEntries(d.spec.tasks.map((t) => [t.id, t.upstream]));
    assert.deepEqual(up, { a: [], x: ["a"], y: ["a"], z: ["x", "y"], w: ["z", "x"], v: ["y"] });
    assert.deepEqual(
      topologicalOrder(d.spec).map((t) => t.id),
      ["a", "x", "y", "z", "w", "v"],
    );
  });
  test("chain refuses lists of different lengths", () => {
    assert.throws(
      () =>
        dag({ id: "bad_chain", startDate: START }, (b) => {
          chain([b.task("a", () => 1), b.task("b", () => 1)], [b.task("c", () => 1)]);
        }),
      /cannot join lists of 2 and 1 tasks pairwise/,
    );
  });
});

describe("validation: each problem a typed error naming the DAG and the field", () => {
  test("a cycle, named", () => {
    assert.throws(
      () =>
        dag({ id: "loop", startDate: START }, (b) => {
          const a = b.task("a", () => 1);
          const c = b.task("c", () => 1);
          const bb = b.task("b", () => 1);
          b.task("free", () => 1);
          a.before(bb).before(c).before(a);
        }),
      (e: unknown) =>
        e instanceof DagCycleError &&
        e instanceof DagValidationError &&
        e.dagId === "loop" &&
        e.cycle.join(" -> ") === "a -> b -> c -> a" &&
        e.message === "DAG loop: tasks: dependency cycle a -> b -> c -> a" &&
        e.hint !== undefined,
    );
    assert.deepEqual(findCycle(specOf([["a", ["a"]]])), ["a", "a"]);
    assert.deepEqual(findCycle(specOf([["a"], ["b", ["a"]]])), undefined);
  });
  test("a duplicate task id", () => {
    refuses(
      () =>
        dag({ id: "dup", startDate: START }, (b) => {
          b.task("same", () => 1);
          b.task("same", () => 2);
        }),
      "dup",
      "tasks.same",
      'duplicate task id "same"',
    );
  });
  test("an unknown upstream (stored specs) or a task of another DAG (authoring)", () => {
    const spec = specOf([["a"], ["b", ["ghost"]]]);
    refuses(() => fromJSON(toJSON(spec)), "t", "tasks.b.upstream", 'unknown task "ghost"');
    let foreign: unknown;
    dag({ id: "other", startDate: START }, (b) => {
      foreign = b.task("x", () => 1);
    });
    refuses(
      () =>
        dag({ id: "mine", startDate: START }, (b) => {
          b.task("a", () => 1).before(foreign as never);
        }),
      "mine",
      "tasks.x",
      "x is not a task of this DAG",
    );
  });
  test("bad ids", () => {
    refuses(() => dag({ id: "has space", startDate: START }, () => {}), '"has space"', "id", "may only hold");
    refuses(() => dag({ id: "", startDate: START }, () => {}), '""', "id", "is empty");
    refuses(
      () =>
        dag({ id: "ok", startDate: START }, (b) => {
          b.task("../etc", () => 1);
        }),
      "ok",
      "tasks[0].id",
      "may only hold",
    );
  });
  test("a bad cron names the field; a bad duration names the option", () => {
    refuses(
      () => dag({ id: "c", schedule: "0 25 * * *", startDate: START }, () => {}),
      "c",
      "schedule",
      "hour: 25 is out of range 0-23",
    );
    refuses(
      () => dag({ id: "c", schedule: "* * * * mon-xyz", startDate: START }, () => {}),
      "c",
      "schedule",
      "day of week",
    );
    refuses(
      () => dag({ id: "c", schedule: "@sometimes", startDate: START }, () => {}),
      "c",
      "schedule",
      "unknown preset",
    );
    refuses(
      () => dag({ id: "c", startDate: START, defaults: { retryDelay: "soon" } }, () => {}),
      "c",
      "defaults.retryDelay",
      'duration "soon"',
    );
    refuses(
      () =>
        dag({ id: "c", startDate: START }, (b) => {
          b.task("t", () => 1, { executionTimeout: "-1s" });
        }),
      "c",
      "tasks.t.executionTimeout",
      "cannot read",
    );
  });
  test("start date, max active runs, retries, no task, asynchronous build, late task", () => {
    refuses(() => dag({ id: "s", startDate: "someday" }, () => {}), "s", "startDate", "is not a date");
    const one = (b: { task: (id: string, fn: () => number) => unknown }) => {
      b.task("t", () => 1);
    };
    refuses(() => dag({ id: "m", startDate: START, maxActiveRuns: 0 }, one), "m", "maxActiveRuns", ">= 1");
    refuses(
      () => dag({ id: "r", startDate: START, defaults: { retries: -1 } }, one),
      "r",
      "defaults.retries",
      ">= 0",
    );
    refuses(
      () => dag({ id: "r", startDate: START, defaults: { retries: 1.5 } }, one),
      "r",
      "defaults.retries",
      ">= 0",
    );
    refuses(() => dag({ id: "e", startDate: START }, () => {}), "e", "tasks", "at least one task");
    refuses(
      () => dag({ id: "a", startDate: START }, (async () => {}) as never),
      "a",
      "build",
      "returned a promise",
    );
    let late: ((id: string, fn: () => number) => unknown) | undefined;
    dag({ id: "l", startDate: START }, (b) => {
      b.task("t", () => 1);
      late = b.task.bind(b);
    });
    refuses(() => late?.("later", () => 1), "l", "tasks.later", "after dag() returned");
  });
  test("params must be JSON", () => {
    refuses(
      () =>
        dag(
          { id: "p", startDate: START, params: { when: new Date() as never } },
          (b) => void b.task("t", () => 1),
        ),
      "p",
      "params",
      "params.when is a Date",
    );
  });
});

describe("JSON form", () => {
  test("round trip: definition -> JSON -> definition, deep-equal", () => {
    for (const spec of [train.spec, train.locatedAt("/x/dags/train.ts").spec]) {
      const json = toJSON(spec);
      assert.equal(JSON.parse(json).format, SPEC_FORMAT);
      assert.deepStrictEqual(fromJSON(json), spec);
      assert.deepStrictEqual(fromJSON(JSON.parse(json)), spec);
    }
    const variants: DagSpec[] = [
      specOf([["a"]], { schedule: { cron: "0 */4 * * *" }, catchup: true, maxActiveRuns: 3 }),
      specOf([["a"], ["b", ["a"], "one_failed"], ["c", ["a", "b"], "none_failed"]], {
        schedule: { cron: "@weekly" },
      }),
    ];
    for (const spec of variants) assert.deepStrictEqual(fromJSON(toJSON(spec)), spec);
    // A spec stored before `outputs` existed reads back with none; a bad one is refused, named.
    const { outputs: _, ...older } = JSON.parse(toJSON(train.spec)) as Record<string, unknown>;
    assert.deepEqual(fromJSON(older).outputs, []);
    assert.throws(
      () => fromJSON({ ...older, outputs: [""] }),
      /DAG train: outputs: must be a list of file names/,
    );
  });
  test("stored JSON is validated at the boundary", () => {
    const good = JSON.parse(toJSON(train.spec));
    refuses(() => fromJSON("{not json"), "?", "json", "not JSON");
    refuses(() => fromJSON("[]"), "?", "json", "is not a JSON object");
    refuses(() => fromJSON({ ...good, format: "windflow.dag-spec/0" }), "train", "format", "expected");
    refuses(() => fromJSON({ ...good, color: "blue" }), "train", "color", "is not a field");
    refuses(() => fromJSON({ ...good, catchup: "yes" }), "train", "catchup", "true or false");
    refuses(
      () => fromJSON({ ...good, schedule: { cron: "0 0 * * * *" } }),
      "train",
      "schedule",
      "expected 5",
    );
    refuses(() => fromJSON({ ...good, schedule: { every: "1ms" } }), "train", "schedule", "at least 1000 ms");
    refuses(() => fromJSON({ ...good, schedule: "@daily" }), "train", "schedule", "must be null");
    refuses(() => fromJSON({ ...good, tags: [1] }), "train", "tags", "non-empty strings");
    const tasks = good.tasks.map((t: object) => ({ ...t }));
    tasks[1].triggerRule = "sometimes";
    refuses(() => fromJSON({ ...good, tasks }), "train", "tasks.train_model.triggerRule", "is not one of");
    tasks[1] = {
      ...tasks[1],
      triggerRule: "all_success",
      upstream: ["prepare_features", "prepare_features"],
    };
    refuses(() => fromJSON({ ...good, tasks }), "train", "tasks.train_model.upstream", "lists a task twice");
  });
});

test("renderDag draws the tasks in order with their dependencies and non-default rules", () => {
  assert.equal(
    renderDag(train.spec),
    [
      "train  (every 28d, from 2025-12-31T23:00:00.000Z, catchup off, max 1 active run)",
      "  prepare_features",
      "  train_model       <- prepare_features",
      "  report            <- train_model  [all_done]",
    ].join("\n"),
  );
});

describe("[core] defaults for what a DAG file leaves unset", () => {
  const settings = {
    WINDFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG: "4",
    WINDFLOW__CORE__DEFAULT_TASK_RETRIES: "3",
    WINDFLOW__CORE__DEFAULT_TASK_RETRY_DELAY: "2m",
  };
  /** Runs `fn` with `env` set in this process (what a DAG file's process reads), then restores it. */
  function withEnv<T>(env: Record<string, string>, fn: () => T): T {
    const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
      return fn();
    } finally {
      for (const [k, v] of Object.entries(before)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }
  const build = (options: Partial<Parameters<typeof dag>[0]> = {}) =>
    dag({ id: "defaults", startDate: "2026-01-01T00:00:00Z", ...options }, (d) => {
      d.task("a", () => 1);
      d.task("b", () => 2, { retries: 1, retryDelay: "5s" });
    });

  test("max_active_runs_per_dag, default_task_retries and default_task_retry_delay apply; a DAG's own values win", () => {
    const plain = build().spec;
    assert.equal(plain.maxActiveRuns, 1);
    assert.deepEqual(taskOptions(plain, "a"), { retries: 0, retryDelayMs: 30_000, executionTimeoutMs: null });
    const spec = withEnv(settings, () => build().spec);
    assert.equal(spec.maxActiveRuns, 4);
    assert.deepEqual(taskOptions(spec, "a"), { retries: 3, retryDelayMs: 120_000, executionTimeoutMs: null });
    assert.deepEqual(taskOptions(spec, "b"), { retries: 1, retryDelayMs: 5000, executionTimeoutMs: null });
    const own = withEnv(
      settings,
      () => build({ maxActiveRuns: 2, defaults: { retries: 0, retryDelay: "1s" } }).spec,
    );
    assert.equal(own.maxActiveRuns, 2);
    assert.deepEqual(taskOptions(own, "a"), { retries: 0, retryDelayMs: 1000, executionTimeoutMs: null });
  });

  test("a wrong setting is an error naming it, not a silent default", () => {
    assert.throws(
      () => withEnv({ WINDFLOW__CORE__DEFAULT_TASK_RETRIES: "many" }, () => build()),
      /config \[core\] default_task_retries \(environment variable WINDFLOW__CORE__DEFAULT_TASK_RETRIES\)/,
    );
  });
});
