/**
 * The contract of `TaskExecutor` (src/orchestration/executor/executor.ts, docs/adr/0007-executor-seam.md):
 * one suite, run against every implementation (as tests/store-contract.test.ts does for stores), with real
 * task processes on the fixture DAG `tests/fixtures/dags/executor.ts` and a real SQLite store. A distributed
 * executor joins `IMPLEMENTATIONS` and must pass the same suite. Then the scheduler driven through an
 * executor it is given (a recording wrapper around the local one).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { hostname as osHostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { Queue } from "bullmq";
import { loadConfig, type WindflowConfig } from "../src/config.js";
import {
  BullmqExecutor,
  connectionOptions,
  type TryJobResult,
  tryJobId,
} from "../src/orchestration/executor/bullmq.js";
import { startWorker } from "../src/orchestration/executor/bullmq-worker.js";
import type {
  AdoptVerdict,
  ExecutorEvent,
  StartedTask,
  TaskExecutor,
  TryToAdopt,
  TryToStart,
} from "../src/orchestration/executor/executor.js";
import { LocalExecutor } from "../src/orchestration/executor/local.js";
import { WarmExecutor } from "../src/orchestration/executor/warm-executor.js";
import { syncDagFolder } from "../src/orchestration/scheduler/dag-processor.js";
import { setDagPaused, triggerDag } from "../src/orchestration/scheduler/trigger.js";
import { runTasksOf } from "../src/orchestration/store/index.js";
import type { TaskInstanceKey } from "../src/orchestration/store/store.js";
import { startRedis } from "./helpers/redis.js";
import { ROOT, type SchedulerEnv, schedulerEnv, until } from "./helpers/scheduler-env.js";

const DAG = "fixture_executor";
const RUN = "manual__20260301-000000";
const LOGICAL = new Date("2026-03-01T00:00:00Z");

/** An executor under test, and what differs in how its runners are seen (processes here, jobs on a queue). */
interface Implementation {
  name: string;
  make: (config: WindflowConfig) => TaskExecutor;
  /** Once for the suite (a Redis server): returns the settings of each test's home, and the teardown. */
  suite?: () => Promise<{ settings: () => Record<string, string>; stop: () => Promise<void> }>;
  /** For each test, once its home is seeded (a worker): returns the teardown, run after the executors closed. */
  perTest?: (config: WindflowConfig) => Promise<(made: TaskExecutor[]) => Promise<void>>;
  /** The run's conf (`nap` lasts `napMs`). */
  conf?: Record<string, number>;
  /** The adopt scenario's first verdicts, for a fresh executor `x` offered the running try `running`; returns the offer it adopts. */
  adoptChecks: (x: TaskExecutor, running: TryToAdopt) => Promise<TryToAdopt>;
  /** Waits until the runner of `started` is gone after `close({ kill: true })`. */
  runnerGone: (e: SchedulerEnv, started: StartedTask) => Promise<unknown>;
}

/** Local runners: adopted by pid on this machine, another machine's left alone. */
async function localAdoptChecks(x: TaskExecutor, running: TryToAdopt): Promise<TryToAdopt> {
  const offer = (over: Partial<TryToAdopt>): TryToAdopt => ({ ...running, ...over });
  assert.equal(x.adopt(offer({ hostname: "another-machine" })), "elsewhere");
  assert.equal(x.has(running), false);
  assert.equal(x.adopt(offer({ pid: null })), "lost");
  return offer({ hostname: osHostname() });
}

/** A local runner is gone when its process is. */
function processGone(_e: SchedulerEnv, started: StartedTask) {
  const pid = started.pid;
  assert.ok(pid !== null);
  return until("the killed runner gone", () => {
    try {
      process.kill(pid, 0);
      return undefined;
    } catch {
      return true;
    }
  });
}

let queues = 0;

