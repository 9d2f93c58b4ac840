/**
 * Type-checks a trainee's file (a DAG file of an exercise) with the TypeScript compiler and the project's own
 * tsconfig.json, before anything runs it: a mistake then reads as tsc's message at its line and column
 * ("dags/predict.ts:42:9 TS2345 Argument of type 'unknown' ...") instead of a TypeError deep inside a task
 * process at run time. Only problems in the given files are reported, not in the libraries they import.
 */
import { existsSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type * as TS from "typescript";

/** One problem tsc found, 1-based line and column. */
export interface TypeProblem {
  /** The file, relative to the project root. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** tsc's error code (`TS2345` is 2345). */
  readonly code: number;
  readonly message: string;
}

/** `file:line:column TScode message`, as editors and tsc print it. */
export function formatTypeProblem(p: TypeProblem): string {
  return `${p.file}:${p.line}:${p.column} TS${p.code} ${p.message}`;
}

/**
 * The type errors of `files` under the compiler options of `<root>/tsconfig.json` (or strict Node defaults when
 * there is none), nothing emitted. Empty: the files type-check.
 */
export function typeCheck(files: readonly string[], root: string): TypeProblem[] {
  // Lazy: the compiler is big, and only exercise checks need it.
  const ts = require("typescript") as typeof TS;
  const absolute = files.map((f) => resolve(root, f));
  const configPath = join(root, "tsconfig.json");
  let options: TS.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
  };
  if (existsSync(configPath)) {
    const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
    if (!read.error) options = ts.parseJsonConfigFileContent(read.config, ts.sys, root).options;
  }
  const compilerOptions = { ...options, noEmit: true, declaration: false };
  const host = cachingHost(ts, compilerOptions);
  const program = ts.createProgram({ rootNames: absolute, options: compilerOptions, host });
  const wanted = new Set(absolute);
  return ts
    .getPreEmitDiagnostics(program)
    .filter(
      (d) => d.category === ts.DiagnosticCategory.Error && d.file && wanted.has(resolve(d.file.fileName)),
    )
    .map((d) => {
      const file = d.file as TS.SourceFile;
      const { line, character } = file.getLineAndCharacterOfPosition(d.start ?? 0);
      return {
        file: relative(root, resolve(file.fileName)),
        line: line + 1,
        column: character + 1,
        code: d.code,
        message: ts.flattenDiagnosticMessageText(d.messageText, " "),
      };
    });
}

/**
 * Parsed files, by path and modification time, kept between checks in this process: a trainee re-runs a check
 * cell many times, and most of a check's time is parsing the declarations of windflow and its libraries
 * (measured: the first check of a DAG file several seconds, the next ones a fraction of that).
 */
const parsed = new Map<string, { mtimeMs: number; file: TS.SourceFile }>();

function cachingHost(ts: typeof TS, options: TS.CompilerOptions): TS.CompilerHost {
  const host = ts.createCompilerHost(options, true);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(fileName).mtimeMs;
    } catch {
      return read(fileName, languageVersion, onError, shouldCreate);
    }
    const key = `${fileName}\0${typeof languageVersion === "object" ? JSON.stringify(languageVersion) : languageVersion}`;
    const hit = parsed.get(key);
    if (hit && hit.mtimeMs === mtimeMs) return hit.file;
    const file = read(fileName, languageVersion, onError, shouldCreate);
    if (file) parsed.set(key, { mtimeMs, file });
    return file;
  };
  return host;
}
