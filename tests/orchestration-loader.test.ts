import assert from "node:assert/strict";
import { chmodSync, chownSync, copyFileSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { DagCycleError, DagImportError } from "../src/orchestration/errors.js";
import { listDagFiles, loadDag, loadDagFile, tsxCacheIsSafe } from "../src/orchestration/loader.js";
import { testDag } from "../src/orchestration/test-run.js";
import { tempDir } from "./helpers/csv.js";

const FIXTURES = resolve("tests/fixtures/dags");
const fixture = (name: string) => join(FIXTURES, name);
const tmp = tempDir("windflow-dags-");
after(() => tmp.cleanup());

/** Expects a DagImportError naming `file` whose message includes `text`. */
function importFails(fn: () => unknown, file: string, text: string | RegExp): DagImportError {
  let caught: unknown;
  assert.throws(fn, (e: unknown) => {
    caught = e;
    return e instanceof DagImportError;
  });
  const e = caught as DagImportError;
  assert.equal(e.file, file);
  assert.ok(e.message.startsWith(`${file}: `), e.message);
  if (typeof text === "string") assert.ok(e.message.includes(text), `"${e.message}" includes "${text}"`);
  else assert.match(e.message, text);
  assert.ok(e.hint, "a hint");
  return e;
}

describe("loadDagFile", () => {
  test("a good file: its DAG, validated, with fileloc, runnable", async () => {
    const [d, ...rest] = loadDagFile(fixture("good.ts"));
    assert.equal(rest.length, 0);
    assert.equal(d?.id, "fixture_good");
    assert.equal(d?.spec.fileloc, fixture("good.ts"));
    assert.deepEqual(d?.spec.schedule, { cron: "@daily" });
    const result = await testDag(d as NonNullable<typeof d>, { logicalDate: "2026-01-02T00:00:00Z" });
    assert.deepEqual(
      result.tasks.map((t) => t.value),
      ["hello world", "HELLO WORLD"],
    );
  });
  test("a relative path works; loading twice gives the same DAG objects' functions", () => {
    const a = loadDagFile("tests/fixtures/dags/good.ts")[0];
    const b = loadDagFile(fixture("good.ts"))[0];
    assert.equal(a?.spec.fileloc, fixture("good.ts"));
    assert.equal(a?.callable("hello"), b?.callable("hello"));
  });
  test("default export first, then named exports; non-DAG exports ignored", () => {
    assert.deepEqual(
      loadDagFile(fixture("two-dags.ts")).map((d) => d.id),
      ["fixture_first", "fixture_second"],
    );
  });
  test("loadDag finds a DAG by id, or says which ones the file defines", () => {
    assert.equal(loadDag(fixture("two-dags.ts"), "fixture_second").id, "fixture_second");
    importFails(
      () => loadDag(fixture("two-dags.ts"), "train"),
      fixture("two-dags.ts"),
      'defines no DAG "train" (it defines fixture_first, fixture_second)',
    );
  });
  test("a syntax error names the file, the line and the column", () => {
    const file = join(tmp.dir, "syntax-error.ts");
    copyFileSync(fixture("syntax-error.ts.txt"), file);
    const e = importFails(() => loadDagFile(file), file, /syntax error at line 5, column \d+: /);
    assert.ok(e.cause);
  });
  test("a module that throws at import: the error and where", () => {
    importFails(
      () => loadDagFile(fixture("throws.ts")),
      fixture("throws.ts"),
      /the module threw Error: dataPath is not configured \(line 5, column \d+\)/,
    );
  });
  test("a cycle: the DAG, the cycle and the file; the DagCycleError as cause", () => {
    const e = importFails(
      () => loadDagFile(fixture("cycle.ts")),
      fixture("cycle.ts"),
      "DAG fixture_cycle: tasks: dependency cycle a -> b -> c -> a",
    );
    assert.ok(e.cause instanceof DagCycleError);
    assert.deepEqual((e.cause as DagCycleError).cycle, ["a", "b", "c", "a"]);
  });
  test("no DAG exported, no such file", () => {
    importFails(() => loadDagFile(fixture("no-dag.ts")), fixture("no-dag.ts"), "exports no DAG");
    importFails(() => loadDagFile(fixture("missing.ts")), fixture("missing.ts"), "no such file");
  });
  test("fresh: a changed file is evaluated again (a new module copy; isDag still recognises its DAGs)", () => {
    const dagModule = resolve("src/orchestration/dag.js");
    const file = join(tmp.dir, "changing.ts");
    const write = (id: string) =>
      writeFileSync(
        file,
        `import { dag } from ${JSON.stringify(dagModule)};\n` +
          `export default dag({ id: "${id}", startDate: "2026-01-01T00:00:00Z" }, (d) => { d.task("t", () => 1); });\n`,
      );
    write("version_one");
    assert.equal(loadDagFile(file)[0]?.id, "version_one");
    write("version_two");
    assert.equal(loadDagFile(file)[0]?.id, "version_one"); // cached
    assert.equal(loadDagFile(file, { fresh: true })[0]?.id, "version_two");
  });
});

test("listDagFiles: DAG files of a folder, sorted, without helpers, tests and declarations", () => {
  mkdirSync(join(tmp.dir, "list"));
  for (const name of [
    "b.ts",
    "a.ts",
    "c.js",
    "_helper.ts",
    ".hidden.ts",
    "x.test.ts",
    "types.d.ts",
    "notes.md",
  ])
    tmp.file(`list/${name}`, "");
  assert.deepEqual(
    listDagFiles(join(tmp.dir, "list")).map((f) => f.slice(tmp.dir.length + 6)),
    ["a.ts", "b.ts", "c.js"],
  );
  assert.deepEqual(listDagFiles(join(tmp.dir, "nowhere")), []);
});

test("tsx's cache folder is used only when it is this user's alone (a shared server's temporary folder)", () => {
  const euid = 4242; // any user id: the folders below are checked against it, not against this process
  const case_ = (name: string) => {
    const dir = join(tmp.dir, "tsx-cache", name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  // Missing: made here, 0700 (then it is this process's, so it is checked with this process's id).
  const fresh = case_("missing");
  const me = process.geteuid?.() as number;
  assert.equal(tsxCacheIsSafe(fresh, me), true);
  assert.equal(statSync(join(fresh, `tsx-${me}`)).mode & 0o777, 0o700);
  // Someone else's, or open to others, or not a folder: refused.
  const open = case_("open");
  mkdirSync(join(open, `tsx-${me}`));
  chmodSync(join(open, `tsx-${me}`), 0o777);
  assert.equal(tsxCacheIsSafe(open, me), false, "writable by others");
  const notMine = case_("not-mine");
  mkdirSync(join(notMine, `tsx-${euid}`), { mode: 0o700 });
  assert.equal(tsxCacheIsSafe(notMine, euid), process.geteuid?.() === euid, "owned by another user");
  const file = case_("file");
  writeFileSync(join(file, `tsx-${me}`), "");
  assert.equal(tsxCacheIsSafe(file, me), false, "a file");
  const link = case_("link");
  symlinkSync(fresh, join(link, `tsx-${me}`));
  assert.equal(tsxCacheIsSafe(link, me), false, "a symbolic link");
  if (me === 0) {
    // As root, a folder handed to another user: refused too.
    const given = case_("given");
    mkdirSync(join(given, "tsx-0"), { mode: 0o700 });
    chownSync(join(given, "tsx-0"), 65534, 65534);
    assert.equal(tsxCacheIsSafe(given, 0), false, "owned by nobody");
  }
});