/** The BullMQ executor on a real redis-server with one in-process `windflow worker`, in either mode. */
function bullmqImplementation(storeFree: boolean): Implementation {
  const workerHomes: string[] = [];
  return {
    name: storeFree
      ? "BullmqExecutor store-free (shared_home = false; the worker's home an empty folder of its own)"
      : "BullmqExecutor (a real redis-server, one windflow worker)",
    make: (config) => new BullmqExecutor({ config, checkIntervalMs: 500 }),
    suite: async () => {
      const redis = await startRedis();
      return {
        // A queue of its own for each test: nothing of one test reaches the next.
        settings: () => ({
          WINDFLOW__BULLMQ__REDIS_URL: redis.url,
          WINDFLOW__BULLMQ__QUEUE: `contract${++queues}`,
          WINDFLOW__BULLMQ__SHARED_HOME: String(!storeFree),
        }),
        stop: async () => {
          await redis.stop();
          for (const home of workerHomes) {
            assert.deepEqual(readdirSync(home), [], "the store-free worker's home stays empty");
            rmSync(home, { recursive: true, force: true });
          }
        },
      };
    },
    perTest: async (config) => {
      let workerConfig = config;
      if (storeFree) {
        const home = mkdtempSync(join(tmpdir(), "windflow-worker-home-"));
        workerHomes.push(home);
        workerConfig = loadConfig({ env: { ...config.env, WINDFLOW_HOME: home }, root: ROOT });
      }
      const worker = await startWorker({ config: workerConfig, concurrency: 2, log: () => {} });
      return async (made) => {
        for (const x of made) await (x as BullmqExecutor).whenClosed();
        await worker.stop();
      };
    },
    // Adoption reads the queue (a round trip): the adopted try outlasts it on a loaded machine.
    conf: { napMs: 8000 },
    adoptChecks: async (x, running) => {
      const b = x as BullmqExecutor;
      assert.equal(x.adopt({ ...running, taskId: "produce" }), "elsewhere", "before the queue was read");
      await b.nextCheck();
      assert.equal(x.adopt({ ...running, taskId: "produce" }), "lost", "no live job of it");
      assert.equal(x.has({ ...running, taskId: "produce" }), false);
      return running;
    },
    // The worker stops the try (SIGTERM): with a shared home, the try records its end; store-free, nobody
    // watches any more (the executor closed): its job ends with the outcome the try reported.
    runnerGone: storeFree
      ? async (e, started) => {
          const queue = new Queue(e.config.bullmq.queue, {
            connection: connectionOptions(e.config.bullmq.redis_url),
          });
          try {
            const deadline = Date.now() + 60_000;
            for (;;) {
              // The state first, then the job: a job read while active has no return value yet.
              if ((await queue.getJobState(tryJobId(started, 1))) === "completed") {
                const job = await queue.getJob(tryJobId(started, 1));
                const result = job?.returnvalue as TryJobResult;
                assert.equal(result.report?.outcome, "failed");
                assert.equal(result.report?.error?.name, "TaskKilledError");
                return;
              }
              assert.ok(Date.now() < deadline, "the cancelled try's job did not end");
              await new Promise((r) => setTimeout(r, 100));
            }
          } finally {
            await queue.close();
          }
        }
      : (e, started) =>
          until("the cancelled try ended", () =>
            e.store.getTaskInstance(started)?.state === "up_for_retry" ? true : undefined,
          ),
  };
}

const IMPLEMENTATIONS: Implementation[] = [
  {
    name: "LocalExecutor",
    make: (config) => new LocalExecutor({ config }),
    adoptChecks: localAdoptChecks,
    runnerGone: processGone,
  },
  {
    name: "WarmExecutor (1 warm process)",
    make: (config) => new WarmExecutor({ config, size: 1 }),
    adoptChecks: localAdoptChecks,
    runnerGone: processGone,
  },
  bullmqImplementation(false),
  bullmqImplementation(true),
];

const homes: SchedulerEnv[] = [];
after(() => {
  for (const h of homes) h.cleanup();
});

/** A home with the executor fixture DAG and one manual run of it. */
async function seeded(
  settings: Record<string, string> = {},
  conf: Record<string, number> = {},
): Promise<SchedulerEnv> {
  const e = schedulerEnv({ WINDFLOW__CORE__KILLED_TASK_CLEANUP_TIME: "500ms", ...settings });
  homes.push(e);
  e.install("executor.ts");
  const summary = await syncDagFolder(e.config, e.store);
  assert.deepEqual(summary.errors, []);
  const dag = e.store.getDag(DAG);
  assert.ok(dag);
  e.store.createRun({
    dagId: DAG,
    runId: RUN,
    runType: "manual",
    logicalDate: LOGICAL,
    dataInterval: { start: LOGICAL, end: LOGICAL },
    conf,
    tasks: runTasksOf(dag.spec),
  });
  return e;
}

const key = (taskId: string): TaskInstanceKey => ({ dagId: DAG, runId: RUN, taskId });

