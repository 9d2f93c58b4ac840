/**
 * The DAG processor with real child processes, in a temporary home: broken files (syntax error, a module that
 * throws, a file that hangs past the timeout) recorded as import errors while the good DAG is recorded and
 * runs; new, changed, fixed and deleted files picked up by watching the folder while a scheduler runs.
 */
import assert from "node:assert/strict";
import { copyFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { DagProcessor, syncDagFolder } from "../src/orchestration/scheduler/dag-processor.js";
import { setDagPaused, triggerDag } from "../src/orchestration/scheduler/trigger.js";
import { FIXTURES, ROOT, type SchedulerEnv, schedulerEnv, until } from "./helpers/scheduler-env.js";

const envs: SchedulerEnv[] = [];
const make = (settings: Record<string, string> = {}) => {
  const e = schedulerEnv(settings);
  envs.push(e);
  return e;
};
after(() => {
  for (const e of envs) e.cleanup();
});

describe("DAG processor", () => {
  test("broken files are recorded with their error and stop nothing: the good DAG is recorded and runs", async () => {
    // Long enough for a good file to parse on a busy machine (a child process loading TypeScript), short enough
    // for the test: the hanging file is stopped at it.
    const e = make({ WINDFLOW__SCHEDULER__DAG_FILE_PROCESSOR_TIMEOUT: "10s" });
    const good = e.install("scheduler-chain.ts", "chain.ts");
    const throws = e.install("throws.ts");
    const hang = e.install("scheduler-hang.ts", "hang.ts");
    const syntax = join(e.dags, "syntax.ts");
    copyFileSync(join(FIXTURES, "syntax-error.ts.txt"), syntax);

    const began = Date.now();
    const summary = await syncDagFolder(e.config, e.store);
    assert.ok(Date.now() - began < 60_000, "the hanging file was stopped at its timeout");
    assert.deepEqual(summary.added, ["sched_chain"]);
    const errors = new Map(e.store.listImportErrors().map((r) => [r.file, r.message]));
    assert.deepEqual([...errors.keys()].sort(), [hang, syntax, throws].sort());
    assert.match(errors.get(syntax) ?? "", /syntax error at line 5, column \d+/);
    assert.match(errors.get(throws) ?? "", /the module threw Error: dataPath is not configured/);
    assert.match(
      errors.get(hang) ?? "",
      /parsing took longer than \[scheduler\] dag_file_processor_timeout \(10000 ms\)/,
    );
    assert.match(errors.get(hang) ?? "", /\nhint: /);

    const dag = e.store.getDag("sched_chain");
    assert.equal(dag?.isPaused, true, "new DAGs start paused");
    assert.equal(dag?.fileloc, good);

    setDagPaused(e.store, "sched_chain", false);
    const { run } = triggerDag(e.store, "sched_chain");
    const report = await e.runScheduler({ mode: "until-idle", timeoutMs: 60_000 });
    assert.equal(report.stoppedBy, "idle", e.lines.join("\n"));
    assert.equal(e.store.getRun(run)?.state, "success", e.lines.join("\n"));
    assert.equal(e.store.listImportErrors().length, 3, "still broken");
  });

  test("while a scheduler runs: new, changed, fixed and deleted files are seen through the folder watch", async () => {
    // dag_dir_list_interval is 1 h here: only the watch can see the changes in time.
    const e = make();
    const s = e.scheduler();
    const running = s.run({ mode: "forever", timeoutMs: 90_000 });
    try {
      const file = e.install("scheduler-catchup.ts", "watched.ts");
      const first = await until("the new DAG", () => e.store.getDag("sched_catchup"));
      assert.equal(first.isPaused, true);
      assert.equal(first.spec.maxActiveRuns, 3);

      // A change of the spec.
      const { writeFileSync, readFileSync } = await import("node:fs");
      writeFileSync(file, readFileSync(file, "utf8").replace("maxActiveRuns: 3", "maxActiveRuns: 2"));
      await until("the changed spec", () =>
        e.store.getDag("sched_catchup")?.spec.maxActiveRuns === 2 ? true : undefined,
      );

      // Broken, then fixed: the import error comes and goes; the DAG keeps its last good spec meanwhile.
      const good = readFileSync(file, "utf8");
      writeFileSync(file, good.replace("export default dag(", "export default dag(("));
      await until("the import error", () => (e.store.listImportErrors().length === 1 ? true : undefined));
      assert.equal(e.store.getDag("sched_catchup")?.isActive, true);
      writeFileSync(file, good);
      await until("the import error cleared", () =>
        e.store.listImportErrors().length === 0 ? true : undefined,
      );

      // A second file defining the same DAG id is refused.
      const twin = e.install("scheduler-catchup.ts", "twin.ts");
      const twinError = await until("the duplicate id error", () =>
        e.store.listImportErrors().find((r) => r.file === twin),
      );
      assert.match(twinError.message, /DAG id "sched_catchup" is defined in .*watched\.ts already/);
      rmSync(twin);
      await until("the twin's error cleared", () =>
        e.store.listImportErrors().length === 0 ? true : undefined,
      );

      // Deleted: deactivated, kept for its history; not scheduled.
      rmSync(file);
      await until("the DAG deactivated", () =>
        e.store.getDag("sched_catchup")?.isActive === false ? true : undefined,
      );
      assert.deepEqual(e.store.listDags(), []);
      assert.equal(e.store.listDags({ includeInactive: true }).length, 1);
    } finally {
      s.stop();
      await running;
    }
  });
});

describe("DAG processor without a folder watch", () => {
  test("the periodic listing ([scheduler] dag_dir_list_interval) finds new and deleted files on its own", async () => {
    const e = make();
    const seen: string[][] = [];
    const processor = new DagProcessor({
      folder: e.dags,
      timeoutMs: 120_000,
      listIntervalMs: 300,
      watch: false, // a file system without change events (a network mount): the listing is the safety net
      env: { ...e.config.env, WINDFLOW_HOME: e.config.home },
      cwd: e.config.root,
      onResult: () => {
        for (const r of processor.take())
          if (r.kind === "listed") seen.push(r.files.map((f) => f.split("/").pop() as string));
      },
    });
    try {
      processor.start();
      await until("the first listing", () => (seen.length > 0 ? true : undefined));
      assert.deepEqual(seen.at(-1), []);
      e.install("scheduler-chain.ts", "chain.ts");
      await until(
        "the new file in a listing",
        () => (seen.at(-1)?.includes("chain.ts") ? true : undefined),
        60_000,
      );
      rmSync(join(e.dags, "chain.ts"));
      await until(
        "the file gone from a listing",
        () => (seen.at(-1)?.length === 0 ? true : undefined),
        60_000,
      );
    } finally {
      processor.close();
    }
  });
});

describe("DAG processor: a report read after the child's exit", () => {
  test("a report that arrives after the child's exit is taken, not 'exited with code 0 before reporting'", async () => {
    // Node may emit a child's 'exit' before its last IPC message is read (a stress run saw a good DAG file fail
    // so on a busy machine). Made certain here: the child hands its IPC channel (fd 3) to a grandchild and exits
    // at once with code 0; the grandchild sends the report 1 s later on that channel, then closes it.
    const e = make();
    e.install("scheduler-chain.ts", "chain.ts");
    const parse = join(ROOT, "dist", "orchestration", "scheduler", "parse-process.js");
    const late = join(e.config.home, "late-report.js");
    writeFileSync(
      late,
      `const { spawn } = require("node:child_process");
       if (process.env.LATE_GRANDCHILD) {
         const { parseDagFileMessage } = require(${JSON.stringify(parse)});
         const message = parseDagFileMessage(process.argv[2]);
         setTimeout(() => process.send(message, () => process.exit(0)), 1000);
       } else {
         const fd = process.channel.fd; // Node removed NODE_CHANNEL_FD from the environment
         const stdio = ["ignore", "ignore", "ignore"];
         stdio[fd] = fd;
         spawn(process.execPath, [__filename, process.argv[2]], {
           env: {
             ...process.env,
             LATE_GRANDCHILD: "1",
             NODE_CHANNEL_FD: String(fd),
             NODE_CHANNEL_SERIALIZATION_MODE: "json",
           },
           stdio,
           detached: true,
         }).unref();
         process.exit(0);
       }`,
    );
    const results: { kind: string; message?: string }[] = [];
    const processor = new DagProcessor({
      folder: e.dags,
      timeoutMs: 120_000,
      listIntervalMs: 0,
      watch: false,
      command: [process.execPath, late],
      env: { ...e.config.env, WINDFLOW_HOME: e.config.home },
      cwd: ROOT,
      onResult: () => {
        for (const r of processor.take()) if (r.kind !== "listed") results.push(r);
      },
    });
    try {
      processor.start();
      await until("the file's result", () => (results.length > 0 ? true : undefined));
      assert.equal(results[0]?.kind, "parsed", results[0]?.message);
    } finally {
      processor.close();
    }
  });
});
