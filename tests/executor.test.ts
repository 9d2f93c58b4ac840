/**
 * The executor with real task processes on the fixture DAG `tests/fixtures/dags/executor.ts`, in a temporary
 * WINDFLOW_HOME with a real SQLite store: each way a try can end, the try logs, return values handed
 * downstream, a process killed with SIGKILL, and task processes that outlive a scheduler killed with SIGKILL.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { hostname as osHostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadConfig, type WindflowConfig } from "../src/config.js";
import { TaskKilledError, TaskNotQueuedError } from "../src/orchestration/executor/errors.js";
import { type ExecutorEvent, isProcessAlive, LocalExecutor } from "../src/orchestration/executor/local.js";
import { finishLostTry, runTaskInstance, tasksRunMain } from "../src/orchestration/executor/run-task.js";
import { taskLogPath } from "../src/orchestration/executor/task-log.js";
import { loadDagFile } from "../src/orchestration/loader.js";
import { RecordNotFoundError } from "../src/orchestration/store/errors.js";
import { openStore, runTasksOf, type SqliteStore } from "../src/orchestration/store/index.js";
import type { TaskInstanceKey } from "../src/orchestration/store/store.js";

const FIXTURE = join(__dirname, "fixtures", "dags", "executor.ts");
const DAG = "fixture_executor";
const RUN = "manual__20260301-000000";
const LOGICAL = new Date("2026-03-01T00:00:00Z");

let home: string;
let env: Record<string, string | undefined>;
let config: WindflowConfig;
let store: SqliteStore;
const executors: LocalExecutor[] = [];
const children: ChildProcess[] = [];

const key = (taskId: string): TaskInstanceKey => ({ dagId: DAG, runId: RUN, taskId });
const queue = (taskId: string) => {
  const k = key(taskId);
  const ti = store.getTaskInstance(k);
  if (ti?.state === "none") store.setTaskState(k, "none", "scheduled");
  if (ti?.state === "up_for_retry") store.setTaskState(k, "up_for_retry", "scheduled");
  assert.equal(store.setTaskState(k, "scheduled", "queued"), true);
  return store.getTaskInstance(k) as NonNullable<typeof ti>;
};
const executor = () => {
  const e = new LocalExecutor({ config });
  executors.push(e);
  return e;
};
/** Polls until `n` processes ended; fails after `timeoutMs`. */
async function ended(e: LocalExecutor, n: number, timeoutMs = 60_000): Promise<Map<string, ExecutorEvent>> {
  const out = new Map<string, ExecutorEvent>();
  const deadline = Date.now() + timeoutMs;
  while (out.size < n) {
    for (const ev of e.poll()) out.set(ev.taskId, ev);
    if (out.size >= n) break;
    assert.ok(Date.now() < deadline, `only ${[...out.keys()].join(", ")} ended within ${timeoutMs} ms`);
    await e.waitForEvent(100);
  }
  return out;
}
async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const logOf = (taskId: string, tryNumber = 1) =>
  readFileSync(taskLogPath(config.logging.base_log_folder, key(taskId), tryNumber), "utf8");

before(() => {
  home = mkdtempSync(join(tmpdir(), "windflow-exec-"));
  env = { ...process.env, WINDFLOW_HOME: home, WINDFLOW__CORE__KILLED_TASK_CLEANUP_TIME: "1s" };
  config = loadConfig({ env });
  store = openStore(config);
  const [dag] = loadDagFile(FIXTURE);
  assert.ok(dag);
  store.upsertDag(dag.spec, { parsedAt: new Date() });
  store.createRun({
    dagId: DAG,
    runId: RUN,
    runType: "manual",
    logicalDate: LOGICAL,
    dataInterval: { start: LOGICAL, end: LOGICAL },
    conf: { greeting: "bonjour" },
    tasks: runTasksOf(dag.spec),
  });
});

after(() => {
  for (const e of executors) e.close({ kill: true });
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  store.close();
  rmSync(home, { recursive: true, force: true });
});