/** Moves a task instance to queued, as the scheduler does before `start`. */
function queue(e: SchedulerEnv, taskId: string) {
  const k = key(taskId);
  assert.equal(e.store.setTaskState(k, "none", "scheduled"), true);
  assert.equal(e.store.setTaskState(k, "scheduled", "queued"), true);
  const ti = e.store.getTaskInstance(k);
  assert.ok(ti);
  return ti;
}

/** Waits for the next events, woken by the executor's listener (a deadline, never a bare sleep). */
async function nextEvents(x: TaskExecutor, want: number, timeoutMs = 60_000): Promise<ExecutorEvent[]> {
  const out: ExecutorEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  let wake: (() => void) | undefined;
  const unsubscribe = x.subscribe(() => wake?.());
  try {
    for (;;) {
      out.push(...x.poll());
      if (out.length >= want) return out;
      assert.ok(Date.now() < deadline, `only ${out.length} of ${want} events within ${timeoutMs} ms`);
      // Adopted processes are not our children: their end is seen by `poll`, so poll again now and then.
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 200);
      });
    }
  } finally {
    unsubscribe();
  }
}

for (const impl of IMPLEMENTATIONS) {
  describe(`TaskExecutor contract: ${impl.name}`, () => {
    let e: SchedulerEnv;
    const made: TaskExecutor[] = [];
    const make = () => {
      const x = impl.make(e.config);
      made.push(x);
      return x;
    };
    let suite: { settings: () => Record<string, string>; stop: () => Promise<void> } | undefined;
    let teardown: ((made: TaskExecutor[]) => Promise<void>) | undefined;
    before(async () => {
      suite = await impl.suite?.();
    });
    after(async () => {
      await suite?.stop();
    });
    beforeEach(async () => {
      e = await seeded(suite?.settings() ?? {}, impl.conf ?? {});
      teardown = await impl.perTest?.(e.config);
    });
    afterEach(async () => {
      const closed = made.splice(0);
      for (const x of closed) x.close({ kill: true });
      await teardown?.(closed);
      teardown = undefined;
    });

    test("one runner per start; its end is one event, from one poll; has() until then; listeners told", async () => {
      const x = make();
      let told = 0;
      const unsubscribe = x.subscribe(() => told++);
      const ti = queue(e, "produce");
      const started = x.start(ti);
      assert.deepEqual([started.dagId, started.runId, started.taskId], [DAG, RUN, "produce"]);
      assert.match(started.logPath, /attempt=1\.log$/);
      assert.equal(x.has(ti), true);
      assert.equal(x.running, 1);
      assert.throws(() => x.start(ti), /has a process already/, "a second start of a watched task instance");
      const [event, ...more] = await nextEvents(x, 1);
      unsubscribe();
      assert.deepEqual(more, []);
      assert.ok(event);
      assert.equal(event.taskId, "produce");
      assert.equal(event.exitCode, 0);
      assert.equal(event.killedBy, null);
      assert.equal(event.adopted, false);
      assert.ok(told >= 1, "the listener was called when the runner ended");
      assert.equal(x.has(ti), false);
      assert.equal(x.running, 0);
      assert.deepEqual(x.poll(), [], "each event once");
      const after = e.store.getTaskInstance(key("produce"));
      assert.equal(after?.state, "success");
      assert.equal(after?.tryNumber, 1, "exactly one try ran");
    });

    test("kill: false when nothing is watched; else the try stops, its event says killedBy kill", async () => {
      const x = make();
      assert.equal(x.kill(key("sleepy")), false);
      const ti = queue(e, "sleepy");
      x.start(ti);
      await until("sleepy running", () =>
        e.store.getTaskInstance(key("sleepy"))?.state === "running" ? true : undefined,
      );
      assert.equal(x.kill(ti), true);
      const [event] = await nextEvents(x, 1);
      assert.equal(event?.killedBy, "kill");
      assert.equal(x.has(ti), false);
      // The try was asked to stop (SIGTERM): it recorded a retryable TaskKilledError itself.
      const after = e.store.getTaskInstance(key("sleepy"));
      assert.equal(after?.state, "up_for_retry");
      assert.match(after?.error ?? "", /TaskKilledError/);
    });

    test("adopt: a live runner of this machine is adopted, a dead one is lost, another machine's elsewhere", async () => {
      // Another executor (a scheduler that then dies) starts the try.
      const first = make();
      const ti = queue(e, "nap");
      const started = first.start(ti);
      const running = await until("nap running", () => {
        const r = e.store.getTaskInstance(key("nap"));
        return r?.state === "running" ? r : undefined;
      });
      if (started.pid !== null) assert.equal(running.pid, started.pid);
      first.close();

      const x = make();
      const adoptable = await impl.adoptChecks(x, running);
      assert.equal(x.has(ti), false);
      assert.equal(x.adopt(adoptable), "adopted");
      assert.equal(x.has(ti), true);
      const [event] = await nextEvents(x, 1);
      assert.equal(event?.adopted, true);
      assert.equal(event?.taskId, "nap");
      assert.equal(x.has(ti), false);
      assert.equal(e.store.getTaskInstance(key("nap"))?.state, "success", "the adopted try recorded its end");
    });

    test("close: no event after it; with kill, the runners end", async () => {
      const x = make();
      const ti = queue(e, "sleepy");
      const started = x.start(ti);
      await until("sleepy running", () =>
        e.store.getTaskInstance(key("sleepy"))?.state === "running" ? true : undefined,
      );
      x.close({ kill: true });
      assert.equal(x.running, 0);
      assert.equal(x.has(ti), false);
      assert.deepEqual(x.poll(), []);
      await impl.runnerGone(e, started);
    });
  });
}

