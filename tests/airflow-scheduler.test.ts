/**
 * One run of an exported DAG through Apache Airflow's own scheduler (issue 14 §3): `windflow dags export --to
 * airflow`, then Airflow's components started by tests/helpers/airflow.ts (LocalExecutor, SQLite, the API
 * server on 127.0.0.1 and a free port, the scheduler without its log server, the DAG processor), the DAG
 * unpaused and triggered through Airflow's REST API. The run and each task instance succeed, every task's
 * return value (XCom) and the file the last task writes are those of the same run through windflow's own
 * scheduler, and no component listens on an interface other than loopback.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { syncDagFolder } from "../src/orchestration/scheduler/dag-processor.js";
import { setDagPaused, triggerDag } from "../src/orchestration/scheduler/trigger.js";
import { type AirflowCluster, exportDags, isLoopback, ROOT, startAirflow } from "./helpers/airflow.js";
import { type SchedulerEnv, schedulerEnv } from "./helpers/scheduler-env.js";

const FIXTURES = join(ROOT, "tests", "fixtures", "airflow-dags");
const DAG = "airflow_chain";
const LOGICAL_DATE = "2026-11-28T10:00:00.000Z";
const TASKS = ["make", "square", "write"];

describe("an exported DAG run by Airflow's scheduler (LocalExecutor, SQLite, 127.0.0.1)", {
  timeout: 900_000,
}, () => {
  const home = mkdtempSync(join(tmpdir(), "windflow-airflow-sched-"));
  let airflow: AirflowCluster | undefined;
  let windflow: SchedulerEnv | undefined;
  after(async () => {
    try {
      await airflow?.stop();
    } finally {
      windflow?.cleanup();
      rmSync(home, { recursive: true, force: true });
    }
  });

  /** The same run through windflow's own scheduler: each task's state and return value, and the files. */
  async function throughWindflow(out: string) {
    windflow = schedulerEnv({ WINDFLOW__CORE__DAGS_FOLDER: FIXTURES });
    const e = windflow;
    const summary = await syncDagFolder(e.config, e.store);
    assert.deepEqual(summary.errors, []);
    setDagPaused(e.store, DAG, false);
    const { run } = triggerDag(e.store, DAG, { logicalDate: LOGICAL_DATE, conf: { out } });
    const report = await e.runScheduler({ mode: "until-idle" });
    assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
    assert.equal(e.store.getRun(run)?.state, "success", e.lines.join("\n"));
    return Object.fromEntries(
      e.store
        .listTaskInstances({ dagId: DAG, runId: run.runId })
        .map((ti) => [ti.taskId, { state: ti.state, xcom: ti.returnValue ?? null }]),
    );
  }

  test("the run and every task succeed, with windflow's return values and file; loopback only", async () => {
    const expected = await throughWindflow(join(home, "windflow-out"));
    assert.deepEqual(Object.keys(expected).sort(), [...TASKS].sort());

    const exported = await exportDags(home, FIXTURES, [DAG]);
    assert.match(exported, /dags\/airflow_chain\.py/);
    airflow = await startAirflow(home);
    const af = airflow;
    await af.waitForDag(DAG);
    await af.unpause(DAG);
    const out = join(home, "airflow-out");
    const triggered = await af.trigger(DAG, { logicalDate: LOGICAL_DATE, conf: { out } });
    const run = await af.waitForRun(DAG, triggered.dag_run_id);
    const tis = await af.taskInstances(DAG, run.dag_run_id);
    const detail = `${JSON.stringify(tis, null, 1)}\n${af.tail()}`;
    assert.equal(run.state, "success", detail);
    assert.equal(new Date(run.logical_date ?? "").toISOString(), LOGICAL_DATE);
    assert.deepEqual(
      tis.map((ti) => [ti.task_id, ti.state, ti.try_number]),
      TASKS.map((t) => [t, "success", 1]),
      detail,
    );
    // Each task ran after its upstream ended (the chain's order, from Airflow's own dates).
    const ms = (iso: string | null | undefined) => new Date(iso ?? Number.NaN).getTime();
    for (let i = 1; i < tis.length; i++)
      assert.ok(
        ms(tis[i]?.start_date) >= ms(tis[i - 1]?.end_date),
        `${tis[i]?.task_id} started before ${tis[i - 1]?.task_id} ended: ${detail}`,
      );
    const got: Record<string, { state: string | null; xcom: unknown }> = {};
    for (const ti of tis)
      got[ti.task_id] = { state: ti.state, xcom: await af.xcom(DAG, run.dag_run_id, ti.task_id) };
    assert.deepEqual(got, expected);
    assert.deepEqual((expected.square as { xcom: unknown }).xcom, 9);

    // The side effect: the same file, named after the run's stamp, with the same text.
    const files = readdirSync(out);
    assert.deepEqual(files, ["20261128-100000.txt"]);
    assert.deepEqual(readdirSync(join(home, "windflow-out")), files);
    assert.equal(
      readFileSync(join(out, "20261128-100000.txt"), "utf8"),
      readFileSync(join(home, "windflow-out", "20261128-100000.txt"), "utf8"),
    );

    // What listens: the API server on 127.0.0.1 at its port, nothing on another interface (no log server).
    const listening = af.listeners();
    const port = Number(new URL(af.url).port);
    assert.ok(
      listening.some((l) => l.port === port && l.address === "127.0.0.1"),
      JSON.stringify(listening),
    );
    assert.deepEqual(
      listening.filter((l) => !isLoopback(l.address)),
      [],
      "a component listens on a non-loopback interface",
    );
  });
});
