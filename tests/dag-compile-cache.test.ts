/**
 * A DAG file is compiled once, not by every process that loads it (issue 12: a task process's start is most of
 * a hand-off). tsx keeps the code esbuild compiled in a cache on disk, keyed by the code, the file and the
 * loader's namespace: the loader gives every process the same first namespace, and processes that exit on
 * purpose (a DAG processor child, a task process) let that cache's writes land first (util/exit.ts
 * `settleFileWrites`). Proven without timings: once a DAG processor child has parsed a file, a task-like load
 * of it (fresh) and another parse succeed with esbuild made unavailable (`ESBUILD_BINARY_PATH` pointing
 * nowhere), while a file changed since, which needs compiling, fails there. Everything runs in processes with
 * a temporary folder of their own (tsx's cache lives under it).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";

const DIST = join(__dirname, "..", "dist");
const PARSE = join(DIST, "orchestration", "scheduler", "parse-process.js");
const LOADER = join(DIST, "orchestration", "loader.js");

const dir = mkdtempSync(join(tmpdir(), "windflow-compile-cache-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const tmp = join(dir, "tmp");
mkdirSync(tmp);
const dags = join(dir, "dags");
mkdirSync(dags);

const dagText = (value: number) => `import { dag } from "windflow/dag";
const answer: number = ${value};
export default dag({ id: "cached", startDate: "2026-01-01T00:00:00Z" }, (d) => {
  d.task("t", () => answer);
});
`;

/** Runs `args` with node in a process whose temporary folder is the test's; esbuild gone if `noEsbuild`. */
function run(args: string[], noEsbuild: boolean) {
  // The cache's write may wait past settleFileWrites' 100 ms for its turn on a loaded machine: not here.
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, WINDFLOW_SETTLE_WRITES_MS: "60000" };
  delete env.TSX_DISABLE_CACHE;
  // esbuild falls back to its own binary when this path does not exist: a program that is not esbuild.
  if (noEsbuild) env.ESBUILD_BINARY_PATH = "/bin/false";
  return spawnSync(process.execPath, args, { env, encoding: "utf8", timeout: 120_000 });
}

const parse = (file: string, noEsbuild = false) => run([PARSE, file], noEsbuild);
/** A task process's load: a fresh one, then the process exits as task processes do (process.exit). */
const freshLoad = (file: string, noEsbuild = false) =>
  run(
    [
      "-e",
      `const { loadDagFile } = require(${JSON.stringify(LOADER)});
       const [d] = loadDagFile(${JSON.stringify(file)}, { fresh: true });
       process.stdout.write(d.spec.id + "\\n");
       require(${JSON.stringify(join(DIST, "util", "exit.js"))}).settleFileWrites().then(() => process.exit(0));`,
    ],
    noEsbuild,
  );

describe("a DAG file compiled once serves every later process (tsx's cache)", () => {
  test("after one parse, a fresh load and a parse need no esbuild; a changed file does", () => {
    const file = join(dags, "cached.ts");
    writeFileSync(file, dagText(42));
    const first = parse(file);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /"ok":true/, first.stdout);
    assert.ok(
      readdirSync(tmp).some((n) => n.startsWith("tsx-")),
      "tsx's cache is under the process's temporary folder",
    );

    for (const [what, r] of [
      ["a task's fresh load", freshLoad(file, true)],
      ["another parse", parse(file, true)],
    ] as const) {
      assert.equal(r.status, 0, `${what} without esbuild: ${r.stderr}${r.stdout}`);
      assert.match(r.stdout, /cached/, what);
    }

    // The control: the same file changed needs compiling, which fails without esbuild (so the loads above
    // did come from the cache).
    writeFileSync(file, dagText(43));
    const changed = parse(file, true);
    assert.notEqual(changed.status, 0, changed.stdout);
    assert.match(changed.stdout, /"ok":false/);
    assert.ok(existsSync(file));
  });
});
