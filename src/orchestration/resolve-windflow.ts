/**
 * `import ... from "windflow"` (and `"windflow/dag"`) from a DAG file anywhere. Node finds a package from the
 * importing file's folder upwards (`node_modules/windflow`), so a DAGs folder outside the project
 * (`[core] dags_folder = /srv/dags`) failed with `Cannot find module 'windflow'`. When that normal lookup
 * fails for `windflow` or `windflow/...`, this resolves it as if from inside this package (its own
 * `exports`, Node's self-reference), i.e. to the windflow that is loading the DAG file: the same copy, so a
 * DAG built by the file is the one the loader checks (`isDag`). Any other module is left to Node.
 *
 * Installed once per process by the DAG loader (`loader.ts`): parse processes, task processes, the CLI.
 */
import Module from "node:module";
import { join } from "node:path";

/** This package's folder (src/orchestration or dist/orchestration, two levels down). */
const PACKAGE_ROOT = join(__dirname, "..", "..");

type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;
const mod = Module as unknown as {
  _resolveFilename: ResolveFilename;
  _nodeModulePaths(dir: string): string[];
};
let installed = false;

/** Whether `request` names windflow or one of its subpaths. */
export function isWindflowSpecifier(request: string): boolean {
  return request === "windflow" || request.startsWith("windflow/");
}

/** Installs the fallback (see the module comment); idempotent. */
export function installWindflowResolver(): void {
  if (installed) return;
  installed = true;
  const original = mod._resolveFilename;
  // A module of this package, as the parent: Node then resolves "windflow" through the package's own exports.
  const insider = {
    id: join(PACKAGE_ROOT, "package.json"),
    filename: join(PACKAGE_ROOT, "package.json"),
    paths: mod._nodeModulePaths(PACKAGE_ROOT),
  };
  mod._resolveFilename = function (this: unknown, request, parent, isMain, options) {
    try {
      return original.call(this, request, parent, isMain, options);
    } catch (error) {
      if (!isWindflowSpecifier(request) || (error as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND")
        throw error;
      return original.call(this, request, insider, isMain);
    }
  };
}
