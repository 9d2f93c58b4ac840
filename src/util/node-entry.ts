/**
 * The command that starts one of windflow's own entry points (a task process, the warm worker, the DAG
 * parser, an external try) in a new Node process: `node <dir>/<name>.js` from the build, or, when windflow runs
 * from its TypeScript sources (tests, `tsx`), `node --import <tsx's loader> <dir>/<name>.ts`. tsx's loader is
 * given by its absolute path: Node resolves an `--import` specifier from the child's working folder, so a bare
 * `tsx` fails (`Cannot find package 'tsx'`) when that folder is a project outside windflow's (a DAGs folder
 * anywhere, a worker's data root).
 *
 * @param callerFile the caller's `__filename` (`.ts`: running from the sources)
 * @param name the entry point's file name in the caller's folder, without extension
 */
import { dirname, join } from "node:path";

export function nodeEntryCommand(callerFile: string, name: string): string[] {
  const fromSources = callerFile.endsWith(".ts");
  const entry = join(dirname(callerFile), `${name}${fromSources ? ".ts" : ".js"}`);
  return fromSources ? [process.execPath, "--import", tsxLoader(), entry] : [process.execPath, entry];
}

let loader: string | undefined;

/** The absolute path of tsx's ESM loader (what `--import tsx` finds from windflow's own folder). */
function tsxLoader(): string {
  loader ??= require.resolve("tsx");
  return loader;
}
