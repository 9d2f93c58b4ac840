/**
 * Adversarial, class "bad DAG files": one home holds a good DAG and a table of hostile ones (exits the process,
 * loops forever, kills itself, throws, syntax error, exports nothing, a cycle, a duplicate id, ...). The CLI
 * commands that read DAG files (`dags list`, `dags show`, `tasks list`) answer in bounded time with each bad
 * file named and why, never silenced nor hung; and a scheduler records and runs the good DAG while a file that
 * loops at import is still waiting for its timeout (issue 13 §4, §5).
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setDagPaused, triggerDag } from "../../src/orchestration/scheduler/trigger.js";
import { cli, ROOT, type SchedulerEnv, schedulerEnv, until } from "../helpers/scheduler-env.js";

const DAG = `import { dag } from "${join(ROOT, "src", "orchestration", "dag.js")}";`;
const good = (id: string) =>
  `${DAG}\nexport default dag({ id: "${id}", startDate: "2026-01-01T00:00:00Z" }, (d) => {\n  const a = d.task("a", () => 1);\n  const b = d.task("b", () => 2);\n  a.before(b);\n});\n`;

/** Hostile DAG files: file name, text, what its import error must say (a regular expression). */
const BAD: readonly { name: string; text: string; error: RegExp }[] = [
  {
    name: "exit0.ts",
    text: `${good("exit0")}process.exit(0);\n`,
    error: /exited with code 0 before reporting/,
  },
  { name: "exit3.ts", text: "process.exit(3);\n", error: /exited with code 3 before reporting/ },
  {
    // Never returns from its import: an endless wait (the CPU-bound loop is in the scheduler's test below; a
    // sleeping one keeps this test's two cores for the others).
    name: "hangs.ts",
    text: "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);\n",
    error: /parsing took longer than \[scheduler\] dag_file_processor_timeout/,
  },
  { name: "sigkill.ts", text: 'process.kill(process.pid, "SIGKILL");\n', error: /was killed by SIGKILL/ },
  { name: "abort.ts", text: "process.abort();\n", error: /was killed by SIGABRT/ },
  {
    name: "throws.ts",
    text: 'throw new Error("boom at import");\n',
    error: /the module threw Error: boom at import/,
  },
  { name: "throws-string.ts", text: 'throw "a string";\n', error: /a string/ },
  { name: "syntax.ts", text: "export default dag({ id: \n", error: /syntax error at line \d+/ },
  { name: "empty.ts", text: "", error: /exports no DAG/ },
  { name: "no-dag.ts", text: "export const answer = 42;\n", error: /exports no DAG/ },
  {
    name: "missing-import.ts",
    text: 'import "./does-not-exist-anywhere";\n',
    error: /does-not-exist-anywhere/,
  },
  {
    name: "cycle.ts",
    text: `${DAG}\nexport default dag({ id: "cyc", startDate: "2026-01-01T00:00:00Z" }, (d) => {\n  const a = d.task("a", () => 1);\n  const b = d.task("b", () => 2);\n  a.before(b).before(a);\n});\n`,
    error: /cycle/i,
  },
  {
    name: "bad-id.ts",
    text: `${DAG}\nexport default dag({ id: "bad id!", startDate: "2026-01-01T00:00:00Z" }, (d) => { d.task("a", () => 1); });\n`,
    error: /bad id!/,
  },
  {
    name: "two-same.ts",
    text: `${DAG}\nexport const x = dag({ id: "same", startDate: "2026-01-01T00:00:00Z" }, (d) => { d.task("a", () => 1); });\nexport const y = dag({ id: "same", startDate: "2026-01-01T00:00:00Z" }, (d) => { d.task("b", () => 1); });\n`,
    error: /two DAGs with the id "same"/,
  },
  { name: "binary.ts", text: "\u0000\u00ff\u00fe garbage \u0001", error: /binary\.ts/ },
  {
    name: "stack.ts",
    text: "const f = (n: number): number => f(n + 1) + 1;\nf(0);\n",
    error: /Maximum call stack/,
  },
];

/** Files that are no DAG file at all: not listed, no error. */
const IGNORED = ["_helper.ts", ".hidden.ts", "notes.test.ts", "types.d.ts", "readme.md"];