describe("executor: tries in their own processes", () => {
  test("success, retry, timeout, non-retryable failure, hard kill of a task that never yields, xcom downstream", async () => {
    const e = executor();
    const started = new Map<string, number | null>();
    for (const t of ["produce", "flaky", "slow", "bad_xcom", "spin"]) started.set(t, e.start(queue(t)).pid);
    assert.equal(e.running, 5);
    // spin never yields: once it says so it is in its loop, where its SIGTERM handler cannot run, and only then is
    // it stopped (on a busy machine a process can take seconds to reach its task; a SIGTERM before the loop ends
    // it gracefully, with exit code 1, which is another case than this one).
    await until(
      "spin to be in its loop",
      () => (/spinning without yielding/.test(logOf("spin")) ? true : undefined),
      60_000,
    );
    assert.equal(e.kill(key("spin")), true);
    const events = await ended(e, 5, 60_000);

    // produce: success, its return value stored, every kind of line in its log.
    assert.equal(events.get("produce")?.exitCode, 0);
    const produce = store.getTaskInstance(key("produce"));
    assert.equal(produce?.state, "success");
    assert.deepEqual(produce?.returnValue, { path: "data/out_20260301-000000.csv", rows: 3 });
    assert.equal(produce?.tryNumber, 1);
    assert.equal(produce?.pid, started.get("produce"));
    assert.ok(produce?.hostname);
    assert.equal(produce?.logPath, taskLogPath(config.logging.base_log_folder, key("produce"), 1));
    const log = logOf("produce");
    assert.match(log, /^\d{4}-\d\d-\d\dT[\d:.]+Z \[windflow\] try 1 of 1: fixture_executor\/produce/m);
    assert.match(log, /Z \[task\] producing for manual__20260301-000000, try 1 of 1$/m);
    assert.match(log, /Z \[stdout\] a line on stdout$/m);
    assert.match(log, /Z \[stderr\] a line on stderr$/m);
    assert.match(log, /\[windflow\] success, returned \{"path"/);
    assert.equal((log.match(/a line on stdout/g) ?? []).length, 1, "captured once, not echoed into the file");

    // flaky: failed with tries left: up_for_retry, next try after the retry delay (1 minute).
    assert.equal(events.get("flaky")?.exitCode, 1);
    const flaky = store.getTaskInstance(key("flaky"));
    assert.equal(flaky?.state, "up_for_retry");
    assert.match(flaky?.error ?? "", /^Error: the source is down/);
    assert.ok(flaky?.endedAt && flaky.nextRetryAt);
    assert.equal(flaky.nextRetryAt.getTime() - flaky.endedAt.getTime(), 60_000);
    assert.match(logOf("flaky"), /\[windflow\] Error: the source is down\n.*at /);
    assert.match(logOf("flaky"), /\[windflow\] up_for_retry \(next try after /);

    // slow: timed out after 1 s (its signal aborted), no retries: failed; the process exited by itself.
    assert.equal(events.get("slow")?.exitCode, 1);
    assert.equal(events.get("slow")?.killedBy, null);
    const slow = store.getTaskInstance(key("slow"));
    assert.equal(slow?.state, "failed");
    assert.match(
      slow?.error ?? "",
      /^TaskTimeoutError: DAG fixture_executor, task slow: timed out after 1000 ms/,
    );
    assert.match(logOf("slow"), /\[task\] aborted: cleaning up/);
    // Ended by its timeout, not after its minute of sleep (no tighter bound: a busy machine is slow to start).
    assert.ok((events.get("slow")?.durationMs ?? 1e9) < 60_000);

    // bad_xcom: a return value that is not JSON is not retryable: failed at once despite 3 retries.
    const bad = store.getTaskInstance(key("bad_xcom"));
    assert.equal(bad?.state, "failed");
    assert.equal(bad?.tryNumber, 1);
    assert.match(bad?.error ?? "", /^XComError: .*not plain JSON: \$ is a Date/);

    // spin: never yields, so its own timeout cannot fire and SIGTERM is not handled: the executor's kill ends it
    // with SIGKILL after the clean-up time, and the try is ended from outside.
    const spin = events.get("spin");
    assert.equal(spin?.killedBy, "kill");
    assert.equal(spin?.signal, "SIGKILL");
    assert.equal(store.getTaskInstance(key("spin"))?.state, "running");
    assert.equal(finishLostTry(store, key("spin"), "killed past its execution timeout"), "failed");
    assert.match(store.getTaskInstance(key("spin"))?.error ?? "", /TaskProcessLostError.*killed past its/);
    assert.match(
      logOf("spin"),
      /\[task\] spinning without yielding[\s\S]*killed past its execution timeout: failed/,
    );

    // consume reads produce's return value through ctx.xcom; the run's conf overrides the params.
    e.start(queue("consume"));
    const second = await ended(e, 1);
    assert.equal(second.get("consume")?.exitCode, 0);
    assert.equal(store.getTaskInstance(key("consume"))?.returnValue, "bonjour data/out_20260301-000000.csv");
    assert.equal(e.running, 0);
  });

  test("a task process killed with SIGKILL is seen dead by its pid; its try is ended from outside", async () => {
    const e = executor();
    const { pid } = e.start(queue("sleepy"));
    assert.ok(pid !== null, "the process started");
    const running = await until("sleepy to run", () => {
      const ti = store.getTaskInstance(key("sleepy"));
      return ti?.state === "running" ? ti : undefined;
    });
    assert.equal(running.pid, pid);
    assert.equal(isProcessAlive(pid), true);
    process.kill(pid, "SIGKILL");
    const events = await ended(e, 1);
    assert.equal(events.get("sleepy")?.signal, "SIGKILL");
    assert.equal(isProcessAlive(pid), false);
    assert.equal(store.getTaskInstance(key("sleepy"))?.state, "running", "nobody recorded the end");

    const now = new Date();
    assert.equal(finishLostTry(store, key("sleepy"), `process ${pid} is gone`, { now }), "up_for_retry");
    const ti = store.getTaskInstance(key("sleepy"));
    assert.equal(ti?.nextRetryAt?.getTime(), now.getTime() + 10_000, "the task's retry delay");
    assert.equal(finishLostTry(store, key("sleepy"), "again"), undefined, "not running any more");
    assert.deepEqual(
      store.listTries(key("sleepy")).map((t) => [t.tryNumber, t.state, t.pid]),
      [[1, "up_for_retry", pid]],
    );
  });

  test("task processes outlive a scheduler killed with SIGKILL; a new one adopts them by pid", async () => {
    const ti = queue("nap");
    // A stand-in scheduler: starts the try with a LocalExecutor, prints the pid, and idles.
    const code = `
      const { loadConfig } = require(${JSON.stringify(join(__dirname, "..", "src", "config.ts"))});
      const { LocalExecutor } = require(${JSON.stringify(join(__dirname, "..", "src", "orchestration", "executor", "local.ts"))});
      const e = new LocalExecutor({ config: loadConfig() });
      const started = e.start(${JSON.stringify({ dagId: ti.dagId, runId: ti.runId, taskId: ti.taskId, tryNumber: ti.tryNumber })});
      process.stdout.write(JSON.stringify(started) + "\\n");
      setInterval(() => {}, 1000);
    `;
    const scheduler = spawn(process.execPath, ["--import", "tsx", "-e", code], {
      cwd: config.root,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(scheduler);
    const line = await new Promise<string>((resolve, reject) => {
      let buf = "";
      scheduler.stdout?.on("data", (d: Buffer) => {
        buf += d.toString();
        if (buf.includes("\n")) resolve(buf.split("\n")[0] as string);
      });
      scheduler.once("exit", () => reject(new Error(`the stand-in scheduler exited: ${buf}`)));
    });
    const { pid } = JSON.parse(line) as { pid: number };
    scheduler.kill("SIGKILL");
    await new Promise((r) => scheduler.once("exit", r));
    assert.equal(isProcessAlive(pid), true, "the task process survived its scheduler");

    const e = executor();
    assert.equal(e.adopt({ ...key("nap"), pid, hostname: osHostname() }), "adopted");
    const events = await ended(e, 1);
    assert.equal(events.get("nap")?.adopted, true);
    assert.equal(events.get("nap")?.exitCode, null);
    const nap = store.getTaskInstance(key("nap"));
    assert.equal(nap?.state, "success", "the orphaned try recorded its own end");
    assert.equal(nap?.returnValue, "rested");
    assert.equal(nap?.pid, pid);
  });
});

describe("runTaskInstance in this process", () => {
  test("timeout with a task that listens to its signal, then a try stopped from outside", async () => {
    queue("patient");
    const first = await runTaskInstance({ ...key("patient"), config, store });
    assert.equal(first.state, "up_for_retry");
    assert.equal(first.exitCode, 1);
    assert.equal(first.error?.name, "TaskTimeoutError");
    assert.ok(
      first.durationMs < 60_000,
      `stopped by its timeout, not after its minute (${first.durationMs} ms)`,
    );
    const ti = store.getTaskInstance(key("patient"));
    assert.equal(ti?.nextRetryAt && ti.endedAt && ti.nextRetryAt.getTime() - ti.endedAt.getTime(), 2000);
    assert.match(logOf("patient", 1), /\[task\] aborted: cleaning up/);

    queue("patient");
    const stop = new AbortController();
    setTimeout(() => stop.abort("received SIGTERM"), 50);
    const second = await runTaskInstance({ ...key("patient"), config, store, stop: stop.signal });
    assert.equal(second.tryNumber, 2);
    assert.equal(second.state, "failed", "no tries left");
    assert.equal(second.error?.name, TaskKilledError.name);
    assert.match(second.error?.message ?? "", /stopped: received SIGTERM/);
  });

  test("nothing runs unless the task instance is queued; bad arguments; exit code 2", async () => {
    await assert.rejects(runTaskInstance({ ...key("produce"), config, store }), TaskNotQueuedError);
    await assert.rejects(runTaskInstance({ ...key("nope"), config, store }), RecordNotFoundError);
    const lines: string[] = [];
    assert.equal(await tasksRunMain(["only-one"], { config, stderr: (l) => lines.push(l) }), 2);
    assert.equal(await tasksRunMain([DAG, "produce", RUN], { config, stderr: (l) => lines.push(l) }), 2);
    assert.match(lines.join("\n"), /usage: windflow tasks run DAG_ID TASK_ID RUN_ID/);
    assert.match(
      lines.join("\n"),
      /error: task instance fixture_executor\/manual__20260301-000000\/produce is success/,
    );
  });
});
