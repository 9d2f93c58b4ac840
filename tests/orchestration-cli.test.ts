/**
 * The orchestration commands of the `windflow` CLI, run as a user runs them (a process per command, from the
 * sources), in a temporary home: dags list / trigger / unpause / state / list-runs, the scheduler until idle
 * and stopped by SIGTERM, tasks list / test / logs / run, db init / reset, config get; exit codes and JSON.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { cli, HANG_GUARD_MS, ROOT, type SchedulerEnv, schedulerEnv, until } from "./helpers/scheduler-env.js";

const envs: SchedulerEnv[] = [];
after(() => {
  for (const e of envs) e.cleanup();
});
const RUN = "manual__20261125-173005";

describe("windflow dags / tasks / scheduler / db / config", () => {
  test("a DAG from files to a finished run, as a user drives it", async () => {
    const e = schedulerEnv();
    envs.push(e);
    e.install("scheduler-chain.ts", "chain.ts");
    e.install("throws.ts");
    const run = (...args: string[]) => cli(args, e.env);

    // No database yet: the files are parsed; the broken one is reported and fails the command.
    const listed = await run("dags", "list", "--json");
    assert.equal(listed.code, 1, listed.stderr);
    const fromFiles = JSON.parse(listed.stdout) as {
      dags: { dagId: string; paused: null }[];
      importErrors: { file: string }[];
    };
    assert.deepEqual(
      fromFiles.dags.map((d) => [d.dagId, d.paused]),
      [["sched_chain", null]],
    );
    assert.match(fromFiles.importErrors[0]?.file ?? "", /throws\.ts$/);

    const init = await run("db", "init", "--json");
    assert.equal(init.code, 0, init.stderr);
    assert.equal((JSON.parse(init.stdout) as { databaseCreated: boolean }).databaseCreated, true);

    // Trigger: the DAG is parsed into the store first; the run is dated to the second; paused: it waits.
    const trigger = await run(
      "dags",
      "trigger",
      "sched_chain",
      "--conf",
      '{"label": "sum"}',
      "--date",
      "2026-11-25T17:30:05Z",
    );
    assert.equal(trigger.code, 0, trigger.stderr);
    assert.match(trigger.stderr, /DAG sched_chain is not in the store yet: parsing the DAGs folder/);
    assert.match(trigger.stdout, new RegExp(`^run_id +${RUN}$`, "m"));
    assert.match(trigger.stdout, /^logical_date +2026-11-25T17:30:05\.000Z$/m);
    assert.match(
      trigger.stdout,
      /^stamp +20261125-173005 +\(the run's dated files, e\.g\. predictions\/20261125-173005\.csv\)$/m,
    );
    assert.match(
      trigger.stdout,
      /^note +DAG sched_chain is paused: the run stays queued until `windflow dags unpause sched_chain`$/m,
    );

    const [stored, badConf, again, future] = await Promise.all([
      run("dags", "list"),
      run("dags", "trigger", "sched_chain", "--conf", "[1]"),
      run("dags", "trigger", "sched_chain", "--date", "2026-11-25T17:30:05Z", "--json"),
      run("dags", "trigger", "sched_chain", "--date", "2999-01-01T00:00:00Z"),
    ]);
    assert.equal(future.code, 1, "a run dated in the future");
    assert.match(
      future.stderr,
      /error: a run cannot be dated in the future: logical date 2999-01-01T00:00:00\.000Z is after now \(.*\)\nhint: leave the logical date out/,
    );
    assert.match(stored.stdout, /^sched_chain +paused +manual only +3 tasks +\S+chain\.ts$/m);
    assert.match(stored.stdout, /^BROKEN \S+throws\.ts: .*dataPath is not configured/m);
    assert.equal(badConf.code, 1);
    assert.match(badConf.stderr, /error: conf "\[1\]": not a JSON object\nhint: /);
    assert.equal(again.code, 1, "the same run id twice");
    assert.match(again.stderr, /a run manual__20261125-173005 exists already/);

    const unpause = await run("dags", "unpause", "sched_chain");
    assert.equal(unpause.stdout.trim(), "DAG sched_chain is now unpaused");

    const scheduler = await cli(["scheduler", "--until-idle", "--timeout", "60"], e.env, {
      timeoutMs: 90_000,
    });
    assert.equal(scheduler.code, 0, scheduler.stderr);
    assert.match(
      scheduler.stderr,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO +scheduler started \(until-idle\)/m,
    );
    assert.match(scheduler.stderr, /run sched_chain\/manual__20261125-173005 success/);

    const [state, runs, logs, tasks] = await Promise.all([
      run("dags", "state", "sched_chain", RUN, "--json"),
      run("dags", "list-runs", "sched_chain", "--json"),
      run("tasks", "logs", "sched_chain", "load", RUN),
      run("tasks", "list", "sched_chain", "--json"),
    ]);
    const view = JSON.parse(state.stdout) as {
      run: { state: string; stamp: string };
      tasks: { taskId: string; returnValue: unknown }[];
    };
    assert.equal(view.run.state, "success");
    assert.equal(view.run.stamp, "20261125-173005");
    assert.deepEqual(
      view.tasks.map((t) => [t.taskId, t.returnValue]),
      [
        ["extract", { rows: 3 }],
        ["transform", 6],
        ["load", "sum=6 at 20261125-173005"],
      ],
    );
    assert.deepEqual(
      (JSON.parse(runs.stdout) as { runId: string; state: string }[]).map((r) => [r.runId, r.state]),
      [[RUN, "success"]],
    );
    assert.match(logs.stdout, /\[windflow\] try 1 of 1: sched_chain\/load/);
    assert.match(logs.stdout, /\[windflow\] success, returned "sum=6 at 20261125-173005"/);
    assert.deepEqual(
      (JSON.parse(tasks.stdout) as { taskId: string; upstream: string[] }[]).map((t) => [
        t.taskId,
        t.upstream,
      ]),
      [
        ["extract", []],
        ["transform", ["extract"]],
        ["load", ["transform"]],
      ],
    );

    // One task in this process, no database; upstream values given by hand.
    const [tested, notQueued, text] = await Promise.all([
      run("tasks", "test", "sched_chain", "transform", "--xcom", '{"extract": {"rows": 5}}', "--json"),
      run("tasks", "run", "sched_chain", "load", RUN),
      run("dags", "state", "sched_chain", RUN),
    ]);
    assert.equal(tested.code, 0, tested.stderr);
    const result = JSON.parse(tested.stdout) as {
      state: string;
      tasks: { taskId: string; value: unknown }[];
    };
    assert.equal(result.state, "success");
    assert.deepEqual(
      result.tasks.map((t) => [t.taskId, t.value]),
      [["transform", 10]],
    );
    assert.equal(notQueued.code, 2, "tasks run of a finished task instance runs nothing");
    assert.match(notQueued.stderr, /is success, not queued: nothing to run/);
    assert.match(
      text.stdout,
      /^sched_chain\/manual__20261125-173005: success \(manual, logical date 2026-11-25T17:30:05\.000Z, files stamped 20261125-173005\)$/m,
    );
    assert.match(text.stdout, /^ {2}load +success +\d+\.\ds +-> "sum=6 at 20261125-173005"$/m);

    // Actions by hand: clear with downstream (the run is queued again), mark failed, a stop refused naming why.
    const cleared = await run("tasks", "clear", "sched_chain", "transform", RUN, "--by", "dave");
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.equal(
      cleared.stdout,
      `sched_chain/${RUN}/transform: success -> cleared by dave\n` +
        `sched_chain/${RUN}/load: success -> cleared by dave\n` +
        `run sched_chain/${RUN} queued again\n`,
    );
    const markedFailed = await run(
      "tasks",
      "mark-failed",
      "sched_chain",
      "extract",
      RUN,
      "--by",
      "dave",
      "--json",
    );
    assert.equal(markedFailed.code, 0, markedFailed.stderr);
    assert.deepEqual(JSON.parse(markedFailed.stdout), {
      changed: [{ taskId: "extract", from: "success" }],
      runQueued: false,
    });
    const notRunning = await run("tasks", "stop", "sched_chain", "extract", RUN);
    assert.equal(notRunning.code, 1);
    assert.match(notRunning.stderr, /cannot stop sched_chain\/.*\/extract: it is failed/);
    assert.match(notRunning.stderr, /only a queued or running try can be stopped/);
    const after = JSON.parse((await run("dags", "state", "sched_chain", RUN, "--json")).stdout) as {
      run: { state: string };
      tasks: { taskId: string; state: string }[];
    };
    assert.equal(after.run.state, "queued");
    assert.deepEqual(
      after.tasks.map((t) => [t.taskId, t.state]),
      [
        ["extract", "failed"],
        ["transform", "none"],
        ["load", "none"],
      ],
    );

    // db reset asks for --yes; then the store is empty.
    const [refused, value, unknown, help] = await Promise.all([
      run("db", "reset"),
      run("config", "get", "core", "dags_folder"),
      run("config", "get", "core", "nope"),
      run("dags", "trigger", "--help"),
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /hint: stop the scheduler, then run `windflow db reset --yes`/);
    assert.equal(value.stdout.trim(), e.dags);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /config \[core\] nope: is not a windflow setting/);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--conf <json>/);
    const reset = await run("db", "reset", "--yes");
    assert.equal(reset.code, 0, reset.stderr);
    const empty = await run("dags", "list-runs", "--json");
    assert.deepEqual(JSON.parse(empty.stdout), []);
  });

  test("dags show / pause / test, config list, scheduler --once, a pipe closed early", async () => {
    const e = schedulerEnv();
    envs.push(e);
    e.install("scheduler-chain.ts", "chain.ts");
    const run = (...args: string[]) => cli(args, e.env);

    const [show, showJson, tested, list, listJson] = await Promise.all([
      run("dags", "show", "sched_chain"),
      run("dags", "show", "sched_chain", "--json"),
      run("dags", "test", "sched_chain", "--date", "2026-11-25T17:30:05Z", "--conf", '{"label": "t"}'),
      run("config", "list"),
      run("config", "list", "--json"),
    ]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^sched_chain +\(manual only/m);
    assert.match(show.stdout, /^ {2}transform +<- extract$/m);
    assert.match(show.stdout, /^ {2}load +<- transform$/m);
    const spec = JSON.parse(showJson.stdout) as { id: string; tasks: { id: string; upstream: string[] }[] };
    assert.equal(spec.id, "sched_chain");
    assert.deepEqual(
      spec.tasks.map((t) => [t.id, t.upstream]),
      [
        ["extract", []],
        ["transform", ["extract"]],
        ["load", ["transform"]],
      ],
    );
    // dags test: in this process, no database; each task's state, duration and return value.
    assert.equal(tested.code, 0, tested.stderr);
    assert.match(tested.stdout, /^DAG sched_chain, run test__20261125-173005 .*: success in /m);
    assert.match(tested.stdout, /^ {2}load +success +\S+ +-> "t=6 at 20261125-173005"$/m);
    assert.equal(existsSync(join(e.home, "windflow.db")), false, "dags test needs no database");
    // config list: every setting with where its value comes from.
    assert.match(list.stdout, /^\[scheduler\]$/m);
    assert.match(
      list.stdout,
      new RegExp(`^dags_folder = ${e.dags} +# environment variable WINDFLOW__CORE__DAGS_FOLDER$`, "m"),
    );
    assert.match(list.stdout, /^warm_task_processes = 3$/m);
    const entries = JSON.parse(listJson.stdout) as { section: string; key: string }[];
    assert.ok(entries.some((x) => x.section === "webserver" && x.key === "port"));

    // pause / unpause; a paused DAG's run waits through scheduler --once, which runs one step when unpaused.
    const trigger = await run("dags", "trigger", "sched_chain", "--json");
    const runId = (JSON.parse(trigger.stdout) as { runId: string }).runId;
    assert.equal(
      (await run("dags", "pause", "sched_chain")).stdout.trim(),
      "DAG sched_chain was already paused",
    );
    const idle = await run("scheduler", "--once");
    assert.equal(idle.code, 0, idle.stderr);
    assert.equal(e.store.getRun({ dagId: "sched_chain", runId })?.state, "queued");
    await run("dags", "unpause", "sched_chain");
    const once = await run("scheduler", "--once");
    assert.equal(once.code, 0, once.stderr);
    const states = () =>
      e.store.listTaskInstances({ dagId: "sched_chain", runId }).map((ti) => `${ti.taskId} ${ti.state}`);
    // One pass: the first task ran; the last pass made the next one ready; nothing else started.
    assert.deepEqual(states(), ["extract success", "transform scheduled", "load none"]);
    assert.equal((await run("dags", "pause", "sched_chain")).stdout.trim(), "DAG sched_chain is now paused");

    // Output piped into a reader that stops early: exit 0, no EPIPE stack.
    const piped = spawnSync(
      "bash",
      ["-c", `"${process.execPath}" --import tsx src/cli/main.ts config list | head -n 1`],
      {
        cwd: ROOT,
        env: e.env,
        encoding: "utf8",
      },
    );
    assert.equal(piped.stdout, "[core]\n");
    assert.doesNotMatch(piped.stderr, /EPIPE/);
  });

  test("[core] load_examples adds windflow's example DAGs; their trigger rules at work", async () => {
    const e = schedulerEnv({ WINDFLOW__CORE__LOAD_EXAMPLES: "true" });
    envs.push(e);
    e.install("scheduler-chain.ts", "chain.ts");
    const listed = await cli(["dags", "list", "--json"], e.env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { dags: { dagId: string }[] }).dags.map((d) => d.dagId).sort(),
      ["example_return_values", "example_trigger_rules", "sched_chain"],
    );
    const without = await cli(["dags", "list", "--json"], {
      ...e.env,
      WINDFLOW__CORE__LOAD_EXAMPLES: "false",
    });
    assert.deepEqual(
      (JSON.parse(without.stdout) as { dags: { dagId: string }[] }).dags.map((d) => d.dagId),
      ["sched_chain"],
    );
    // fetch fails on both its tries: report is upstream_failed, alert (one_failed) and cleanup (all_done) run.
    const failed = await cli(
      ["dags", "trigger", "example_trigger_rules", "--conf", '{"failures": 5}', "--wait", "--json"],
      e.env,
    );
    assert.equal(failed.code, 1, failed.stderr);
    const view = JSON.parse(failed.stdout) as {
      run: { state: string };
      tasks: { taskId: string; state: string; tryNumber: number }[];
    };
    assert.equal(view.run.state, "failed");
    assert.deepEqual(
      view.tasks.map((t) => `${t.taskId} ${t.state} ${t.tryNumber}`),
      ["fetch failed 2", "report upstream_failed 0", "alert success 1", "cleanup success 1"],
    );
    assert.match(failed.stderr, /\[fetch\] .*Error: the source is down \(try 1 of 2\)/);
  });

  test("SIGTERM stops the scheduler gracefully: it exits, its running task processes finish and record their end", async () => {
    const e = schedulerEnv();
    envs.push(e);
    e.install("scheduler-parallel.ts");
    const trigger = await cli(["dags", "trigger", "sched_parallel", "--unpause", "--json"], e.env);
    assert.equal(trigger.code, 0, trigger.stderr);
    const runId = (JSON.parse(trigger.stdout) as { runId: string }).runId;

    let child: ChildProcess | undefined;
    const scheduler = cli(["scheduler"], e.env, {
      timeoutMs: 60_000,
      onSpawn: (c) => {
        child = c;
        e.track(c);
      },
    });
    const started = await until(
      "a task to run",
      () => {
        const running = e.store.listTaskInstances({ dagId: "sched_parallel", states: ["running"] });
        return running.length > 0 ? running : undefined;
      },
      HANG_GUARD_MS,
    );
    child?.kill("SIGTERM");
    const stopped = await scheduler;
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, /scheduler stopping: received SIGTERM/);
    assert.match(stopped.stderr, /left running \(they record their own end\)/);
    // The tries that were running end on their own, successfully; the run waits for the next scheduler.
    for (const ti of started)
      await until(`${ti.taskId} to record its end`, () =>
        e.store.getTaskInstance(ti)?.state === "success" ? true : undefined,
      );
    assert.equal(e.store.getRun({ dagId: "sched_parallel", runId })?.state, "running");
  });
});
