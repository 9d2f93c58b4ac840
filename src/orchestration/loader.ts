/**
 * Loading DAG files: `dags/*.ts` are imported with tsx's CommonJS API (TypeScript compiled on the fly by
 * esbuild, no build step), and every DAG they export is returned, validated and stamped with its file.
 * Whatever goes wrong (no such file, syntax error, the module throws, no DAG exported, an invalid DAG)
 * comes back as one `DagImportError` naming the file, with the original error as `cause`.
 *
 * This runs the file's top-level code: the scheduler calls it in a child process with a timeout (so that a
 * file that hangs or crashes stops nothing else), and the executor calls it to find a task's function.
 *
 * Modules are cached per process: loading the same file twice gives the same DAG objects, unless
 * `fresh: true`, which evaluates the file (and what it imports) again in a new tsx namespace; each fresh
 * load keeps its modules in memory, so a long-lived process should load changed files in a child instead.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { register as registerType } from "tsx/cjs/api";
import { type Dag, isDag } from "./dag.js";
import { DagImportError } from "./errors.js";
import { installWindflowResolver } from "./resolve-windflow.js";

// A DAGs folder outside the project can import "windflow" (resolve-windflow.ts).
installWindflowResolver();

/**
 * Whether tsx's transform cache folder (`<tmp>/tsx-<euid>`, which tsx creates without checking who owns it) is
 * this user's alone: created here (0700) if missing, then a directory of ours that nobody else may write to.
 * Not so on a shared server (another user made it first, or opened it up), its compiled code could be someone
 * else's: the cache is then turned off (`TSX_DISABLE_CACHE`, read when tsx loads) and every process compiles
 * its DAG files itself, as before the cache was shared across processes.
 */
