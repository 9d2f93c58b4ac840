/**
 * The layer rule of `make lint` (scripts/check-layers.ts, docs/adr/0009-layers.md): the checker finds an import
 * against the layers in a small graph and in a real folder, says which layer may import what, and the project's
 * own src/ keeps the rule.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { checkGraph, importGraph, LAYERS, type Layer, layerOf } from "../scripts/check-layers.js";
import { ROOT } from "./helpers/scheduler-env.js";

const SMALL: Layer[] = [
  { name: "base", files: ["util/", "errors.ts"], may: [], what: "leaves" },
  { name: "engine", files: ["engine/"], may: ["base"], what: "the engine" },
  { name: "ui", files: ["ui/"], may: ["base", "engine"], what: "the UI" },
];

describe("layer checker", () => {
  test("a file's layer is its first matching pattern; folders match below, files exactly", () => {
    assert.equal(layerOf("util/a/b.ts", SMALL)?.name, "base");
    assert.equal(layerOf("errors.ts", SMALL)?.name, "base");
    assert.equal(layerOf("errors.tsx", SMALL), undefined);
    assert.equal(layerOf("orchestration/duration.ts")?.name, "base");
    assert.equal(layerOf("orchestration/store/sqlite.ts")?.name, "engine-store");
    assert.equal(layerOf("orchestration/dag.ts")?.name, "engine-core");
    assert.equal(layerOf("view/graph.ts")?.name, "view");
  });

  test("imports down and within a layer pass; up, sideways and into no layer are each reported", () => {
    const graph = new Map([
      ["ui/page.ts", ["engine/run.ts", "util/x.ts", "ui/other.ts"]],
      ["engine/run.ts", ["util/x.ts", "ui/page.ts"]],
      ["util/x.ts", ["engine/run.ts"]],
      ["stray.ts", []],
      ["engine/b.ts", ["nowhere/c.ts"]],
    ]);
    const found = checkGraph(graph, SMALL);
    assert.deepEqual(
      found.map((v) => `${v.from} -> ${v.to}`),
      [
        "engine/run.ts -> ui/page.ts",
        "util/x.ts -> engine/run.ts",
        "stray.ts -> ",
        "engine/b.ts -> nowhere/c.ts",
      ],
    );
    assert.match(
      found[0]?.message ?? "",
      /engine\/run\.ts \(engine: the engine\) imports ui\/page\.ts \(ui: the UI\); engine may import base/,
    );
    assert.match(found[1]?.message ?? "", /base may import nothing but itself/);
    assert.match(found[2]?.message ?? "", /stray\.ts is in no layer: add it to LAYERS/);
  });

  test("the import graph counts static, type-only, re-exported, dynamic and required imports", () => {
    const dir = mkdtempSync(join(tmpdir(), "windflow-layers-"));
    try {
      const write = (path: string, text: string) => {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      };
      write("util/x.ts", 'import { readFileSync } from "node:fs";\nexport const x = 1;\n');
      write("ui/a.ts", 'import type { T } from "../engine/t.js";\nexport { y } from "../engine/y.js";\n');
      write(
        "engine/t.ts",
        'export type T = 1;\nexport async function f() { return import("../ui/a.js"); }\n' +
          'const g = require("../util/x.js");\n',
      );
      write("engine/y.ts", "export const y = 2;\n");
      const graph = importGraph(dir);
      assert.deepEqual(Object.fromEntries(graph), {
        "engine/t.ts": ["ui/a.ts", "util/x.ts"],
        "engine/y.ts": [],
        "ui/a.ts": ["engine/t.ts", "engine/y.ts"],
        "util/x.ts": [],
      });
      assert.deepEqual(
        checkGraph(graph, SMALL).map((v) => `${v.from} -> ${v.to}`),
        ["engine/t.ts -> ui/a.ts"],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("src/ keeps its layers, and every layer a rule names exists", () => {
    const names = new Set(LAYERS.map((l) => l.name));
    for (const layer of LAYERS)
      for (const may of layer.may)
        assert.ok(may === "*" || names.has(may), `${layer.name} may import ${may}: no such layer`);
    const graph = importGraph(join(ROOT, "src"));
    assert.ok(graph.size > 100, `src/ has ${graph.size} files`);
    assert.deepEqual(
      checkGraph(graph).map((v) => v.message),
      [],
    );
  });
});
