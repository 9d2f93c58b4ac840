/**
 * The distributed executor end to end (docs/adr/0013-bullmq-executor.md), on a real `redis-server` started by
 * the test (127.0.0.1, a free port, AOF on, noeviction): the scheduler with `[core] executor = bullmq` and two
 * `windflow worker` processes run a three-task chain; the worker running the middle task is killed -9 mid-try,
 * and the try is retried on the other worker, never run twice at once; the surviving worker stops gracefully
 * on SIGTERM; a worker sent SIGTERM while two of its tries run takes no new try, lets both finish, then exits
 * (another worker runs the rest). Two `windflow scheduler` processes sharing the home and three workers run a fan-out and fan-in
 * three times: each try runs once, on one worker, and the tries are spread over several workers. And a worker
 * whose paths differ from the scheduler's refuses to start. Store-free (`[bullmq] shared_home = false`), the
 * workers' WINDFLOW_HOME an empty folder of their own that stays empty: a chain's states, return values and log
 * lines reach the scheduler's store and log files (a line is there while its try still runs), a failing try is
 * retried, and a worker killed -9 mid-try has its try retried on the other. (The executor contract suite runs
 * against `BullmqExecutor`, both modes, in tests/executor-contract.test.ts.)
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Queue } from "bullmq";
import { loadConfig } from "../src/config.js";
import {
  BullmqExecutor,
  connectionOptions,
  redisDoctor,
  type TryJobResult,
  tryJobId,
} from "../src/orchestration/executor/bullmq.js";
import { startWorker, WorkerSetupError } from "../src/orchestration/executor/bullmq-worker.js";
import { isProcessAlive } from "../src/orchestration/executor/local.js";
import { syncDagFolder } from "../src/orchestration/scheduler/dag-processor.js";
import { setDagPaused, triggerDag, wakeScheduler } from "../src/orchestration/scheduler/trigger.js";
import { deadPid } from "./helpers/pids.js";
import { freePort, type RedisServer, startRedis } from "./helpers/redis.js";
import { cli, HANG_GUARD_MS, ROOT, type SchedulerEnv, schedulerEnv, until } from "./helpers/scheduler-env.js";
import { type Spawned, spawnCli, spawnWorker } from "./helpers/spawn-cli.js";

let redis: RedisServer;
const homes: SchedulerEnv[] = [];
before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const h of homes) h.cleanup();
  await redis?.stop();
});

/** A home whose scheduler hands tries to the BullMQ queue `queue` of the test's Redis. */
function bullmqHome(queue: string, settings: Record<string, string> = {}): SchedulerEnv {
  const e = schedulerEnv({
    WINDFLOW__CORE__EXECUTOR: "bullmq",
    WINDFLOW__BULLMQ__REDIS_URL: redis.url,
    WINDFLOW__BULLMQ__QUEUE: queue,
    ...settings,
  });
  homes.push(e);
  return e;
}

/**
 * A worker's own WINDFLOW_HOME for store-free tests: an empty folder (which must stay empty: the worker never
 * touches a store or a log folder), removed at the end.
 */
function workerHome(): string {
  const dir = mkdtempSync(join(tmpdir(), "windflow-worker-home-"));
  workerHomes.push(dir);
  return dir;
}
const workerHomes: string[] = [];
after(() => {
  for (const dir of workerHomes) rmSync(dir, { recursive: true, force: true });
});

/**
 * A home whose scheduler hands tries to the queue `queue` (`settings` added), `fixture` installed and parsed,
 * and task `taskId` of a new manual run of `dagId` queued by hand: a try for an executor driven by the test.
 */
async function queuedTry(
  queue: string,
  fixture: string,
  dagId: string,
  taskId: string,
  settings: Record<string, string> = {},
) {
  const e = bullmqHome(queue, settings);
  e.install(fixture);
  assert.deepEqual((await syncDagFolder(e.config, e.store)).errors, []);
  const { run } = triggerDag(e.store, dagId);
  const key = { ...run, taskId };
  assert.equal(e.store.setTaskState(key, "none", "scheduled"), true);
  assert.equal(e.store.setTaskState(key, "scheduled", "queued"), true);
  const ti = e.store.getTaskInstance(key);
  assert.ok(ti);
  return { e, run, key, ti };
}

const STORE_FREE = { WINDFLOW__BULLMQ__SHARED_HOME: "false" };

/** A store-free worker in this process, its home an empty folder of its own. */
const storeFreeWorker = (e: SchedulerEnv, externalCommand?: readonly string[]) =>
  startWorker({
    config: loadConfig({ env: { ...e.env, WINDFLOW_HOME: workerHome() }, root: ROOT }),
    log: () => {},
    ...(externalCommand ? { externalCommand } : {}),
  });