let home: SchedulerEnv;
/** A small home for the commands that look for one DAG: a good file beside one that exits and one that hangs. */
let small: SchedulerEnv;
before(() => {
  // Long enough for a good file to parse on a busy machine; the hanging file is stopped at it.
  home = schedulerEnv({ WINDFLOW__SCHEDULER__DAG_FILE_PROCESSOR_TIMEOUT: "15s" });
  home.write("good.ts", good("good_dag"));
  home.write("élan dag.ts", good("unicode_name"));
  for (const b of BAD) home.write(b.name, b.text);
  for (const name of IGNORED) home.write(name, "process.exit(9);\n");
  mkdirSync(join(home.dags, "folder.ts")); // a folder named like a DAG file
  small = schedulerEnv({ WINDFLOW__SCHEDULER__DAG_FILE_PROCESSOR_TIMEOUT: "15s" });
  for (const name of ["exit0.ts", "hangs.ts"])
    small.write(name, (BAD.find((b) => b.name === name) as { text: string }).text);
  small.write("good.ts", good("good_dag"));
  small.write("élan dag.ts", good("unicode_name"));
});
after(() => {
  home.cleanup();
  small.cleanup();
});

describe("adversarial: bad DAG files, through the CLI (no database yet)", () => {
  test("dags list names every bad file and why; dags show / tasks list answer for the good DAGs; an unknown id names the bad files", async () => {
    // Side by side, each parsing its folder in child processes bounded by the timeout: `dags list` of the home
    // of every bad file, and the commands that look for one DAG in the small home (`nope` waits for the
    // hanging file's timeout; the others stop at their DAG).
    const [r, unknown, show, tasks, json] = await Promise.all([
      cli(["dags", "list", "--json"], home.env, { timeoutMs: 120_000 }),
      cli(["dags", "show", "nope"], small.env, { timeoutMs: 120_000 }),
      cli(["dags", "show", "good_dag"], small.env, { timeoutMs: 120_000 }),
      cli(["tasks", "list", "good_dag", "--json"], small.env, { timeoutMs: 120_000 }),
      cli(["dags", "show", "unicode_name", "--json"], small.env, { timeoutMs: 120_000 }),
    ]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /a/);
    assert.equal(tasks.code, 0, tasks.stderr);
    assert.deepEqual(
      (JSON.parse(tasks.stdout) as { taskId: string }[]).map((t) => t.taskId),
      ["a", "b"],
    );
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { id: string }).id, "unicode_name");
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no DAG "nope"/);
    assert.match(unknown.stderr, /known DAGs: .*good_dag/);
    assert.match(unknown.stderr, /files that did not load.*exit0\.ts.*hangs\.ts/);
    assert.equal(r.signal, null, "not hung");
    assert.equal(r.code, 1, r.stderr);
    const listing = JSON.parse(r.stdout) as {
      dags: { dagId: string }[];
      importErrors: { file: string; error: string }[];
    };
    assert.deepEqual(listing.dags.map((d) => d.dagId).sort(), ["good_dag", "unicode_name"]);
    const errors = new Map(listing.importErrors.map((e) => [e.file.split("/").pop(), e.error]));
    for (const b of BAD) {
      const error = errors.get(b.name);
      assert.ok(error !== undefined, `${b.name}: an import error (got ${[...errors.keys()].join(", ")})`);
      assert.match(error, b.error, b.name);
    }
    // Exactly these: helpers, hidden files, tests, declarations, other extensions and folders are not DAG files.
    assert.equal(listing.importErrors.length, BAD.length, [...errors.keys()].join(", "));
  });
});

describe("adversarial: bad DAG files, in the scheduler", () => {
  test("a file that loops at import holds nothing back: the good DAG is recorded and runs before its timeout", async () => {
    // The processor timeout is 10 minutes: were the good file held behind the looping one, this would time out.
    const e = schedulerEnv({ WINDFLOW__SCHEDULER__DAG_FILE_PROCESSOR_TIMEOUT: "600s" });
    try {
      e.write("a-loop.ts", "for (;;) {}\n");
      e.write("b-loop.ts", "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);\n");
      e.write("c-exit.ts", `${good("exits")}process.exit(0);\n`);
      e.write("z-good.ts", good("quick"));
      const s = e.scheduler({ parsingProcesses: 1 });
      const running = s.run({ mode: "forever", timeoutMs: 300_000 });
      try {
        await until("the good DAG recorded", () => e.store.getDag("quick"), 120_000);
        setDagPaused(e.store, "quick", false);
        const { run } = triggerDag(e.store, "quick");
        await until(
          "the good DAG's run done",
          () => (e.store.getRun(run)?.state === "success" ? true : undefined),
          120_000,
        );
        await until("the exiting file's import error", () =>
          e.store.listImportErrors().find((r) => r.file.endsWith("c-exit.ts")),
        );
        const loops = e.store.listImportErrors().filter((r) => /-loop\.ts$/.test(r.file));
        assert.deepEqual(loops, [], "the looping files are still parsing (their timeout is 10 min)");
      } finally {
        s.stop("test done");
        const report = await running;
        assert.equal(report.stoppedBy, "stopped", e.lines.join("\n"));
      }
    } finally {
      e.cleanup();
    }
  });
});
