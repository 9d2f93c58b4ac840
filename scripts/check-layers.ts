/**
 * The layers of `src/` (docs/adr/0009-layers.md), checked over the TypeScript import graph: `make lint` runs
 * this script and fails on an import that goes against them. Every import counts: static, `import type`,
 * re-exports, `import()` and `require()` (a lazy import is still a dependency).
 *
 * A file belongs to the first layer whose pattern matches its path (relative to `src/`); a layer may import
 * the layers listed in its `may` and itself. Usage: `node --import tsx scripts/check-layers.ts [srcDir]`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/** One layer: the files it holds (first match wins) and the layers it may import besides itself. */
export interface Layer {
  readonly name: string;
  /** Paths relative to src/, `/`-separated: a file (`config.ts`) or a folder and all below (`util/`). */
  readonly files: readonly string[];
  readonly may: readonly string[];
  /** Why, for the message. */
  readonly what: string;
}

/** The layers, most specific patterns first (see the ADR for the picture). */
export const LAYERS: readonly Layer[] = [
  {
    name: "base",
    files: ["errors.ts", "version.ts", "util/", "orchestration/duration.ts", "orchestration/errors.ts"],
    may: [],
    what: "leaf modules: errors, the version, file helpers, the duration parser",
  },
  { name: "config", files: ["config.ts"], may: ["base"], what: "the one settings module" },
  // The engine, inside out: the core (DAGs, state machine, schedules), its store, its executor, its scheduler.
  {
    name: "engine-store",
    files: ["orchestration/store/"],
    may: ["base", "config", "engine-core"],
    what: "the metadata store",
  },
  {
    name: "engine-executor",
    // dags test runs tries in this process with the one try runner: it is an executor of sorts.
    files: ["orchestration/executor/", "orchestration/test-run.ts"],
    may: ["base", "config", "engine-core", "engine-store"],
    what: "task processes, the one try runner, test runs",
  },
  {
    name: "engine-scheduler",
    files: ["orchestration/scheduler/"],
    may: ["base", "config", "engine-core", "engine-store", "engine-executor"],
    what: "the scheduler",
  },
  {
    name: "engine-core",
    files: ["orchestration/"],
    may: ["base", "config"],
    what: "DAGs, the state machine, schedules",
  },
  // The ML side, beside the engine: neither imports the other (DAG files join them).
  { name: "ml-io", files: ["io/"], may: ["base", "config"], what: "dated files" },
  { name: "ml-data", files: ["data/"], may: ["base", "config", "ml-io"], what: "the dataset" },
  {
    name: "ml-features",
    files: ["features/"],
    may: ["base", "config", "ml-io", "ml-data"],
    what: "feature preparation",
  },
  { name: "ml-model", files: ["model/"], may: ["base", "config", "ml-io", "ml-data"], what: "the model" },
  {
    name: "ml-pipeline",
    files: ["pipeline/"],
    may: ["base", "config", "ml-io", "ml-data", "ml-features", "ml-model"],
    what: "the course's pipeline steps",
  },
  {
    name: "view",
    files: ["view/"],
    may: ["base", "engine-core"],
    what: "presentation shared by the web UI and the notebooks (state colours, graph layout, escaping)",
  },
  {
    name: "server",
    files: ["server/"],
    may: [
      "base",
      "config",
      "view",
      "engine-core",
      "engine-store",
      "engine-executor",
      "engine-scheduler",
      "ml-io",
      "ml-model",
    ],
    what: "the web server",
  },
  {
    name: "notebook",
    files: ["notebook/", "doctor.ts"],
    may: [
      "base",
      "config",
      "view",
      "engine-core",
      "engine-store",
      "engine-executor",
      "engine-scheduler",
      "ml-io",
      "ml-data",
      "ml-features",
      "ml-model",
      "ml-pipeline",
    ],
    what: "JupyterLab, notebooks and the environment check",
  },
  {
    name: "entry",
    files: ["cli/", "index.ts", "authoring.ts"],
    may: ["*"],
    what: "the CLI and the public API (windflow, windflow/dag)",
  },
];

/** The layer of a path relative to src/, or undefined if no pattern matches. */
export function layerOf(path: string, layers: readonly Layer[] = LAYERS): Layer | undefined {
  return layers.find((l) => l.files.some((f) => (f.endsWith("/") ? path.startsWith(f) : path === f)));
}

/** One import against the layers. */
export interface Violation {
  readonly from: string;
  readonly to: string;
  readonly message: string;
}

/**
 * The violations of an import graph (`from -> [to]`, paths relative to src/): imports into a layer the
 * importer may not use, and files in no layer.
 */
export function checkGraph(
  graph: ReadonlyMap<string, readonly string[]>,
  layers: readonly Layer[] = LAYERS,
): Violation[] {
  const out: Violation[] = [];
  for (const [from, targets] of graph) {
    const a = layerOf(from, layers);
    if (!a) {
      out.push({
        from,
        to: "",
        message: `${from} is in no layer: add it to LAYERS in scripts/check-layers.ts`,
      });
      continue;
    }
    for (const to of targets) {
      const b = layerOf(to, layers);
      if (!b) {
        out.push({ from, to, message: `${to} (imported by ${from}) is in no layer` });
        continue;
      }
      if (a === b || a.may.includes("*") || a.may.includes(b.name)) continue;
      out.push({
        from,
        to,
        message:
          `${from} (${a.name}: ${a.what}) imports ${to} (${b.name}: ${b.what}); ` +
          `${a.name} may import ${a.may.length === 0 ? "nothing but itself" : a.may.join(", ")}`,
      });
    }
  }
  return out;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFiles(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** The project-internal import graph of `srcDir`: every relative import, paths relative to `srcDir`. */
export function importGraph(srcDir: string): Map<string, string[]> {
  const root = resolve(srcDir);
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(root).sort()) {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const targets = new Set<string>();
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith(".")) continue; // a package or node: builtin
      const target = relative(root, resolve(dirname(file), fileName)).replace(/\.js$/, ".ts");
      if (target.startsWith("..")) continue; // outside src/ (package.json read as JSON)
      targets.add(target.split("\\").join("/"));
    }
    graph.set(relative(root, file).split("\\").join("/"), [...targets].sort());
  }
  return graph;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(__filename)) {
  const src = process.argv[2] ?? join(__dirname, "..", "src");
  const violations = checkGraph(importGraph(src));
  for (const v of violations) console.error(`layers: ${v.message}`);
  if (violations.length > 0) {
    console.error(`layers: ${violations.length} import(s) against docs/adr/0009-layers.md`);
    process.exitCode = 1;
  }
}
