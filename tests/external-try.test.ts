/**
 * One try for an external orchestrator (src/orchestration/executor/external-try.ts, issue 14 §1): no store,
 * the run's facts from the arguments, the return value as JSON on the last stdout line, exit codes 0 / 99 /
 * 1 / 2, no retry of its own, the task ended at its execution timeout. In-process through `externalTryMain`,
 * then one real process (from the build) whose task ignores its signal: the process still ends at the
 * timeout.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { loadConfig } from "../src/config.js";
import { EXTERNAL_EXIT_CODES, externalTryMain } from "../src/orchestration/executor/external-try.js";
import { tempDir } from "./helpers/csv.js";

const tmp = tempDir("windflow-external-");
after(() => tmp.cleanup());
const ROOT = resolve(__dirname, "..");
const env = {
  ...process.env,
  WINDFLOW_HOME: join(tmp.dir, "home"),
  WINDFLOW__CORE__DAGS_FOLDER: tmp.dir,
  WINDFLOW__CORE__LOAD_EXAMPLES: "false",
  WINDFLOW__CORE__KILLED_TASK_CLEANUP_TIME: "100ms",
};
const config = loadConfig({ env, root: ROOT });

// In a folder outside the project: "windflow/dag" resolves through the loader's resolver.
const FILE = tmp.file(
  "external.ts",
  `import { dag } from "windflow/dag";
const g = globalThis as { externalCalls?: number };
export default dag({ id: "ext", startDate: "2026-01-01T00:00:00Z", params: { label: "default" } }, (d) => {
  const up = d.task("up", () => "never run here");
  d.task("down", (ctx) => {
    ctx.log("computing");
    return {
      run: ctx.runId,
      date: ctx.logicalDate.toISOString(),
      interval: [ctx.dataInterval.start.toISOString(), ctx.dataInterval.end.toISOString()],
      tries: [ctx.tryNumber, ctx.maxTries],
      label: ctx.params.label as string,
      up: ctx.xcom(up) as string,
    };
  }).after(up);
  d.task("nothing", () => {});
  d.task("skipper", (ctx) => ctx.skip("no new data"));
  d.task("fails", () => {
    g.externalCalls = (g.externalCalls ?? 0) + 1;
    throw new Error("the source is down");
  }, { retries: 3 });
  d.task("hangs", () => new Promise(() => { setInterval(() => {}, 1000); }), { executionTimeout: "300ms" });
});
`,
);

async function run(args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await externalTryMain(args, {
    config,
    stdout: (l) => stdout.push(l),
    stderr: (l) => stderr.push(l),
  });
  return { code, stdout, stderr };
}
const base = (task: string) => [
  "ext",
  task,
  "--run-id",
  "scheduled__2026-11-25T00:00:00+00:00",
  "--logical-date",
  "2026-11-25T00:00:00Z",
];

describe("an external try", () => {
  test("success: the run's facts from the arguments, the value as JSON on the last stdout line", async () => {
    const r = await run([
      ...base("down"),
      "--data-interval-start",
      "2026-11-24T00:00:00Z",
      "--data-interval-end",
      "2026-11-25T00:00:00Z",
      "--try",
      "2",
      "--max-tries",
      "4",
      "--conf",
      '{"label": "from airflow"}',
      "--xcom",
      '{"up": "data/x.parquet"}',
      "--file",
      FILE,
    ]);
    assert.equal(r.code, EXTERNAL_EXIT_CODES.success, r.stderr.join("\n"));
    assert.deepEqual(JSON.parse(r.stdout.at(-1) as string), {
      run: "scheduled__2026-11-25T00:00:00+00:00",
      date: "2026-11-25T00:00:00.000Z",
      interval: ["2026-11-24T00:00:00.000Z", "2026-11-25T00:00:00.000Z"],
      tries: [2, 4],
      label: "from airflow",
      up: "data/x.parquet",
    });
    assert.deepEqual(r.stderr, ["[down] computing"]);
    // Found in the DAGs folder without --file; nothing returned is null.
    const nothing = await run(base("nothing"));
    assert.equal(nothing.code, 0, nothing.stderr.join("\n"));
    assert.deepEqual(nothing.stdout, ["null"]);
  });

  test("--conf @FILE and --xcom @FILE: the JSON read from files, past the kernel's 128 KiB per argument", async () => {
    const big = "x".repeat(100_000);
    const r = await run([
      ...base("down"),
      "--conf",
      `@${tmp.file("conf.json", '{"label": "from a file"}')}`,
      "--xcom",
      // Three upstream values of 100 kB each (max_xcom_size raised): 300 kB of JSON in one argument.
      `@${tmp.file("xcom.json", JSON.stringify({ a: big, b: big, up: "data/x.parquet" }))}`,
      "--file",
      FILE,
    ]);
    assert.equal(r.code, EXTERNAL_EXIT_CODES.success, r.stderr.join("\n"));
    const value = JSON.parse(r.stdout.at(-1) as string) as { label: string; up: string };
    assert.equal(value.label, "from a file");
    assert.equal(value.up, "data/x.parquet");
  });

  test("skipped: exit 99; failed: exit 1 with the error on stderr, and no retry of its own", async () => {
    const skipped = await run([...base("skipper"), "--file", FILE]);
    assert.equal(skipped.code, 99);
    assert.deepEqual(skipped.stdout, []);
    assert.match(skipped.stderr.join("\n"), /skipped: .*no new data/);

    const g = globalThis as { externalCalls?: number };
    g.externalCalls = 0;
    const failed = await run([...base("fails"), "--file", FILE]);
    assert.equal(failed.code, 1);
    assert.deepEqual(failed.stdout, []);
    assert.equal(failed.stderr[0], "error: Error: the source is down");
    assert.equal(
      g.externalCalls,
      1,
      "one try, though the task has 3 retries: retries are the orchestrator's",
    );
  });

  test("not run (exit 2): bad arguments and unknown DAGs or tasks, each named", async () => {
    const cases: [string[], RegExp][] = [
      [["ext"], /usage: windflow tasks external/],
      [[...base("down").slice(0, 4), "--logical-date", "yesterday"], /--logical-date: expected an ISO date/],
      [[...base("down"), "--conf", "{nope"], /--conf: not JSON/],
      [
        [...base("down"), "--xcom", `@${join(tmp.dir, "absent.json")}`],
        /--xcom @.*absent\.json: cannot read .*ENOENT/,
      ],
      [[...base("down"), "--xcom", `@${tmp.file("bad.json", "{nope")}`], /--xcom @.*bad\.json: not JSON/],
      [[...base("down"), "--conf", `@${tmp.file("list.json", "[1]")}`], /--conf: expected a JSON object/],
      [[...base("down"), "--try", "0"], /--try: expected a whole number >= 1/],
      [["nope", ...base("down").slice(1)], /no DAG "nope"/],
      [[...base("missing"), "--file", FILE], /missing/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      assert.equal(r.code, EXTERNAL_EXIT_CODES.notRun, args.join(" "));
      assert.match(r.stderr.join("\n"), message);
      assert.deepEqual(r.stdout, []);
    }
  });

  test("a task that ignores its signal: the process ends at the execution timeout, exit 1", async () => {
    const child = spawn(
      process.execPath,
      [join(ROOT, "dist", "orchestration", "executor", "external-try.js"), ...base("hangs"), "--file", FILE],
      { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    assert.equal(code, EXTERNAL_EXIT_CODES.failed, stderr);
    assert.match(stderr, /error: TaskTimeoutError: .*timed out after 300 ms/);
  });
});
