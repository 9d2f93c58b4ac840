/**
 * The contract of `MetadataStore`: one suite, run against every implementation (STYLE point 9).
 * SQLite-only behaviour (migrations, several connections, corrupt rows) is in `store-sqlite.test.ts`.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { IllegalTransitionError } from "../src/orchestration/errors.js";
import {
  DuplicateRunError,
  DuplicateUserError,
  RecordNotFoundError,
  StoreInputError,
} from "../src/orchestration/store/errors.js";
import type { MetadataStore, TaskInstanceKey } from "../src/orchestration/store/store.js";
import type { Json } from "../src/orchestration/types.js";
import { dagSpec, newRun, STORE_IMPLEMENTATIONS, type StoreUnderTest } from "./helpers/store-fixtures.js";

const T0 = new Date("2026-03-01T10:00:00.000Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

for (const impl of STORE_IMPLEMENTATIONS) {
  describe(`MetadataStore contract: ${impl.name}`, () => {
    let sut: StoreUnderTest;
    let store: MetadataStore;
    let clock = T0;
    beforeEach(() => {
      clock = T0;
      sut = impl.make({ now: () => clock });
      store = sut.store;
    });
    afterEach(() => sut.dispose());

    /** A DAG `d` with tasks a -> b (a: 2 retries) and a manual run of it; returns the task keys. */
    const seedRun = (runType: "manual" | "scheduled" = "manual") => {
      const spec = dagSpec("d", [["a"], ["b", ["a"]]], {
        tasks: [
          { id: "a", upstream: [], triggerRule: "all_success", retries: 2 },
          { id: "b", upstream: ["a"], triggerRule: "all_success" },
        ],
      });
      store.upsertDag(spec, { parsedAt: T0 });
      const run = store.createRun(newRun(spec, "2026-03-01T00:00:00Z", runType));
      const key = (taskId: string): TaskInstanceKey => ({ dagId: "d", runId: run.runId, taskId });
      return { spec, run, a: key("a"), b: key("b") };
    };

    describe("DAGs", () => {
      test("a new DAG is paused by default; the spec round-trips; a re-parse keeps the paused flag", () => {
        const spec = dagSpec("train", [["prepare"], ["fit", ["prepare"]]], { params: { rows: 10 } });
        const first = store.upsertDag(spec, { parsedAt: T0 });
        assert.equal(first.created, true);
        assert.equal(first.changed, true);
        assert.equal(first.dag.isPaused, true);
        assert.equal(first.dag.isActive, true);
        assert.deepEqual(first.dag.spec, spec);
        assert.equal(first.dag.fileloc, "/dags/train.ts");
        assert.match(first.dag.hash, /^[0-9a-f]{64}$/);
        assert.deepEqual(first.dag.lastParsedAt, T0);

        store.setPaused("train", false);
        const again = store.upsertDag(spec, { parsedAt: at(30) });
        assert.equal(again.created, false);
        assert.equal(again.changed, false, "same spec: not a change");
        assert.equal(again.dag.isPaused, false, "a re-parse does not pause it again");
        assert.deepEqual(again.dag.lastParsedAt, at(30));
        assert.deepEqual(again.dag.createdAt, T0);

        const changed = store.upsertDag({ ...spec, description: "new" }, { parsedAt: at(60) });
        assert.equal(changed.changed, true);
        assert.notEqual(changed.dag.hash, first.dag.hash);
        assert.equal(store.getDag("train")?.spec.description, "new");
      });

      test("paused: false creates an unpaused DAG; list, next run, delete", () => {
        store.upsertDag(dagSpec("b_dag"), { parsedAt: T0, paused: false });
        store.upsertDag(dagSpec("a_dag"), { parsedAt: T0 });
        assert.deepEqual(
          store.listDags().map((d) => [d.dagId, d.isPaused]),
          [
            ["a_dag", true],
            ["b_dag", false],
          ],
        );
        assert.equal(store.getDag("a_dag")?.nextRunAt, null);
        store.setNextRun("a_dag", { logicalDate: at(0), dueAt: at(120) });
        assert.deepEqual(store.getDag("a_dag")?.nextLogicalDate, at(0));
        assert.deepEqual(store.getDag("a_dag")?.nextRunAt, at(120));
        assert.equal(store.getDag("nope"), undefined);
        assert.throws(() => store.setPaused("nope", true), RecordNotFoundError);
        assert.throws(
          () => store.setNextRun("nope", { logicalDate: null, dueAt: null }),
          RecordNotFoundError,
        );

        store.createRun(newRun(dagSpec("a_dag"), "2026-03-01T00:00:00Z"));
        assert.equal(store.deleteDag("a_dag"), true);
        assert.equal(store.deleteDag("a_dag"), false);
        assert.equal(store.getDag("a_dag"), undefined);
        assert.deepEqual(store.listRuns({ dagId: "a_dag" }), [], "its runs went with it");
        assert.deepEqual(store.listTaskInstances({ dagId: "a_dag" }), []);
      });

      test("DAGs their file no longer defines become inactive, and active again when back", () => {
        store.upsertDag(dagSpec("one", undefined, { fileloc: "/dags/multi.ts" }), { parsedAt: T0 });
        store.upsertDag(dagSpec("two", undefined, { fileloc: "/dags/multi.ts" }), { parsedAt: T0 });
        store.upsertDag(dagSpec("other"), { parsedAt: T0 });
        assert.deepEqual(store.deactivateDags("/dags/multi.ts", ["one"]), ["two"]);
        assert.deepEqual(
          store.listDags().map((d) => d.dagId),
          ["one", "other"],
        );
        assert.equal(store.listDags({ includeInactive: true }).length, 3);
        assert.equal(store.getDag("two")?.isActive, false);
        const back = store.upsertDag(dagSpec("two", undefined, { fileloc: "/dags/multi.ts" }), {
          parsedAt: at(5),
        });
        assert.equal(back.changed, true);
        assert.equal(back.dag.isActive, true);
        assert.deepEqual(store.deactivateDags("/dags/multi.ts", []), ["one", "two"]);
      });

      test("a spec without a file is refused", () => {
        assert.throws(
          () => store.upsertDag(dagSpec("x", undefined, { fileloc: null }), { parsedAt: T0 }),
          StoreInputError,
        );
      });
    });

    test("import errors: one per file, replaced by the latest, cleared when the file loads", () => {
      store.setImportError("/dags/b.ts", "syntax error at line 3", T0);
      store.setImportError("/dags/a.ts", "exports no DAG", T0);
      store.setImportError("/dags/b.ts", "the module threw Error: boom", at(30));
      assert.deepEqual(store.listImportErrors(), [
        { file: "/dags/a.ts", message: "exports no DAG", at: T0 },
        { file: "/dags/b.ts", message: "the module threw Error: boom", at: at(30) },
      ]);
      assert.equal(store.clearImportError("/dags/a.ts"), true);
      assert.equal(store.clearImportError("/dags/a.ts"), false);
      assert.deepEqual(
        store.listImportErrors().map((e) => e.file),
        ["/dags/b.ts"],
      );
    });

    describe("runs", () => {
      test("a run is created with its task instances in state none", () => {
        const { run } = seedRun();
        assert.equal(run.state, "queued");
        assert.equal(run.runType, "manual");
        assert.deepEqual(run.conf, {});
        assert.deepEqual(run.createdAt, T0);
        assert.equal(run.startedAt, null);
        assert.deepEqual(store.getRun(run), run);
        const tis = store.listTaskInstances({ dagId: "d", runId: run.runId });
        assert.deepEqual(
          tis.map((t) => [t.taskId, t.state, t.tryNumber, t.maxTries, t.returnValue]),
          [
            ["a", "none", 0, 3, undefined],
            ["b", "none", 0, 1, undefined],
          ],
        );
      });

      test("a duplicate run id is refused; a second scheduled run for a logical date is refused", () => {
        const spec = dagSpec("d");
        store.upsertDag(spec, { parsedAt: T0 });
        const date = "2026-03-01T00:00:00Z";
        store.createRun(newRun(spec, date, "scheduled"));
        assert.throws(
          () => store.createRun(newRun(spec, date, "scheduled")),
          (e: unknown) => e instanceof DuplicateRunError && e.reason === "run_id",
        );
        assert.throws(
          () => store.createRun(newRun(spec, date, "scheduled", "scheduled__other")),
          (e: unknown) =>
            e instanceof DuplicateRunError &&
            e.reason === "scheduled_logical_date" &&
            /logical date/.test(e.message),
        );
        // A manual run for the same date is another matter (re-running by hand).
        store.createRun(newRun(spec, date, "manual"));
        store.createRun(newRun(spec, date, "manual", "manual__again"));
        assert.equal(store.listRuns({ dagId: "d" }).length, 3);
        assert.equal(
          store.listTaskInstances({ dagId: "d" }).length,
          6,
          "the refused runs left no task instance",
        );
        // Several runs' task instances in one call, in run then creation order; none for no run.
        const some = store.listTaskInstances({ dagId: "d", runIds: ["manual__again", "nope"] });
        assert.equal(some.length, 2);
        assert.ok(some.every((t) => t.runId === "manual__again"));
        assert.deepEqual(store.listTaskInstances({ dagId: "d", runIds: [] }), []);
      });

      test("a run id that cannot name a log folder is refused; a run created running has a start", () => {
        const spec = dagSpec("d");
        store.upsertDag(spec, { parsedAt: T0 });
        for (const runId of ["../escape", "a/b", "", " x"])
          assert.throws(
            () => store.createRun(newRun(spec, "2026-03-01T00:00:00Z", "manual", runId)),
            StoreInputError,
            runId,
          );
        const run = store.createRun({ ...newRun(spec, "2026-03-01T00:00:00Z"), state: "running" }, at(5));
        assert.equal(run.state, "running");
        assert.deepEqual(run.startedAt, at(5));
      });

      test("a run of an unknown DAG is refused; a bad conf is refused", () => {
        assert.throws(
          () => store.createRun(newRun(dagSpec("ghost"), "2026-03-01T00:00:00Z")),
          RecordNotFoundError,
        );
        const spec = dagSpec("d");
        store.upsertDag(spec, { parsedAt: T0 });
        const bad = {
          ...newRun(spec, "2026-03-01T00:00:00Z"),
          conf: { when: new Date() as unknown as Json },
        };
        assert.throws(() => store.createRun(bad), StoreInputError);
        assert.deepEqual(store.listRuns(), []);
      });

      test("conf and data interval round-trip; listRuns filters and orders; lastLogicalDate", () => {
        const spec = dagSpec("d");
        store.upsertDag(spec, { parsedAt: T0 });
        store.upsertDag(dagSpec("e"), { parsedAt: T0 });
        const conf = { rows: 5, path: "data/x.csv", nested: { list: [1, null, "x"] } };
        const s1 = {
          ...newRun(spec, "2026-03-01T00:00:00Z", "scheduled"),
          dataInterval: { start: new Date("2026-03-01T00:00:00Z"), end: new Date("2026-03-01T00:02:00Z") },
        };
        store.createRun(s1);
        store.createRun(newRun(spec, "2026-03-01T00:02:00Z", "scheduled"));
        store.createRun({ ...newRun(spec, "2026-03-05T00:00:00Z", "manual"), conf });
        store.createRun(newRun(dagSpec("e"), "2026-03-02T00:00:00Z", "scheduled"));
        assert.deepEqual(store.getRun(s1)?.dataInterval, s1.dataInterval);
        assert.deepEqual(store.getRun({ dagId: "d", runId: "manual__20260305-000000" })?.conf, conf);
        assert.deepEqual(
          store.listRuns({ dagId: "d" }).map((r) => r.runId),
          ["manual__20260305-000000", "scheduled__20260301-000200", "scheduled__20260301-000000"],
        );
        assert.deepEqual(
          store.listRuns({ dagId: "d", runType: "scheduled", order: "oldest", limit: 1 }).map((r) => r.runId),
          ["scheduled__20260301-000000"],
        );
        assert.equal(store.listRuns().length, 4);
        assert.deepEqual(store.listRuns({ states: [] }), []);
        assert.deepEqual(
          store.lastLogicalDate("d"),
          new Date("2026-03-01T00:02:00Z"),
          "manual runs do not count",
        );
        assert.deepEqual(store.lastLogicalDate("d", "manual"), new Date("2026-03-05T00:00:00Z"));
        assert.equal(store.lastLogicalDate("nope"), null);
      });

      test("run states: compare-and-set, timestamps, illegal moves refused", () => {
        const { run } = seedRun();
        clock = at(10);
        assert.equal(store.setRunState(run, "queued", "running"), true);
        assert.equal(store.setRunState(run, "queued", "running"), false, "no longer queued");
        assert.deepEqual(store.getRun(run)?.startedAt, at(10));
        assert.throws(() => store.setRunState(run, "running", "queued"), IllegalTransitionError);
        assert.throws(() => store.setRunState(run, "success", "running"), IllegalTransitionError);
        assert.equal(store.setRunState(run, "running", "success", at(20)), true);
        const done = store.getRun(run);
        assert.equal(done?.state, "success");
        assert.deepEqual(done?.endedAt, at(20));
        assert.throws(
          () => store.setRunState({ dagId: "d", runId: "nope" }, "queued", "running"),
          RecordNotFoundError,
        );
        assert.deepEqual(
          store.listRuns({ states: ["success"] }).map((r) => r.runId),
          [run.runId],
        );
      });
    });

    describe("task instances", () => {
      test("compare-and-set: only one of two claims succeeds", () => {
        const { a } = seedRun();
        assert.equal(store.setTaskState(a, "none", "scheduled"), true);
        assert.equal(store.setTaskState(a, "scheduled", "queued"), true);
        assert.equal(store.setTaskState(a, "queued", "running", { pid: 111, hostname: "h1" }), true);
        assert.equal(store.setTaskState(a, "queued", "running", { pid: 222, hostname: "h2" }), false);
        const ti = store.getTaskInstance(a);
        assert.equal(ti?.state, "running");
        assert.equal(ti?.pid, 111, "the loser changed nothing");
        assert.equal(ti?.hostname, "h1");
        assert.equal(ti?.tryNumber, 1);
      });

      test("the scheduler that queued a task instance is recorded, kept while it runs, replaced by the next queue", () => {
        const { a } = seedRun();
        assert.equal(store.getTaskInstance(a)?.queuedBy, null);
        store.setTaskState(a, "none", "scheduled");
        store.setTaskState(a, "scheduled", "queued", { queuedBy: "h1:10:1000" });
        assert.equal(store.getTaskInstance(a)?.queuedBy, "h1:10:1000");
        store.setTaskState(a, "queued", "running", { pid: 5, hostname: "h1" });
        assert.equal(store.getTaskInstance(a)?.queuedBy, "h1:10:1000", "the owner of the running try");
        store.setTaskState(a, "running", "up_for_retry");
        store.setTaskState(a, "up_for_retry", "scheduled");
        store.setTaskState(a, "scheduled", "queued", { queuedBy: "h2:20:2000" });
        assert.equal(store.getTaskInstance(a)?.queuedBy, "h2:20:2000");
      });

      test("illegal transitions are refused whatever the current state, and change nothing", () => {
        const { a } = seedRun();
        assert.throws(() => store.setTaskState(a, "none", "running"), IllegalTransitionError);
        assert.throws(() => store.setTaskState(a, "success", "running"), IllegalTransitionError);
        assert.throws(() => store.setTaskState(a, "none", "none"), IllegalTransitionError);
        assert.equal(store.getTaskInstance(a)?.state, "none");
        assert.throws(
          () => store.setTaskState({ ...a, taskId: "nope" }, "none", "scheduled"),
          RecordNotFoundError,
        );
      });

      test("a try: timestamps, pid, log path; failure with retry; the next try clears the last one's fields", () => {
        const { a } = seedRun();
        store.setTaskState(a, "none", "scheduled", {}, at(1));
        store.setTaskState(a, "scheduled", "queued", {}, at(2));
        store.setTaskState(
          a,
          "queued",
          "running",
          { pid: 42, hostname: "box", logPath: "/logs/1.log" },
          at(3),
        );
        let ti = store.getTaskInstance(a);
        assert.deepEqual(ti?.queuedAt, at(2));
        assert.deepEqual(ti?.startedAt, at(3));
        assert.equal(ti?.endedAt, null);
        assert.equal(ti?.logPath, "/logs/1.log");
        assert.deepEqual(ti?.updatedAt, at(3));

        store.setTaskState(
          a,
          "running",
          "up_for_retry",
          { error: "Error: boom", nextRetryAt: at(40) },
          at(10),
        );
        ti = store.getTaskInstance(a);
        assert.equal(ti?.state, "up_for_retry");
        assert.deepEqual(ti?.endedAt, at(10));
        assert.deepEqual(ti?.nextRetryAt, at(40));
        assert.equal(ti?.error, "Error: boom");
        assert.deepEqual(
          store.listTaskInstances({ states: ["up_for_retry"] }).map((t) => t.taskId),
          ["a"],
        );

        store.setTaskState(a, "up_for_retry", "scheduled", {}, at(40));
        assert.equal(store.getTaskInstance(a)?.nextRetryAt, null);
        store.setTaskState(a, "scheduled", "queued", {}, at(41));
        store.setTaskState(
          a,
          "queued",
          "running",
          { pid: 43, hostname: "box", logPath: "/logs/2.log" },
          at(42),
        );
        ti = store.getTaskInstance(a);
        assert.equal(ti?.tryNumber, 2);
        assert.equal(ti?.error, null);
        assert.equal(ti?.endedAt, null);
        assert.equal(ti?.pid, 43);
        store.setTaskState(a, "running", "success", { returnValue: "data/f.parquet" }, at(50));

        assert.deepEqual(
          store
            .listTries(a)
            .map((t) => [t.tryNumber, t.state, t.pid, t.startedAt, t.endedAt, t.error, t.logPath]),
          [
            [1, "up_for_retry", 42, at(3), at(10), "Error: boom", "/logs/1.log"],
            [2, "success", 43, at(42), at(50), null, "/logs/2.log"],
          ],
        );
      });

      test("return values (xcom) round-trip, JSON null included; only tasks with a value are listed", () => {
        const { run, a, b } = seedRun();
        const value = { path: "data/features.parquet", rows: 1234, ok: true, tags: ["x", null], ratio: 0.25 };
        for (const k of [a, b]) {
          store.setTaskState(k, "none", "scheduled");
          store.setTaskState(k, "scheduled", "queued");
          store.setTaskState(k, "queued", "running");
        }
        assert.deepEqual(store.xcoms(run), {});
        store.setTaskState(a, "running", "success", { returnValue: value });
        assert.deepEqual(store.getTaskInstance(a)?.returnValue, value);
        assert.deepEqual(store.xcoms(run), { a: value });
        store.setTaskState(b, "running", "success", { returnValue: null });
        assert.deepEqual(store.xcoms(run), { a: value, b: null });
        assert.equal(store.getTaskInstance(b)?.returnValue, null);
      });

      test("a return value that is not plain JSON is refused", () => {
        const { a } = seedRun();
        store.setTaskState(a, "none", "scheduled");
        store.setTaskState(a, "scheduled", "queued");
        store.setTaskState(a, "queued", "running");
        assert.throws(
          () =>
            store.setTaskState(a, "running", "success", {
              returnValue: { at: new Date() } as unknown as Json,
            }),
          StoreInputError,
        );
        assert.equal(store.getTaskInstance(a)?.state, "running");
      });

      test("records are copies", () => {
        const { a, run } = seedRun();
        const ti = store.getTaskInstance(a) as { state: string };
        ti.state = "success";
        assert.equal(store.getTaskInstance(a)?.state, "none");
        const r = store.getRun(run) as { conf: Record<string, unknown> };
        r.conf.x = 1;
        assert.deepEqual(store.getRun(run)?.conf, {});
      });

      test("addTaskInstances adds the missing ones only", () => {
        const { run } = seedRun();
        assert.equal(
          store.addTaskInstances(run, [
            { taskId: "a", maxTries: 1 },
            { taskId: "c", maxTries: 2 },
          ]),
          1,
        );
        assert.deepEqual(
          store.listTaskInstances(run).map((t) => t.taskId),
          ["a", "b", "c"],
        );
        assert.throws(() => store.addTaskInstances({ dagId: "d", runId: "nope" }, []), RecordNotFoundError);
      });
    });

    describe("moves by hand (clear, mark, stop) and heartbeats", () => {
      /** Runs `a` to its first try, running as process 42. */
      const runA = (a: TaskInstanceKey) => {
        store.setTaskState(a, "none", "scheduled");
        store.setTaskState(a, "scheduled", "queued", { queuedBy: "h:1:1" });
        clock = at(10);
        store.setTaskState(a, "queued", "running", { pid: 42, hostname: "h", logPath: "/logs/a/1.log" });
      };

      test("stop: running -> failed ends the try with the reason and records who; the process's own end then changes nothing", () => {
        const { a } = seedRun();
        runA(a);
        clock = at(20);
        assert.equal(
          store.setTaskStateByHand(a, "running", "failed", { by: "alice", reason: "stopped by alice" }),
          true,
        );
        const ti = store.getTaskInstance(a);
        assert.equal(ti?.state, "failed");
        assert.equal(ti?.setBy, "alice");
        assert.equal(ti?.error, "stopped by alice");
        assert.deepEqual(ti?.endedAt, at(20));
        assert.deepEqual(
          store.listTries(a).map((t) => [t.tryNumber, t.state, t.error, t.endedAt?.toISOString()]),
          [[1, "failed", "stopped by alice", at(20).toISOString()]],
        );
        // The killed process tries to record its end: compare-and-set from running fails.
        assert.equal(store.setTaskState(a, "running", "success"), false);
        assert.equal(store.getTaskInstance(a)?.state, "failed");
      });

      test("clear: back to none with the try fields cleared, try number and history kept, max tries raised", () => {
        const { a } = seedRun();
        runA(a);
        store.setTaskState(a, "running", "success", { returnValue: { rows: 3 } });
        assert.equal(store.setTaskStateByHand(a, "success", "none", { by: "bob", maxTries: 4 }), true);
        const ti = store.getTaskInstance(a);
        assert.equal(ti?.state, "none");
        assert.equal(ti?.tryNumber, 1, "the next try is number 2");
        assert.equal(ti?.maxTries, 4);
        assert.equal(ti?.setBy, "bob");
        for (const field of [
          "pid",
          "hostname",
          "queuedAt",
          "queuedBy",
          "startedAt",
          "endedAt",
          "error",
          "logPath",
        ] as const)
          assert.equal(ti?.[field], null, field);
        assert.equal(ti?.returnValue, undefined);
        assert.deepEqual(store.xcoms({ dagId: a.dagId, runId: a.runId }), {});
        assert.equal(store.listTries(a).length, 1, "the history stays");
        // The engine moves it again: setBy is the engine's (null) from then on, and the next try is number 2.
        store.setTaskState(a, "none", "scheduled");
        assert.equal(store.getTaskInstance(a)?.setBy, null);
        store.setTaskState(a, "scheduled", "queued");
        store.setTaskState(a, "queued", "running", { pid: 43, hostname: "h" });
        assert.deepEqual(
          store.listTries(a).map((t) => t.tryNumber),
          [1, 2],
        );
      });

      test("clearing a running try ends its record as failed with the reason", () => {
        const { a } = seedRun();
        runA(a);
        store.setTaskStateByHand(a, "running", "none", { by: "bob" });
        assert.deepEqual(
          store.listTries(a).map((t) => [t.state, t.error]),
          [["failed", "cleared by bob"]],
        );
      });

      test("mark success / failed from a waiting or finished state; refused moves change nothing", () => {
        const { a, b } = seedRun();
        assert.equal(store.setTaskStateByHand(b, "none", "success", { by: "carol" }), true);
        assert.equal(store.getTaskInstance(b)?.error, null);
        assert.equal(store.setTaskStateByHand(b, "success", "failed", { by: "carol" }), true);
        assert.equal(store.getTaskInstance(b)?.error, "marked failed by carol");
        assert.equal(store.listTries(b).length, 0, "no try was run");
        assert.equal(
          store.setTaskStateByHand(a, "success", "failed", { by: "carol" }),
          false,
          "a is not success",
        );
        assert.throws(
          () => store.setTaskStateByHand(b, "failed", "running", { by: "carol" }),
          IllegalTransitionError,
        );
        assert.throws(
          () => store.setTaskStateByHand(b, "failed", "none", { by: "carol", maxTries: 0 }),
          StoreInputError,
        );
        assert.equal(store.getTaskInstance(b)?.state, "failed");
        assert.throws(
          () => store.setTaskStateByHand({ ...b, taskId: "zz" }, "none", "success", { by: "c" }),
          RecordNotFoundError,
        );
      });

      test("a finished run is queued again by hand, its end cleared; a running one is not", () => {
        const { run } = seedRun();
        store.setRunState(run, "queued", "running", at(1));
        store.setRunState(run, "running", "failed", at(2));
        assert.throws(() => store.setRunStateByHand(run, "running", "queued"), IllegalTransitionError);
        assert.equal(store.setRunStateByHand(run, "success", "queued"), false, "not success");
        assert.equal(store.setRunStateByHand(run, "failed", "queued"), true);
        const r = store.getRun(run);
        assert.equal(r?.state, "queued");
        assert.equal(r?.endedAt, null);
        assert.deepEqual(r?.startedAt, at(1));
      });

      test("heartbeats: recorded for the running try only", () => {
        const { a } = seedRun();
        assert.equal(store.recordTaskHeartbeat(a, 1, at(5)), false, "not running");
        runA(a);
        assert.equal(store.getTaskInstance(a)?.heartbeatAt, null);
        assert.equal(store.recordTaskHeartbeat(a, 2, at(15)), false, "another try");
        assert.equal(store.recordTaskHeartbeat(a, 1, at(15)), true);
        assert.deepEqual(store.getTaskInstance(a)?.heartbeatAt, at(15));
      });
    });

    test("atomically: everything or nothing", () => {
      const { a, b } = seedRun();
      assert.throws(() =>
        store.atomically(() => {
          store.setTaskState(a, "none", "scheduled");
          store.setTaskState(b, "none", "running"); // illegal: the whole block is undone
        }),
      );
      assert.equal(store.getTaskInstance(a)?.state, "none");
      const n = store.atomically(() => {
        store.setTaskState(a, "none", "scheduled");
        store.setTaskState(b, "none", "upstream_failed");
        return 2;
      });
      assert.equal(n, 2);
      assert.equal(store.getTaskInstance(b)?.state, "upstream_failed");
    });

    test("users: create, duplicate refused, bad role refused, list, delete", () => {
      const u = store.createUser({ username: "ada", passwordHash: "scrypt$x$y", role: "admin" }, T0);
      assert.deepEqual(u, {
        username: "ada",
        passwordHash: "scrypt$x$y",
        role: "admin",
        createdAt: T0,
        passwordChangedAt: null,
      });
      assert.throws(
        () => store.createUser({ username: "ada", passwordHash: "h", role: "viewer" }),
        DuplicateUserError,
      );
      assert.throws(
        () => store.createUser({ username: "bob", passwordHash: "h", role: "root" as "admin" }),
        StoreInputError,
      );
      store.createUser({ username: "alan", passwordHash: "h", role: "viewer" });
      assert.deepEqual(
        store.listUsers().map((x) => x.username),
        ["ada", "alan"],
      );
      assert.deepEqual(store.getUser("ada"), u);
      assert.equal(store.deleteUser("ada"), true);
      assert.equal(store.getUser("ada"), undefined);
    });

    test("users: a new password replaces the hash and records when", () => {
      store.createUser({ username: "ada", passwordHash: "old", role: "admin" }, T0);
      const later = new Date(T0.getTime() + 60_000);
      assert.equal(store.setUserPassword("ada", "new", later), true);
      const u = store.getUser("ada");
      assert.equal(u?.passwordHash, "new");
      assert.deepEqual(u?.passwordChangedAt, later);
      assert.equal(store.setUserPassword("nobody", "x"), false);
    });

    test("scheduler jobs: heartbeats update one job; a clean end is recorded; latest first", () => {
      const a = { hostname: "h1", pid: 10, startedAt: T0 };
      const b = { hostname: "h1", pid: 11, startedAt: new Date(T0.getTime() + 1000) };
      store.recordSchedulerHeartbeat(a, new Date(T0.getTime() + 5000));
      store.recordSchedulerHeartbeat(b, new Date(T0.getTime() + 6000));
      store.recordSchedulerHeartbeat(a, new Date(T0.getTime() + 7000));
      const jobs = store.listSchedulerJobs();
      assert.deepEqual(
        jobs.map((j) => [j.pid, j.latestHeartbeat.getTime() - T0.getTime(), j.endedAt]),
        [
          [10, 7000, null],
          [11, 6000, null],
        ],
      );
      store.recordSchedulerHeartbeat(b, new Date(T0.getTime() + 8000), true);
      const ended = store.listSchedulerJobs(1)[0];
      assert.equal(ended?.pid, 11);
      assert.deepEqual(ended?.endedAt, new Date(T0.getTime() + 8000));
      // A scheduler of one run is told apart from the home's.
      const c = { hostname: "h2", pid: 12, startedAt: T0, kind: "run" as const };
      store.recordSchedulerHeartbeat(c, new Date(T0.getTime() + 9000));
      assert.deepEqual(
        store.listSchedulerJobs().map((j) => [j.pid, j.kind]),
        [
          [12, "run"],
          [11, "home"],
          [10, "home"],
        ],
      );
      assert.deepEqual(
        store.listSchedulerJobs(10, "home").map((j) => j.pid),
        [11, 10],
      );
      assert.deepEqual(
        store.listSchedulerJobs(10, "run").map((j) => j.pid),
        [12],
      );
    });
  });
}