export function tsxCacheIsSafe(
  tmp: string = tmpdir(),
  euid: number | undefined = process.geteuid?.(),
): boolean {
  if (euid === undefined) return true; // no POSIX users
  const dir = join(tmp, `tsx-${euid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch {
    // There already (checked below), or the temporary folder is not writable (tsx fails its own way).
  }
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === euid && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}
if (!process.env.TSX_DISABLE_CACHE && !tsxCacheIsSafe()) process.env.TSX_DISABLE_CACHE = "1";

/** Options of `loadDagFile`. */
export interface LoadDagOptions {
  /** Evaluate the file again even if this process loaded it before (see the module comment). @default false */
  fresh?: boolean;
}

type ScopedRequire = (id: string, fromFile: string) => unknown;
let shared: ScopedRequire | undefined;
/**
 * Namespaces registered in this process, whatever copy of this module did it (a DAG file that imports `windflow`
 * may load a second copy, inside a namespace): "windflow" is the first one once per process.
 */
const COUNT = Symbol.for("windflow.loader.tsxNamespaces");
const counter = globalThis as { [COUNT]?: number };

function requireFor(fresh: boolean): ScopedRequire {
  if (!fresh && shared) return shared;
  // tsx is required when the first DAG file is loaded, not when `windflow` is imported.
  const { register } = require("tsx/cjs/api") as { register: typeof registerType };
  // The first namespace of a process is "windflow", fresh or not: a task process (a fresh load) and a DAG
  // processor child (a shared one) then compile a file under the same name, and tsx's transform cache (on
  // disk, keyed by the code, the file and the namespace) serves every later process the code the first one
  // compiled: esbuild is not even started. With the pid in the namespace, every task and parse process
  // compiled its DAG file again (esbuild's start and the transform: 100-300 ms per process on a loaded 2-core
  // machine) and left new cache files behind. (The cache is written asynchronously: processes that exit on
  // purpose let those writes land first, util/exit.ts `settleFileWrites`.)
  const n = (counter[COUNT] ?? 0) + 1;
  counter[COUNT] = n;
  const scoped = register({ namespace: n === 1 ? "windflow" : `windflow-${n}` }).require;
  if (!fresh) shared = scoped;
  return scoped;
}

/** The line:column in `file` where an error was thrown, from its stack, if there. */
function whereIn(file: string, error: unknown): string | undefined {
  const stack = error instanceof Error ? (error.stack ?? "") : "";
  for (const line of stack.split("\n")) {
    const at = line.indexOf(file);
    if (at < 0) continue;
    const m = /^(?:\?[^:]*)?:(\d+):(\d+)/.exec(line.slice(at + file.length));
    if (m) return `line ${m[1]}, column ${m[2]}`;
  }
  return undefined;
}

function importError(file: string, error: unknown): DagImportError {
  const e = error instanceof Error ? error : new Error(String(error));
  const hint = (e as { hint?: unknown }).hint;
  if (e.name === "DagValidationError" || e.name === "DagCycleError")
    return new DagImportError(file, e.message, { cause: e, ...(typeof hint === "string" ? { hint } : {}) });
  if (e.name === "TransformError" || /Transform failed/.test(e.message)) {
    // esbuild: "Transform failed with 1 error:\n/path/file.ts:3:14: ERROR: Expected ..."
    const m = /:(\d+):(\d+): ERROR: (.*)/.exec(e.message);
    const detail = m ? `syntax error at line ${m[1]}, column ${m[2]}: ${m[3]}` : `syntax error: ${e.message}`;
    return new DagImportError(file, detail, { cause: e, hint: "fix the TypeScript syntax of the DAG file" });
  }
  const where = whereIn(file, e);
  return new DagImportError(file, `the module threw ${e.name}: ${e.message}${where ? ` (${where})` : ""}`, {
    cause: e,
    hint:
      typeof hint === "string"
        ? hint
        : "a DAG file runs when loaded: keep its top level to declarations, and do the work inside tasks",
  });
}

/**
 * Imports a DAG file and returns the DAGs it exports (default export first, then named exports, each DAG
 * once), with `spec.fileloc` set to the file's absolute path. Throws a `DagImportError` naming the file.
 */
export function loadDagFile(path: string, options: LoadDagOptions = {}): Dag[] {
  const file = resolve(path);
  if (!existsSync(file) || !statSync(file).isFile())
    throw new DagImportError(file, "no such file", { hint: "check the path and the DAGs folder" });
  let exported: unknown;
  try {
    exported = requireFor(options.fresh ?? false)(file, __filename);
  } catch (error) {
    throw importError(file, error);
  }
  const found: Dag[] = [];
  const candidates =
    typeof exported === "object" && exported !== null
      ? [(exported as Record<string, unknown>).default, ...Object.values(exported)]
      : [exported];
  for (const value of candidates) if (isDag(value) && !found.includes(value)) found.push(value);
  if (found.length === 0)
    throw new DagImportError(file, "exports no DAG", {
      hint: "end the file with `export default dag({ id: ... }, (d) => { ... })`",
    });
  const ids = new Set<string>();
  for (const d of found) {
    if (ids.has(d.id))
      throw new DagImportError(file, `exports two DAGs with the id "${d.id}"`, {
        hint: "give each DAG its own id",
      });
    ids.add(d.id);
  }
  return found.map((d) => d.locatedAt(file));
}

/** The DAG `dagId` of a file (what an executor needs); a `DagImportError` if the file does not define it. */
export function loadDag(path: string, dagId: string, options: LoadDagOptions = {}): Dag {
  const dags = loadDagFile(path, options);
  const found = dags.find((d) => d.id === dagId);
  if (!found)
    throw new DagImportError(
      resolve(path),
      `defines no DAG "${dagId}" (it defines ${dags.map((d) => d.id).join(", ")})`,
      {
        hint: "the DAG's id may have changed: run `windflow dags list`",
      },
    );
  return found;
}

/**
 * The DAG files of a folder, sorted: `.ts`, `.mts`, `.cts` and `.js` files, not in sub-folders, skipping
 * declaration files, tests (`*.test.ts`) and names starting with `_` or `.` (helpers, editors' files).
 */
export function listDagFiles(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.(c|m)?(ts|js)$/.test(e.name))
    .filter((e) => !/\.d\.(c|m)?ts$/.test(e.name) && !/\.test\./.test(e.name) && !/^[_.]/.test(e.name))
    .map((e) => join(resolve(folder), e.name))
    .sort();
}

/** Where windflow's example DAGs live (`[core] load_examples`). */
export function exampleDagsFolder(root: string): string {
  return join(root, "examples", "dags");
}

/**
 * The folders whose DAG files are read: `[core] dags_folder`, and windflow's examples when
 * `[core] load_examples` is on (as Airflow's `load_examples`).
 */
export function dagFolders(config: {
  core: { dags_folder: string; load_examples: boolean };
  root: string;
}): string[] {
  return config.core.load_examples
    ? [config.core.dags_folder, exampleDagsFolder(config.root)]
    : [config.core.dags_folder];
}

/** The DAG files of every folder of `dagFolders(config)`. */
export function listConfiguredDagFiles(config: {
  core: { dags_folder: string; load_examples: boolean };
  root: string;
}): string[] {
  return dagFolders(config).flatMap(listDagFiles);
}
