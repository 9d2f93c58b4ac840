/**
 * Light start (issue 12 §4): what a DAG file and the CLI load before they do anything.
 * - `windflow/dag` and the CLI's entry point import, statically, none of the heavy libraries (polars,
 *   TensorFlow.js, danfo, the Jupyter client, dagre, fastify): the import graph is read from the sources, so
 *   the check does not depend on what this test process happened to load before.
 * - A DAGs folder outside the project imports `windflow/dag` and `windflow` (resolve-windflow.ts), and both
 *   give the same package as the loader's.
 * The timings are in `make bench` (bench/start.ts), not here.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { loadDagFile } from "../src/orchestration/loader.js";
import { isWindflowSpecifier } from "../src/orchestration/resolve-windflow.js";
import { tempDir } from "./helpers/csv.js";

const SRC = resolve(__dirname, "..", "src");
const HEAVY = [
  "nodejs-polars",
  "@tensorflow/",
  "danfojs-node",
  "@jupyterlab/",
  "@dagrejs/dagre",
  "fastify",
  "tslab",
  "plotly",
];

/**
 * The packages a source file loads when it is imported, following its relative imports: `import ... from`
 * and `export ... from`, not `import type` / `export type` (erased) nor `await import(...)` (loaded when a
 * command runs). Returns package specifiers and the chain of files that leads to each.
 */
function staticPackages(entry: string, options: { builtins?: boolean } = {}): Map<string, string[]> {
  const packages = new Map<string, string[]>();
  const seen = new Set<string>();
  const visit = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    const re = /^(?:import|export)\s+(?!type\b)(?:[^;]*?\sfrom\s+)?"([^"]+)";/gms;
    for (const m of text.matchAll(re)) {
      const spec = m[1] as string;
      if (spec.startsWith("node:") && !options.builtins) continue;
      if (!spec.startsWith(".")) {
        if (!packages.has(spec)) packages.set(spec, [...chain, file]);
        continue;
      }
      const target = resolve(dirname(file), spec.replace(/\.js$/, ".ts"));
      if (existsSync(target)) visit(target, [...chain, file]);
    }
  };
  visit(entry, []);
  return packages;
}

const heavyOf = (entry: string) =>
  [...staticPackages(entry)]
    .filter(([spec]) => HEAVY.some((h) => spec === h || spec.startsWith(h)))
    .map(([spec, chain]) => `${spec} via ${chain.map((f) => f.slice(SRC.length + 1)).join(" -> ")}`);

const tmp = tempDir("windflow-outside-");
after(() => tmp.cleanup());

describe("light start", () => {
  test("the import graph reader sees a heavy import (the check can fail)", () => {
    assert.ok(heavyOf(join(SRC, "index.ts")).some((h) => h.startsWith("nodejs-polars")));
  });

  test("a task process loads node:crypto only when it needs it (3 ms of a cold hand-off)", () => {
    const taskProcess = join(SRC, "orchestration", "executor", "task-process.ts");
    const builtins = staticPackages(taskProcess, { builtins: true });
    assert.ok(
      builtins.has("node:fs"),
      "the reader sees the builtins a task process imports (the check can fail)",
    );
    assert.equal(
      builtins.has("node:crypto"),
      false,
      `node:crypto imported at start via ${builtins.get("node:crypto")?.join(" -> ")}`,
    );
    assert.ok(
      staticPackages(join(SRC, "orchestration", "executor", "bullmq.ts"), { builtins: true }).has(
        "node:crypto",
      ),
    );
  });

  test("windflow/dag loads the authoring API only", () => {
    assert.deepEqual(heavyOf(join(SRC, "authoring.ts")), []);
    const pkg = JSON.parse(readFileSync(resolve(SRC, "..", "package.json"), "utf8")) as {
      exports: Record<string, { default: string }>;
    };
    assert.equal(pkg.exports["./dag"]?.default, "./dist/authoring.js");
  });

  test("the CLI's entry point loads no heavy library before a command runs (windflow --version)", () => {
    assert.deepEqual(heavyOf(join(SRC, "cli", "main.ts")), []);
  });

  test("the whole public API (windflow) imports polars only: TensorFlow.js, the Jupyter client, dagre, tsx load on first use", () => {
    // Statically, from the sources: polars is the one heavy library left (the course's DAG files use it in
    // nearly every task).
    const heavy = heavyOf(join(SRC, "index.ts")).filter((h) => !h.startsWith("nodejs-polars "));
    assert.deepEqual(heavy, []);
    for (const lazy of ["tsx/cjs/api", "cli-progress"])
      assert.equal(staticPackages(join(SRC, "index.ts")).get(lazy), undefined, lazy);
    // At run time, from the build, in a process: tests/light-start-process.test.ts (this file is in the fast lane).
  });

  test("a DAG file outside the project imports windflow/dag and windflow", () => {
    const light = tmp.file(
      "light.ts",
      'import { dag } from "windflow/dag";\nexport default dag({ id: "outside_light", startDate: "2026-01-01T00:00:00Z" }, (d) => {\n  d.task("noop", () => 1);\n});\n',
    );
    const full = tmp.file(
      "full.ts",
      'import { dag, VERSION } from "windflow";\nexport default dag({ id: "outside_full", startDate: "2026-01-01T00:00:00Z" }, (d) => {\n  d.task("version", () => VERSION);\n});\n',
    );
    assert.deepEqual(
      loadDagFile(light).map((d) => d.spec.id),
      ["outside_light"],
    );
    const [d] = loadDagFile(full);
    assert.equal(d?.spec.id, "outside_full");
    assert.equal(isWindflowSpecifier("windflow"), true);
    assert.equal(isWindflowSpecifier("windflow/dag"), true);
    assert.equal(isWindflowSpecifier("windflowx"), false);
  });

  test("another missing package is still an error naming it", () => {
    const bad = tmp.file("bad.ts", 'import "windflow-nope";\nexport {};\n');
    assert.throws(() => loadDagFile(bad), /Cannot find module 'windflow-nope'/);
  });
});