describe("the BullMQ executor with windflow workers", () => {
  for (const storeFree of [false, true])
    test(`${storeFree ? "store-free: " : ""}a chain on two workers; the worker of the middle task killed -9: the try is retried on the other, never twice at once`, async () => {
      const e = bullmqHome(storeFree ? "chain-free" : "chain", {
        WINDFLOW__BULLMQ__CONCURRENCY: "1",
        // A killed worker's job is handed over after this (BullMQ's stalled-job check, by the other worker).
        WINDFLOW__BULLMQ__LOCK_DURATION: "3s",
        WINDFLOW__BULLMQ__SHARED_HOME: String(!storeFree),
      });
      e.install("bullmq-chain.ts");
      assert.deepEqual((await syncDagFolder(e.config, e.store)).errors, []);
      setDagPaused(e.store, "bullmq_chain", false);
      const { run } = triggerDag(e.store, "bullmq_chain");
      const homes = storeFree ? [workerHome(), workerHome()] : [undefined, undefined];
      const workers = [await spawnWorker(e, "a", homes[0]), await spawnWorker(e, "b", homes[1])];
      const scheduler = e.scheduler();
      const done = scheduler.run({ mode: "until-idle", timeoutMs: HANG_GUARD_MS });
      try {
        // fit's first try runs on one of the workers: kill that worker -9.
        const fitKey = { ...run, taskId: "fit" };
        const running = await until("fit running", () => {
          const ti = e.store.getTaskInstance(fitKey);
          return ti?.state === "running" ? ti : undefined;
        });
        assert.equal(running.tryNumber, 1);
        // Store-free, the try is claimed with the worker's own pid; else with the try process's.
        const victim = await until("the worker running fit", () =>
          workers.find((w) =>
            storeFree ? w.child.pid === running.pid : w.output().includes(`process ${running.pid}`),
          ),
        );
        const survivor = workers.find((w) => w !== victim);
        assert.ok(survivor);
        // Store-free, the try is claimed before its process starts: mid-try means once its function runs.
        if (storeFree)
          await until("fit's first try running its function", () =>
            e.marks(run.runId).some((l) => l.startsWith("fit 1 start")) ? true : undefined,
          );
        victim.child.kill("SIGKILL");
        await victim.exit;

        const report = await done;
        assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
        assert.equal(e.store.getRun(run)?.state, "success", e.lines.join("\n"));
        const fit = e.store.getTaskInstance(fitKey);
        assert.equal(fit?.state, "success");
        assert.equal(fit?.tryNumber, 2, "fit's first try was stopped with its worker, the second succeeded");
        assert.equal(e.store.getTaskInstance({ ...run, taskId: "report" })?.returnValue, "fitted 6");
        // Try 2 started after try 1 stopped (never twice at once), in another process; each task ran once more.
        const marks = e.marks(run.runId).map((l) => l.replace(/ \d+$/, ""));
        assert.deepEqual(
          marks,
          ["prepare 1 end", "fit 1 start", "fit 1 stopped", "fit 2 start", "fit 2 end", "report 1 end"],
          e.lines.join("\n"),
        );
        const fit2pid = e
          .marks(run.runId)
          .find((l) => l.startsWith("fit 2 start"))
          ?.split(" ")[3];
        assert.ok(survivor.output().includes(`process ${fit2pid}`), "try 2 ran on the surviving worker");

        if (storeFree) {
          // The lost try: recorded as such in the scheduler's log file of try 1; the workers' homes untouched.
          const log1 = readFileSync(e.store.listTries(fitKey)[0]?.logPath as string, "utf8");
          assert.match(log1, /\[windflow\] try 1 of 2: bullmq_chain\/fit/, log1);
          assert.match(log1, /reported no outcome/, log1);
          assert.match(log1, /without recording the end of the try: up_for_retry/, log1);
          for (const home of homes)
            assert.deepEqual(readdirSync(home as string), [], "the worker's home stays empty");
          // The dead worker's job was handed to the survivor, which asked for the claim and was refused.
          assert.match(
            survivor.output(),
            /fit \(run [^)]+\): not run: refused: the try was claimed by an earlier delivery/,
          );
        }
        // SIGTERM: the surviving worker stops gracefully.
        survivor.child.kill("SIGTERM");
        assert.equal(await survivor.exit, 0, survivor.output());
        assert.match(survivor.output(), /stopping: waiting for 0 running tries/);
      } finally {
        scheduler.stop("test end");
        await done.catch(() => {});
      }
    });

  for (const storeFree of [false, true])
    test(`${storeFree ? "store-free: " : ""}a try stuck in synchronous code whose worker is killed -9 is killed once its clean-up time is over; its retry starts after it, on the other worker`, async () => {
      const e = bullmqHome(storeFree ? "spin-free" : "spin", {
        WINDFLOW__BULLMQ__CONCURRENCY: "1",
        // The dead worker's job is handed over after about half of this; the watchdog kills after 1 s + 1 s.
        WINDFLOW__BULLMQ__LOCK_DURATION: "6s",
        WINDFLOW__CORE__KILLED_TASK_CLEANUP_TIME: "1s",
        WINDFLOW__BULLMQ__SHARED_HOME: String(!storeFree),
      });
      e.install("bullmq-spin.ts");
      assert.deepEqual((await syncDagFolder(e.config, e.store)).errors, []);
      setDagPaused(e.store, "bullmq_spin", false);
      const { run } = triggerDag(e.store, "bullmq_spin");
      const homes = storeFree ? [workerHome(), workerHome()] : [undefined, undefined];
      const workers = [await spawnWorker(e, "a", homes[0]), await spawnWorker(e, "b", homes[1])];
      const scheduler = e.scheduler();
      const done = scheduler.run({ mode: "until-idle", timeoutMs: HANG_GUARD_MS });
      let first = 0;
      try {
        first = await until("spin's first try looping", () => {
          const line = e.marks(run.runId).find((l) => l.startsWith("spin 1 start"));
          return line ? Number(line.split(" ")[3]) : undefined;
        });
        const victim = await until("the worker running it", () =>
          workers.find((w) => new RegExp(`\\bprocess ${first}\\b`).test(w.output()) || w.child.pid === first),
        );
        victim.child.kill("SIGKILL");
        await victim.exit;
        // Its stdin closed, but the loop never lets it see that: the watchdog thread kills it (1 s + 1 s).
        await until("the stuck try's process to end", () => (isProcessAlive(first) ? undefined : true));
        const report = await done;
        assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
        assert.equal(e.store.getRun(run)?.state, "success", e.lines.join("\n"));
        const spin = e.store.getTaskInstance({ ...run, taskId: "spin" });
        assert.deepEqual([spin?.state, spin?.tryNumber, spin?.returnValue], ["success", 2, "try 2"]);
        const second = e.marks(run.runId).find((l) => l.startsWith("spin 2 start"));
        assert.match(second ?? "", /first-alive=false$/, "never twice at once: the first try was gone");
      } finally {
        scheduler.stop("test end");
        await done.catch(() => {});
        for (const w of workers) w.child.kill("SIGTERM");
        // Should the watchdog fail, the spinning process must not keep a core busy for the tests that follow.
        if (first > 0 && isProcessAlive(first)) process.kill(-first, "SIGKILL");
      }
    });

  for (const storeFree of [false, true])
    test(`${storeFree ? "store-free: " : ""}SIGTERM while two tries run: the worker takes no new try, lets both finish (recorded success, try 1), then exits 0; another worker runs the rest`, async () => {
      const e = bullmqHome(storeFree ? "graceful-free" : "graceful", {
        WINDFLOW__BULLMQ__CONCURRENCY: "2",
        WINDFLOW__BULLMQ__SHARED_HOME: String(!storeFree),
      });
      e.install("bullmq-gate.ts");
      assert.deepEqual((await syncDagFolder(e.config, e.store)).errors, []);
      setDagPaused(e.store, "bullmq_gate", false);
      const { run } = triggerDag(e.store, "bullmq_gate");
      const first = await spawnWorker(e, "first", storeFree ? workerHome() : undefined);
      let second: Spawned | undefined;
      const scheduler = e.scheduler();
      const done = scheduler.run({ mode: "until-idle", timeoutMs: HANG_GUARD_MS });
      const outputs = () =>
        [
          `--- first worker:\n${first.output()}`,
          `--- second worker:\n${second?.output() ?? ""}`,
          ...e.lines,
        ].join("\n");
      try {
        // a and b both running their function on the first worker (each waits for the gate).
        await until("a and b running", () =>
          ["a", "b"].every((t) => e.marks(run.runId).some((l) => l.startsWith(`${t} 1 start`)))
            ? true
            : undefined,
        );
        first.child.kill("SIGTERM");
        await until("the first worker to say it waits for its tries", () =>
          /stopping: waiting for 2 running tries to end/.test(first.output()) ? true : undefined,
        );
        // It waits: still alive, its tries still running, until the gate opens.
        assert.equal(first.exited(), false, outputs());
        for (const taskId of ["a", "b"])
          assert.equal(e.store.getTaskInstance({ ...run, taskId })?.state, "running", taskId);
        writeFileSync(join(e.out, `${run.runId}.open`), "");
        assert.equal(await first.exit, 0, outputs());
        await until("a and b recorded", () =>
          ["a", "b"].every((taskId) => e.store.getTaskInstance({ ...run, taskId })?.state === "success")
            ? true
            : undefined,
        );
        // c waits for a worker: the one that stopped took no new try.
        assert.ok(
          !e.marks(run.runId).some((l) => l.startsWith("c ")),
          "c did not run on the stopping worker",
        );
        second = await spawnWorker(e, "second", storeFree ? workerHome() : undefined);
        const report = await done;
        assert.equal(report.stoppedBy, "idle", outputs());
        assert.equal(e.store.getRun(run)?.state, "success", outputs());
        for (const taskId of ["a", "b", "c"]) {
          const tries = e.store.listTries({ ...run, taskId }).map((x) => [x.tryNumber, x.state]);
          assert.deepEqual(tries, [[1, "success"]], `${taskId}: one try, not stopped nor retried`);
        }
        assert.equal(e.store.getTaskInstance({ ...run, taskId: "c" })?.returnValue, "ab");
        const cPid = e
          .marks(run.runId)
          .find((l) => l.startsWith("c 1 start"))
          ?.split(" ")[3];
        assert.match(second.output(), new RegExp(`\\bprocess ${cPid}\\b`), "c ran on the second worker");
      } finally {
        scheduler.stop("test end");
        await done.catch(() => {});
        first.child.kill("SIGKILL");
        second?.child.kill("SIGTERM");
      }
      if (second) assert.equal(await second.exit, 0, second.output());
    });

  test("two schedulers and three workers: a fan-out and fan-in run three times; each try runs once, on one worker, spread over several", async (t) => {
    const e = bullmqHome("multi", {
      // Three tries at once (the DAG's barrier) then need two workers at least.
      WINDFLOW__BULLMQ__CONCURRENCY: "2",
      WINDFLOW__CORE__PARALLELISM: "8",
    });
    e.install("bullmq-fan.ts");
    assert.deepEqual((await syncDagFolder(e.config, e.store)).errors, []);
    setDagPaused(e.store, "bullmq_fan", false);
    const workers = await Promise.all(["a", "b", "c"].map((name) => spawnWorker(e, name)));
    const schedulers = [spawnCli(e, ["scheduler"]), spawnCli(e, ["scheduler"])];
    const outputs = () =>
      [
        ...schedulers.map((s, i) => `--- scheduler ${i + 1}:\n${s.output()}`),
        ...workers.map((w, i) => `--- worker ${"abc"[i]}:\n${w.output()}`),
      ].join("\n");
    const queue = new Queue("multi", { connection: connectionOptions(redis.url) });
    try {
      await until("two live schedulers of the home", () => {
        assert.ok(!schedulers.some((s) => s.exited()), `a scheduler exited at start:\n${outputs()}`);
        return e.store.listSchedulerJobs(10, "home").filter((j) => j.endedAt === null).length >= 2
          ? true
          : undefined;
      });
      const runs = [0, 1, 2].map(
        (i) => triggerDag(e.store, "bullmq_fan", { logicalDate: `2026-11-01T00:0${i}:00Z` }).run,
      );
      wakeScheduler(e.config.home);
      await until("every run to end", () => {
        assert.ok(!schedulers.some((s) => s.exited()), `a scheduler exited:\n${outputs()}`);
        assert.ok(!workers.some((w) => w.exited()), `a worker exited:\n${outputs()}`);
        const states = runs.map((run) => e.store.getRun(run)?.state);
        return states.every((s) => s === "success" || s === "failed") ? true : undefined;
      });
      const tasks = ["start", ...Array.from({ length: 8 }, (_, i) => `f${i + 1}`), "join"];
      const byWorker = new Map<string, number>();
      const byScheduler = new Map<string, number>();
      for (const run of runs) {
        assert.equal(e.store.getRun(run)?.state, "success", `${run.runId}\n${outputs()}`);
        const marks = e.marks(run.runId);
        for (const taskId of tasks) {
          const key = { ...run, taskId };
          const where = `${run.runId}/${taskId}`;
          // Ran once: one start and one end, in one process, the try the store recorded.
          const mine = marks.filter((l) => l.startsWith(`${taskId} `));
          const pid = mine[0]?.split(" ")[3];
          assert.deepEqual(mine, [`${taskId} 1 start ${pid}`, `${taskId} 1 end ${pid}`], where);
          const tries = e.store.listTries(key);
          assert.deepEqual(
            tries.map((x) => [x.tryNumber, x.state, String(x.pid)]),
            [[1, "success", pid]],
            where,
          );
          const ti = e.store.getTaskInstance(key);
          assert.equal(ti?.tryNumber, 1, where);
          const log = readFileSync(ti?.logPath as string, "utf8");
          assert.doesNotMatch(log, /error|not queued/i, `${where}: ${log}`);
          // Its job (the try's id) returned how that process ended.
          const job = await queue.getJob(tryJobId(key, 1));
          assert.equal(await job?.getState(), "completed", where);
          const result = job?.returnvalue as TryJobResult | undefined;
          assert.equal(String(result?.pid), pid, where);
          assert.equal(result?.exitCode, 0, where);
          // On one worker: the one that says it started that process for that try.
          const line = `try 1 of bullmq_fan/${taskId} (run ${run.runId}): process ${pid}\n`;
          const ran = workers.map((w, i) => (w.output().includes(line) ? "abc"[i] : "")).filter(Boolean);
          assert.equal(ran.length, 1, `${where} started by workers [${ran}]\n${outputs()}`);
          byWorker.set(ran[0] as string, (byWorker.get(ran[0] as string) ?? 0) + 1);
          byScheduler.set(ti?.queuedBy ?? "?", (byScheduler.get(ti?.queuedBy ?? "?") ?? 0) + 1);
        }
      }
      t.diagnostic(`tries per worker: ${JSON.stringify(Object.fromEntries(byWorker))}`);
      t.diagnostic(`tries per scheduler: ${JSON.stringify([...byScheduler.values()])}`);
      assert.ok(byWorker.size > 1, `the work was spread: ${JSON.stringify(Object.fromEntries(byWorker))}`);
      assert.equal(
        [...byWorker.values()].reduce((a, b) => a + b, 0),
        3 * tasks.length,
      );
    } finally {
      await queue.close();
      for (const s of schedulers) s.child.kill("SIGTERM");
      for (const w of workers) w.child.kill("SIGTERM");
    }
    for (const [i, s] of schedulers.entries())
      assert.equal(await s.exit, 0, `scheduler ${i + 1}:\n${s.output()}`);
    for (const [i, w] of workers.entries())
      assert.equal(await w.exit, 0, `worker ${"abc"[i]}:\n${w.output()}`);
  });

  for (const storeFree of [false, true])
    test(`${storeFree ? "store-free: " : ""}two schedulers: one killed -9 mid-run; the other left its tries alone while it lived, then adopts them on the workers; each try runs once`, async () => {
      const e = bullmqHome(storeFree ? "adopt-free" : "adopt", storeFree ? STORE_FREE : {});
      e.install("bullmq-gate.ts");
      assert.deepEqual((await syncDagFolder(e.config, e.store)).errors, []);
      setDagPaused(e.store, "bullmq_gate", false);
      const homes = storeFree ? [workerHome(), workerHome()] : [undefined, undefined];
      const workers = await Promise.all(["a", "b"].map((name, i) => spawnWorker(e, name, homes[i])));
      const first = spawnCli(e, ["scheduler"]);
      let second: Spawned | undefined;
      const outputs = () =>
        [
          `--- first scheduler:\n${first.output()}`,
          `--- second scheduler:\n${second?.output() ?? ""}`,
          ...workers.map((w, i) => `--- worker ${"ab"[i]}:\n${w.output()}`),
        ].join("\n");
      const gated = ["a", "b"];
      try {
        await until("the first scheduler", () => {
          assert.ok(!first.exited(), `the first scheduler exited:\n${outputs()}`);
          return e.store.listSchedulerJobs(10, "home").some((j) => j.endedAt === null) ? true : undefined;
        });
        const { run } = triggerDag(e.store, "bullmq_gate");
        wakeScheduler(e.config.home);
        const running = await until("a and b running on the workers", () => {
          const tis = gated.map((taskId) => e.store.getTaskInstance({ ...run, taskId }));
          return tis.every((ti) => ti?.state === "running") ? tis : undefined;
        });
        const firstKey = running[0]?.queuedBy;
        assert.ok(firstKey);
        assert.deepEqual(
          running.map((ti) => ti?.queuedBy),
          [firstKey, firstKey],
        );
        // A second scheduler's pass while the first lives leaves the first's tries alone.
        const once = spawnCli(e, ["scheduler", "--once"]);
        assert.equal(await once.exit, 0, once.output());
        // (Had it offered them to its executor, it would say adopted, lost, or left alone.)
        assert.doesNotMatch(once.output(), /adopted|left alone|gone|lost/, once.output());
        for (const taskId of gated) {
          const ti = e.store.getTaskInstance({ ...run, taskId });
          assert.deepEqual([ti?.state, ti?.queuedBy, ti?.tryNumber], ["running", firstKey, 1], taskId);
        }
        // The first scheduler killed -9: the second adopts its running tries (their jobs are live on the workers).
        second = spawnCli(e, ["scheduler"]);
        first.child.kill("SIGKILL");
        await first.exit;
        await until("the second scheduler to adopt a and b", () => {
          assert.ok(!second?.exited(), `the second scheduler exited:\n${outputs()}`);
          const out = second?.output() ?? "";
          return gated.every((t) =>
            new RegExp(`bullmq_gate/${run.runId}/${t}: adopted its running process`).test(out),
          )
            ? true
            : undefined;
        });
        writeFileSync(join(e.out, `${run.runId}.open`), "");
        await until("the run to end", () => {
          assert.ok(!second?.exited(), `the second scheduler exited:\n${outputs()}`);
          const state = e.store.getRun(run)?.state;
          return state === "success" || state === "failed" ? true : undefined;
        });
        assert.equal(e.store.getRun(run)?.state, "success", outputs());
        const marks = e.marks(run.runId);
        for (const taskId of [...gated, "c"]) {
          const mine = marks.filter((l) => l.startsWith(`${taskId} `));
          const pid = mine[0]?.split(" ")[3];
          assert.deepEqual(mine, [`${taskId} 1 start ${pid}`, `${taskId} 1 end ${pid}`], taskId);
          const key = { ...run, taskId };
          // Store-free, a try is claimed with its worker's pid; else with its own process's.
          const claimedBy = storeFree
            ? String(workers.find((w) => new RegExp(`\\bprocess ${pid}\\b`).test(w.output()))?.child.pid)
            : pid;
          assert.deepEqual(
            e.store.listTries(key).map((x) => [x.tryNumber, x.state, String(x.pid)]),
            [[1, "success", claimedBy]],
            taskId,
          );
          const log = readFileSync(e.store.getTaskInstance(key)?.logPath as string, "utf8");
          assert.doesNotMatch(log, /error|not queued/i, `${taskId}: ${log}`);
        }
        // c was queued by the second scheduler (the first was dead by then).
        assert.notEqual(e.store.getTaskInstance({ ...run, taskId: "c" })?.queuedBy, firstKey);
        assert.equal(e.store.getTaskInstance({ ...run, taskId: "c" })?.returnValue, "ab");
      } finally {
        first.child.kill("SIGKILL");
        second?.child.kill("SIGTERM");
        for (const w of workers) w.child.kill("SIGTERM");
      }
      if (second) assert.equal(await second.exit, 0, second.output());
      for (const [i, w] of workers.entries())
        assert.equal(await w.exit, 0, `worker ${"ab"[i]}:\n${w.output()}`);
      for (const home of homes)
        if (home !== undefined)
          assert.deepEqual(readdirSync(home), [], "a store-free worker's home stays empty");
    });

  test("a worker whose paths differ from the scheduler's refuses to start, naming them", async () => {
    const e = bullmqHome("paths");
    e.store; // the store exists
    const x = new BullmqExecutor({ config: e.config });
    const elsewhere = mkdtempSync(join(tmpdir(), "windflow-elsewhere-"));
    try {
      await x.nextCheck(); // the scheduler's paths are published
      const config = loadConfig({ env: { ...e.env, WINDFLOW__BULLMQ__DATA_ROOT: elsewhere }, root: ROOT });
      await assert.rejects(
        startWorker({ config, log: () => {} }),
        (error: unknown) =>
          error instanceof WorkerSetupError &&
          error.message.includes(`[bullmq] data_root is ${elsewhere} here, ${ROOT} on the scheduler`),
      );
      // A store-free worker beside a scheduler whose home is shared: refused too, with what to set.
      const free = loadConfig({ env: { ...e.env, WINDFLOW__BULLMQ__SHARED_HOME: "false" }, root: ROOT });
      await assert.rejects(
        startWorker({ config: free, log: () => {} }),
        (error: unknown) =>
          error instanceof WorkerSetupError &&
          error.message.includes("[bullmq] shared_home is false here, true on the scheduler") &&
          /shared_home/.test(error.hint ?? ""),
      );
    } finally {
      x.close();
      await x.whenClosed();
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test("doctor: Redis's durability settings, and what to change", async () => {
    const statuses = (findings: { name: string; status: string }[]) =>
      Object.fromEntries(findings.map((f) => [f.name, f.status]));
    assert.deepEqual(statuses(await redisDoctor(redis.url)), {
      Redis: "ok",
      "Redis appendonly": "ok",
      "Redis maxmemory-policy": "ok",
    });
    // A server set up against the guide: both flagged, with what to change.
    const careless = await startRedis({ appendonly: "no", maxmemoryPolicy: "allkeys-lru" });
    try {
      const findings = await redisDoctor(careless.url);
      assert.deepEqual(statuses(findings), {
        Redis: "ok",
        "Redis appendonly": "warn",
        "Redis maxmemory-policy": "warn",
      });
      assert.match(findings[1]?.fix ?? "", /appendonly yes/);
      assert.match(findings[2]?.fix ?? "", /maxmemory-policy noeviction/);
    } finally {
      await careless.stop();
    }
    // With the queue: its workers counted (none connected to this one: a warning with what to start).
    const none = await redisDoctor(redis.url, 5000, "doctor-no-worker");
    assert.equal(statuses(none)["windflow workers"], "warn");
    assert.match(none.at(-1)?.fix ?? "", /windflow worker/);
    const e = bullmqHome("doctor-one-worker");
    assert.ok(e.store, "the home's database exists (a worker checks the shared paths)");
    const worker = await startWorker({ config: e.config, log: () => {} });
    try {
      const one = await redisDoctor(redis.url, 5000, "doctor-one-worker");
      assert.equal(statuses(one)["windflow workers"], "ok");
      assert.match(one.at(-1)?.detail ?? "", /^1 connected to queue doctor-one-worker/);
      // `windflow doctor` itself, in a home set to the BullMQ executor: the same findings among the set-up's.
      const doctor = await cli(["doctor", "--no-kernel", "--json"], e.env);
      const listed = statuses(JSON.parse(doctor.stdout) as { name: string; status: string }[]);
      for (const name of ["Redis", "Redis appendonly", "Redis maxmemory-policy", "windflow workers"])
        assert.equal(
          listed[name],
          "ok",
          `${name} in windflow doctor's output:\n${doctor.stdout}${doctor.stderr}`,
        );
      // A local home: no Redis findings.
      const local = await cli(["doctor", "--no-kernel", "--json"], {
        ...e.env,
        WINDFLOW__CORE__EXECUTOR: "local",
      });
      assert.ok(!("Redis" in statuses(JSON.parse(local.stdout))), local.stdout);
    } finally {
      await worker.stop();
    }
    const nobody = await redisDoctor(`redis://127.0.0.1:${await freePort()}`);
    assert.equal(nobody[0]?.status, "fail");
    assert.match(nobody[0]?.fix ?? "", /redis_url/);
  });

  test("tries waiting with no worker connected: the scheduler is told once, what to start, and when a worker is back", async () => {
    const { e, key, ti } = await queuedTry("workerless", "bullmq-chain.ts", "bullmq_chain", "prepare");
    const notices: string[] = [];
    const x = new BullmqExecutor({
      config: e.config,
      checkIntervalMs: 200,
      noWorkerNoticeMs: 600,
      onNotice: (line) => notices.push(line),
    });
    let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
    try {
      x.start(ti);
      await until("the no-worker notice", () => (notices.length > 0 ? true : undefined));
      assert.match(
        notices[0] ?? "",
        /^no windflow worker is connected to queue workerless on redis:\/\/127\.0\.0\.1:\d+: 1 try waits for one\. Start one with `windflow worker`/,
      );
      // Said once, however many checks follow.
      await x.nextCheck();
      await x.nextCheck();
      assert.equal(notices.length, 1, notices.join("\n"));
      worker = await startWorker({ config: e.config, log: () => {} });
      const [ran] = await nextEvent(x);
      assert.equal(ran?.exitCode, 0);
      assert.equal(e.store.getTaskInstance(key)?.state, "success");
      await until("the worker-back notice", () => (notices.length > 1 ? true : undefined));
      assert.match(
        notices[1] ?? "",
        /^1 windflow worker is connected to queue workerless: the waiting tries go on$/,
      );
    } finally {
      x.close();
      await x.whenClosed();
      await worker?.stop();
    }
  });

  test("the scheduler writes the no-worker notice into its log as a warning; the run goes on when a worker comes", async () => {
    const e = bullmqHome("workerless-scheduler");
    e.install("scheduler-chain.ts");
    assert.deepEqual((await syncDagFolder(e.config, e.store)).errors, []);
    setDagPaused(e.store, "sched_chain", false);
    const { run } = triggerDag(e.store, "sched_chain");
    const done = e.scheduler().run({ mode: "until-idle", timeoutMs: HANG_GUARD_MS });
    let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
    try {
      // The scheduler's own executor (default notice delay, 10 s): a WARNING line of its log, prefixed bullmq.
      const said = await until("the scheduler's no-worker line", () =>
        e.lines.find((l) => /bullmq: no windflow worker is connected to queue workerless-scheduler/.test(l)),
      );
      assert.match(said, /WARNING/);
      assert.match(said, /1 try waits for one\. Start one with `windflow worker`/);
      worker = await startWorker({ config: e.config, log: () => {} });
      const report = await done;
      assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
      assert.equal(e.store.getRun(run)?.state, "success", e.lines.join("\n"));
      assert.deepEqual(e.marks(run.runId), ["extract 1", "transform 1", "load 1"], "each task ran once");
      // (The "worker is back" line comes at the executor's next check, which a short run may end before: it is
      // tested on the executor above.)
    } finally {
      await done.catch(() => {});
      await worker?.stop();
    }
  });

  test("a try killed before a worker took it runs nothing; started again (same try), it runs once", async () => {
    const { e, run, key, ti } = await queuedTry("again", "bullmq-chain.ts", "bullmq_chain", "prepare");
    const x = new BullmqExecutor({ config: e.config, checkIntervalMs: 500 });
    let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
    try {
      x.start(ti); // no worker yet: the job waits
      assert.equal(x.kill(ti), true);
      worker = await startWorker({ config: e.config, log: () => {} });
      const [cancelled] = await nextEvent(x);
      assert.equal(cancelled?.killedBy, "kill");
      assert.equal(cancelled?.pid, null, "no process was started");
      assert.equal(e.store.getTaskInstance(key)?.state, "queued", "nothing ran");
      // The same try started again: its finished job is replaced, its cancel flag cleared.
      x.start(ti);
      const [ran] = await nextEvent(x);
      assert.equal(ran?.exitCode, 0);
      const after = e.store.getTaskInstance(key);
      assert.equal(after?.state, "success");
      assert.equal(after?.tryNumber, 1);
      assert.deepEqual(
        e.marks(run.runId).map((l) => l.replace(/ \d+$/, "")),
        ["prepare 1 end"],
      );
    } finally {
      x.close();
      await x.whenClosed();
      await worker?.stop();
    }
  });

  for (const storeFree of [false, true])
    test(`${storeFree ? "store-free: " : ""}Redis stopped for a few seconds mid-run: scheduler and worker reconnect; each task runs once`, async () => {
      const own = await startRedis(); // its own server: the others' tests keep theirs
      try {
        const e = schedulerEnv({
          WINDFLOW__CORE__EXECUTOR: "bullmq",
          WINDFLOW__BULLMQ__REDIS_URL: own.url,
          WINDFLOW__BULLMQ__QUEUE: storeFree ? "outage-free" : "outage",
          ...(storeFree ? STORE_FREE : {}),
        });
        homes.push(e);
        e.install("scheduler-chain.ts");
        assert.deepEqual((await syncDagFolder(e.config, e.store)).errors, []);
        setDagPaused(e.store, "sched_chain", false);
        const { run } = triggerDag(e.store, "sched_chain", { conf: { label: "sum" } });
        const worker = await spawnWorker(e, "w", storeFree ? workerHome() : undefined);
        const scheduler = e.scheduler();
        const done = scheduler.run({ mode: "until-idle", timeoutMs: HANG_GUARD_MS });
        try {
          await until("extract done", () =>
            e.store.getTaskInstance({ ...run, taskId: "extract" })?.state === "success" ? true : undefined,
          );
          await own.restart(3000); // down for 3 s (plus the restart), its AOF kept
          const report = await done;
          assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
          assert.equal(e.store.getRun(run)?.state, "success", e.lines.join("\n"));
          assert.deepEqual(e.marks(run.runId), ["extract 1", "transform 1", "load 1"], "each task ran once");
          // The outage was seen (the connections were refused), and lived through.
          assert.ok(
            e.lines.some((l) => /bullmq: .*ECONNREFUSED/.test(l)),
            `the scheduler saw Redis go:\n${e.lines.join("\n")}`,
          );
          worker.child.kill("SIGTERM");
          assert.equal(await worker.exit, 0, worker.output());
        } finally {
          scheduler.stop("test end");
          await done.catch(() => {});
        }
      } finally {
        await own.stop();
      }
    });

  test("parity: the same runs on the local and the BullMQ executors (both modes) end with the same states, tries and return values", async () => {
    const now = new Date("2026-03-01T12:00:00Z");
    const outcome = async (e: SchedulerEnv, withWorker: boolean, storeFree = false) => {
      e.install("scheduler-chain.ts");
      e.install("scheduler-failing.ts");
      assert.deepEqual((await syncDagFolder(e.config, e.store)).errors, []);
      const runs = ["sched_chain", "sched_failing"].map((dagId) => {
        setDagPaused(e.store, dagId, false);
        return triggerDag(e.store, dagId, { conf: dagId === "sched_chain" ? { label: "sum" } : {}, now }).run;
      });
      const workerConfig = storeFree
        ? loadConfig({ env: { ...e.env, WINDFLOW_HOME: workerHome() }, root: ROOT })
        : e.config;
      const worker = withWorker ? await startWorker({ config: workerConfig, log: () => {} }) : undefined;
      try {
        const report = await e.runScheduler({ mode: "until-idle", warmWorkers: 0 });
        assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
      } finally {
        await worker?.stop();
      }
      return runs.map((run) => ({
        run: e.store.getRun(run)?.state,
        tasks: e.store
          .listTaskInstances({ dagId: run.dagId, runId: run.runId })
          .map((t) => ({ task: t.taskId, state: t.state, tries: t.tryNumber, value: t.returnValue ?? null })),
        marks: e.marks(run.runId),
      }));
    };
    const localHome = schedulerEnv();
    homes.push(localHome);
    const local = await outcome(localHome, false);
    const distributed = await outcome(bullmqHome("parity"), true);
    assert.deepEqual(distributed, local);
    // Store-free, the scheduler's executor records what the tries report: the same again.
    const storeFree = await outcome(bullmqHome("parity-free", STORE_FREE), true, true);
    assert.deepEqual(storeFree, local);
    assert.equal(local[0]?.run, "success");
    assert.equal(local[1]?.run, "failed", "the failing DAG fails the same way on both");
  });

  test("store-free: a chain whose workers have an empty home of their own: states, return values, a retry, log lines in the scheduler's files as they come", async () => {
    const e = bullmqHome("remote", STORE_FREE);
    e.install("bullmq-remote.ts");
    assert.deepEqual((await syncDagFolder(e.config, e.store)).errors, []);
    setDagPaused(e.store, "bullmq_remote", false);
    const { run } = triggerDag(e.store, "bullmq_remote", { conf: { who: "remote" } });
    const home = workerHome();
    const worker = await spawnWorker(e, "w", home);
    const scheduler = e.scheduler();
    const done = scheduler.run({ mode: "until-idle", timeoutMs: HANG_GUARD_MS });
    const fitKey = { ...run, taskId: "fit" };
    try {
      // Followed live: fit's first line is in the scheduler's log file while the try still runs (it waits
      // for the gate, which opens only after).
      const running = await until("fit's first log line in the scheduler's log file", () => {
        const ti = e.store.getTaskInstance(fitKey);
        if (ti?.state !== "running" || ti.logPath === null) return undefined;
        const text = readFileSync(ti.logPath, "utf8");
        return text.includes("[task] fitting, try 1") ? ti : undefined;
      });
      assert.equal(e.store.getTaskInstance(fitKey)?.state, "running", "the try still runs");
      assert.equal(running.pid, worker.child.pid, "claimed with the worker's pid");
      writeFileSync(join(e.out, `${run.runId}.open`), "");
      const report = await done;
      assert.equal(report.stoppedBy, "idle", `${e.lines.join("\n")}\n--- worker:\n${worker.output()}`);
      assert.equal(e.store.getRun(run)?.state, "success", `${e.lines.join("\n")}\n${worker.output()}`);
      const ti = (taskId: string) => e.store.getTaskInstance({ ...run, taskId });
      assert.deepEqual(ti("prepare")?.returnValue, { rows: 3 });
      assert.equal(ti("fit")?.returnValue, 6);
      assert.equal(ti("report")?.returnValue, "fitted 6");
      assert.deepEqual(
        ["prepare", "fit", "report"].map((t) => [ti(t)?.state, ti(t)?.tryNumber]),
        [
          ["success", 1],
          ["success", 2],
          ["success", 1],
        ],
      );
      // fit's first try failed (retried), recorded as a local try is: the error, its log.
      const fitTries = e.store.listTries(fitKey);
      assert.deepEqual(
        fitTries.map((t) => [t.tryNumber, t.state]),
        [
          [1, "up_for_retry"],
          [2, "success"],
        ],
      );
      assert.match(fitTries[0]?.error ?? "", /^Error: the first fit fails/);
      const log1 = readFileSync(fitTries[0]?.logPath as string, "utf8");
      assert.match(log1, /\[windflow\] try 1 of 2: bullmq_remote\/fit/);
      assert.match(log1, /\[windflow\] Error: the first fit fails/);
      assert.match(log1, /\[windflow\] up_for_retry \(next try after/);
      const log2 = readFileSync(fitTries[1]?.logPath as string, "utf8");
      assert.match(log2, /\[task\] fitting, try 2\n[\s\S]*\[windflow\] success, returned 6 in \d+ ms\n$/);
      // Each source of output, in the scheduler's log file; the return value's stdout line is not output.
      const prepareLog = readFileSync(ti("prepare")?.logPath as string, "utf8");
      for (const line of [
        "[task] preparing 3 rows",
        "[stdout] prepare says hello on stdout",
        "[stderr] prepare says hello on stderr",
        '[windflow] success, returned {"rows":3}',
      ])
        assert.ok(prepareLog.includes(line), `${line} in\n${prepareLog}`);
      assert.doesNotMatch(prepareLog, /\[stdout\] \{"rows":3\}/);
      // Each try ran once, in the worker's processes; the worker's home stays empty.
      assert.deepEqual(
        e.marks(run.runId).map((l) => l.replace(/ \d+$/, "")),
        [
          "prepare 1 start",
          "prepare 1 end",
          "fit 1 start",
          "fit 1 end",
          "fit 2 start",
          "fit 2 end",
          "report 1 start",
          "report 1 end",
        ],
      );
      assert.deepEqual(readdirSync(home), [], "the worker's home stays empty");
      // The tries' streams are removed once recorded.
      const keys = await redisKeys(`windflow:remote:try:*`);
      assert.deepEqual(keys, []);
      worker.child.kill("SIGTERM");
      assert.equal(await worker.exit, 0, worker.output());
    } finally {
      scheduler.stop("test end");
      await done.catch(() => {});
    }
  });

  test("store-free: upstream values over the 128 KiB a single argument may hold reach the try (through a file)", async () => {
    const e = bullmqHome("big-xcom", { ...STORE_FREE, WINDFLOW__CORE__MAX_XCOM_SIZE: "150000" });
    e.install("bullmq-big-xcom.ts");
    assert.deepEqual((await syncDagFolder(e.config, e.store)).errors, []);
    setDagPaused(e.store, "bullmq_big_xcom", false);
    const { run } = triggerDag(e.store, "bullmq_big_xcom");
    // What a worker killed with -9 mid-try left: the next spill on the host removes it.
    const left = join(tmpdir(), `windflow-try-${deadPid()}-${randomBytes(3).toString("hex")}`);
    mkdirSync(left);
    writeFileSync(join(left, "xcom.json"), "{}");
    const worker = await storeFreeWorker(e);
    try {
      const report = await e.runScheduler();
      assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
      const join_ = e.store.getTaskInstance({ ...run, taskId: "join" });
      assert.equal(join_?.state, "success", `${join_?.state}: ${e.lines.join("\n")}`);
      assert.deepEqual(join_?.returnValue, { left: 100_000, right: 100_000, sample: "lr" });
      assert.equal(existsSync(left), false, "a dead worker's spill folder swept");
    } finally {
      await worker.stop();
      rmSync(left, { recursive: true, force: true });
    }
    // The worker (in this process) removed its own after the try.
    assert.deepEqual(
      readdirSync(tmpdir()).filter((n) => n.startsWith(`windflow-try-${process.pid}-`)),
      [],
    );
  });

  test("store-free: a claimed try whose process cannot start ends with the reason (the scheduler logs it)", async () => {
    const { e, key, ti } = await queuedTry(
      "nostart-free",
      "bullmq-chain.ts",
      "bullmq_chain",
      "prepare",
      STORE_FREE,
    );
    const x = new BullmqExecutor({ config: e.config, checkIntervalMs: 500 });
    const worker = await storeFreeWorker(e, [join(e.home, "no-such-program")]);
    try {
      x.start(ti);
      const [ended] = await nextEvent(x);
      assert.match(ended?.spawnError ?? "", /no-such-program ENOENT/, JSON.stringify(ended));
      const log = readFileSync(e.store.getTaskInstance(key)?.logPath as string, "utf8");
      assert.match(log, /reported no outcome: spawn .*no-such-program ENOENT/);
    } finally {
      x.close();
      await x.whenClosed();
      await worker.stop();
    }
  });

  test("store-free: a job of a try claimed already runs nothing (the claim is the scheduler's compare-and-set)", async () => {
    const { e, run, key, ti } = await queuedTry(
      "again-free",
      "bullmq-chain.ts",
      "bullmq_chain",
      "prepare",
      STORE_FREE,
    );
    const x = new BullmqExecutor({ config: e.config, checkIntervalMs: 500 });
    const worker = await storeFreeWorker(e);
    try {
      x.start(ti);
      const [ran] = await nextEvent(x);
      assert.equal(ran?.exitCode, 0);
      assert.equal(e.store.getTaskInstance(key)?.state, "success");
      // The same job handed out again (as BullMQ's stalled-job check does), to a try now claimed: the
      // executor refuses the claim, the worker runs nothing.
      const queue = new Queue("again-free", { connection: connectionOptions(redis.url) });
      try {
        const first = await queue.getJob(tryJobId(key, 1));
        assert.ok(first);
        const data = first.data;
        await first.remove();
        const again = new BullmqExecutor({ config: e.config, checkIntervalMs: 500 });
        try {
          again.start(ti);
          const [refused] = await nextEvent(again);
          assert.equal(refused?.pid, null, "nothing claimed");
          const job = await queue.getJob(tryJobId(key, 1));
          assert.match(
            (job?.returnvalue as TryJobResult | undefined)?.notStarted ?? "",
            /not claimed: refused: task instance .* is success, not queued/,
          );
          assert.deepEqual(job?.data.external?.file, data.external?.file);
        } finally {
          again.close();
          await again.whenClosed();
        }
      } finally {
        await queue.close();
      }
      assert.deepEqual(
        e.marks(run.runId).map((l) => l.replace(/ \d+$/, "")),
        ["prepare 1 end"],
        "the try ran once",
      );
    } finally {
      x.close();
      await x.whenClosed();
      await worker.stop();
    }
  });
});

describe("the store-free BullMQ executor: timeouts", () => {
  test("a try past its execution timeout fails as a local one does: TaskTimeoutError recorded, the task told (ctx.signal) in the scheduler's log file", async () => {
    const { e, key, ti } = await queuedTry(
      "timeout-free",
      "executor.ts",
      "fixture_executor",
      "slow",
      STORE_FREE,
    );
    const x = new BullmqExecutor({ config: e.config, checkIntervalMs: 500 });
    const worker = await storeFreeWorker(e);
    try {
      x.start(ti);
      const [event] = await nextEvent(x);
      assert.equal(event?.exitCode, 1);
      const after = e.store.getTaskInstance(key);
      assert.equal(after?.state, "failed");
      assert.match(after?.error ?? "", /^TaskTimeoutError: /);
      const log = readFileSync(after?.logPath as string, "utf8");
      assert.match(log, /\[task\] waiting for a minute\n[\s\S]*\[task\] aborted: cleaning up/, log);
      assert.match(log, /\[windflow\] failed in \d+ ms\n$/, log);
    } finally {
      x.close();
      await x.whenClosed();
      await worker.stop();
    }
  });
});

describe("the store-free BullMQ executor without a scheduler watching", () => {
  test("a try that ended while no executor watched it: the one that adopts it records the outcome its job holds", async () => {
    const { e, run, key, ti } = await queuedTry(
      "unwatched",
      "bullmq-remote.ts",
      "bullmq_remote",
      "fit",
      STORE_FREE,
    );
    const worker = await storeFreeWorker(e);
    const queue = new Queue("unwatched", { connection: connectionOptions(redis.url) });
    const first = new BullmqExecutor({ config: e.config, checkIntervalMs: 500 });
    const second = new BullmqExecutor({ config: e.config, checkIntervalMs: 500 });
    try {
      first.start(ti);
      const logPath = await until("fit's first line in its log", () => {
        const r = e.store.getTaskInstance(key);
        return r?.logPath && readFileSync(r.logPath, "utf8").includes("[task] fitting, try 1")
          ? r.logPath
          : undefined;
      });
      // The scheduler goes (its executor closes, the try goes on), then the try ends.
      first.close();
      await first.whenClosed();
      writeFileSync(join(e.out, `${run.runId}.open`), "");
      const deadline = Date.now() + HANG_GUARD_MS;
      while ((await queue.getJobState(tryJobId(key, 1))) !== "completed") {
        assert.ok(Date.now() < deadline, "the try's job never completed");
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(e.store.getTaskInstance(key)?.state, "running", "nobody recorded it yet");
      // Another executor is offered the running try: it looks its job up, then adopts it and records it.
      await second.nextCheck();
      const running = e.store.getTaskInstance(key);
      assert.ok(running);
      assert.equal(second.adopt(running), "elsewhere", "until the look-up of its finished job answers");
      await until("adopted", () => (second.adopt(running) === "adopted" ? true : undefined));
      const [event] = await nextEvent(second);
      assert.equal(event?.adopted, true);
      const after = e.store.getTaskInstance(key);
      assert.equal(after?.state, "up_for_retry");
      assert.match(after?.error ?? "", /^Error: the first fit fails/);
      const log = readFileSync(logPath, "utf8");
      assert.match(log, /\[windflow\] up_for_retry \(next try after/);
      assert.equal(log.match(/\[task\] fitting, try 1/g)?.length, 1, `each line once:\n${log}`);
    } finally {
      first.close();
      second.close();
      await second.whenClosed();
      await queue.close();
      await worker.stop();
    }
  });
});

/** The keys of the test's Redis matching `pattern`. */
async function redisKeys(pattern: string): Promise<string[]> {
  const { Redis } = await import("ioredis");
  const client = new Redis(redis.url);
  try {
    return await client.keys(pattern);
  } finally {
    client.disconnect();
  }
}

/** The next events of `x` (a deadline, woken by its listener). */
async function nextEvent(x: BullmqExecutor) {
  const deadline = Date.now() + HANG_GUARD_MS;
  for (;;) {
    const got = x.poll();
    if (got.length > 0) return got;
    assert.ok(Date.now() < deadline, "no event");
    await new Promise<void>((resolve) => {
      const stop = x.subscribe(() => {
        stop();
        resolve();
      });
      setTimeout(() => {
        stop();
        resolve();
      }, 200);
    });
  }
}