/** Records what the scheduler asks of the executor it is given. */
class Recording implements TaskExecutor {
  readonly calls: string[] = [];
  closed = false;
  constructor(private readonly inner: TaskExecutor) {}
  get description() {
    return `recording ${this.inner.description}`;
  }
  get running() {
    return this.inner.running;
  }
  has(key: TaskInstanceKey) {
    return this.inner.has(key);
  }
  start(ti: TryToStart): StartedTask {
    this.calls.push(`start ${ti.taskId} try ${ti.tryNumber + 1}`);
    return this.inner.start(ti);
  }
  poll(): ExecutorEvent[] {
    const events = this.inner.poll();
    for (const ev of events) this.calls.push(`ended ${ev.taskId} ${ev.exitCode}`);
    return events;
  }
  subscribe(listener: () => void) {
    return this.inner.subscribe(listener);
  }
  kill(key: TaskInstanceKey) {
    this.calls.push(`kill ${key.taskId}`);
    return this.inner.kill(key);
  }
  adopt(ti: TryToAdopt): AdoptVerdict {
    const verdict = this.inner.adopt(ti);
    this.calls.push(`adopt ${ti.taskId} ${verdict}`);
    return verdict;
  }
  close(options?: { kill?: boolean }) {
    this.closed = true;
    this.inner.close(options);
  }
}

describe("the scheduler through an executor it is given", () => {
  test("a three-task chain runs through the injected executor, which the scheduler does not close", async () => {
    const e = schedulerEnv();
    homes.push(e);
    e.install("scheduler-chain.ts");
    assert.deepEqual((await syncDagFolder(e.config, e.store)).errors, []);
    setDagPaused(e.store, "sched_chain", false);
    const { run } = triggerDag(e.store, "sched_chain", { conf: { label: "sum" } });
    const executor = new Recording(new LocalExecutor({ config: e.config }));
    try {
      const report = await e.runScheduler({ mode: "until-idle", executor });
      assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
      assert.equal(e.store.getRun(run)?.state, "success", e.lines.join("\n"));
      const tasks = e.store
        .listTaskInstances({ dagId: "sched_chain", runId: run.runId })
        .map((t) => t.taskId);
      assert.equal(tasks.length, 3);
      // Every try went through the given executor, in the chain's order, each start before its end (a
      // task's successor may start before its own process's exit is seen: the try records its end first).
      const starts = executor.calls.filter((c) => c.startsWith("start "));
      assert.deepEqual(
        starts,
        tasks.map((t) => `start ${t} try 1`),
      );
      for (const t of tasks)
        assert.ok(
          executor.calls.indexOf(`start ${t} try 1`) < executor.calls.indexOf(`ended ${t} 0`),
          executor.calls.join("\n"),
        );
      assert.equal(executor.calls.length, 6, executor.calls.join("\n"));
      assert.equal(report.tasksStarted, 3);
      assert.equal(executor.closed, false, "the caller's executor is the caller's to close");
      assert.ok(e.lines.some((l) => l.includes("executor recording local processes")));
    } finally {
      executor.close({ kill: true });
    }
  });
});
