/**
 * The trainee's version of the material: every solution region (nbgrader's markers, as `//` comments)
 *
 *     // BEGIN SOLUTION Exercise 4: add the predict task after prepare_features
 *     ...the solution...
 *     // END SOLUTION
 *
 * becomes, at the same indentation,
 *
 *     // TODO Exercise 4: add the predict task after prepare_features
 *     notDoneYet("Exercise 4: add the predict task after prepare_features");
 *
 * in TypeScript files and in notebook code cells (outputs and execution counts cleared). `notDoneYet` throws
 * "exercise not done yet", so a trainee who runs a cell before writing the code gets that sentence. Markers that
 * do not pair up are an error naming the file and the line: a broken region would hand out a solution.
 */

import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { WindflowError } from "../errors.js";
import { writeFileAtomicSync } from "../util/atomic.js";
import { type Notebook, parseNotebook } from "./run.js";

const BEGIN = /^(\s*)\/\/ BEGIN SOLUTION\b ?(.*)$/;
const END = /^\s*\/\/ END SOLUTION\b/;

/** Solution markers that do not pair up. */
export class SolutionMarkerError extends WindflowError {
  readonly retryable = false;
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: ${detail}`, {
      hint: "every `// BEGIN SOLUTION` needs its `// END SOLUTION`, not nested",
    });
  }
}

/** The text with its solution regions replaced by stubs (see the module comment); `regions` counts them. */
export function stripSolutions(text: string, file = "<text>"): { text: string; regions: number } {
  const out: string[] = [];
  let inside: { line: number } | undefined;
  let regions = 0;
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    const begin = BEGIN.exec(line);
    if (begin) {
      if (inside)
        throw new SolutionMarkerError(
          file,
          i + 1,
          `BEGIN SOLUTION inside the region opened at line ${inside.line}`,
        );
      inside = { line: i + 1 };
      regions++;
      const indent = begin[1] ?? "";
      const what = (begin[2] ?? "").trim() || "this exercise";
      out.push(`${indent}// TODO ${what}`, `${indent}notDoneYet(${JSON.stringify(what)});`);
      return;
    }
    if (END.test(line)) {
      if (!inside) throw new SolutionMarkerError(file, i + 1, "END SOLUTION without a BEGIN SOLUTION");
      inside = undefined;
      return;
    }
    if (!inside) out.push(line);
  });
  if (inside) throw new SolutionMarkerError(file, inside.line, "BEGIN SOLUTION never ended");
  return { text: out.join("\n"), regions };
}

/** A TypeScript file's student version: `notDoneYet` imported from windflow if a region was replaced. */
export function studentTypeScript(text: string, file = "<text>"): { text: string; regions: number } {
  const stripped = stripSolutions(text, file);
  if (stripped.regions === 0 || /\bnotDoneYet\b/.test(text)) return stripped;
  // Add notDoneYet to the first `import { ... } from "windflow"`, or a new import at the top.
  const from = /import \{([^}]*)\} from "windflow";/;
  if (from.test(stripped.text))
    return {
      ...stripped,
      text: stripped.text.replace(
        from,
        (_m, names: string) => `import {${names.replace(/\s*$/, "")}, notDoneYet } from "windflow";`,
      ),
    };
  return { ...stripped, text: `import { notDoneYet } from "windflow";\n${stripped.text}` };
}

/** A notebook's student version: code cells stripped, outputs and execution counts cleared. */
export function studentNotebook(
  notebook: Notebook,
  file = "<notebook>",
): { notebook: Notebook; regions: number } {
  let regions = 0;
  const cells = notebook.cells.map((cell, index) => {
    if (cell.cell_type !== "code") return cell;
    const source = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
    const stripped = stripSolutions(source, `${file} cell ${index + 1}`);
    regions += stripped.regions;
    return { ...cell, source: stripped.text, outputs: [], execution_count: null };
  });
  return { notebook: { ...notebook, cells }, regions };
}

/** Whether a file's text has solution markers. */
export const hasSolutions = (text: string) => /\/\/ (BEGIN|END) SOLUTION\b/.test(text);

/** The files of a project to hand out: git's tracked files, or (without git) everything but build outputs. */
function projectFiles(root: string): string[] {
  try {
    return execFileSync("git", ["ls-files", "-z"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    })
      .split("\0")
      .filter((f) => f !== "" && existsSync(join(root, f)));
  } catch {
    const skip = new Set([
      "node_modules",
      "dist",
      "data",
      "models",
      "artifacts",
      "build",
      ".git",
      ".venv",
      ".venv-oracle",
      ".venv-course",
      ".jupyter",
      ".windflow",
      ".e2e",
      ".scratch",
    ]);
    const out: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
        const rel = dir ? `${dir}/${e.name}` : e.name;
        if (skip.has(rel)) continue;
        if (e.isDirectory()) walk(rel);
        else out.push(rel);
      }
    };
    walk("");
    return out;
  }
}

/** What `makeStudentVersion` did. */
export interface StudentVersion {
  dest: string;
  files: number;
  /** Files whose solutions were replaced, with how many regions each. */
  stripped: { file: string; regions: number }[];
}

/** Writes `file` (relative to `root`) into `dest`, its solutions stripped when it has any. */
function copyStudentFile(root: string, dest: string, file: string): number {
  const src = join(root, file);
  const target = join(dest, file);
  mkdirSync(dirname(target), { recursive: true });
  if (file.endsWith(".ipynb") || file.endsWith(".ts")) {
    const text = readFileSync(src, "utf8");
    if (hasSolutions(text)) {
      if (file.endsWith(".ipynb")) {
        const { notebook, regions } = studentNotebook(parseNotebook(JSON.parse(text), file), file);
        writeFileAtomicSync(target, `${JSON.stringify(notebook, null, 1)}\n`);
        return regions;
      }
      const { text: out, regions } = studentTypeScript(text, file);
      writeFileAtomicSync(target, out);
      return regions;
    }
  }
  cpSync(src, target, { preserveTimestamps: true });
  return 0;
}

/**
 * The trainee's version of a project, ready to hand out: every tracked file copied into `dest`, solutions
 * replaced by stubs (`make student`). `dest` is replaced.
 */
export function makeStudentVersion(root: string, dest: string): StudentVersion {
  if (relative(root, dest) === "")
    throw new WindflowError("the student version cannot replace the project itself", {
      hint: "give another --output folder",
    });
  // Only an empty folder or an earlier student version is replaced: never someone's work.
  if (existsSync(dest) && readdirSync(dest).length > 0 && !existsSync(join(dest, ".windflow-student")))
    throw new WindflowError(`${dest} exists and is not a student version made by windflow`, {
      hint: "choose an empty folder (--output DIR), or remove it",
    });
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const files = projectFiles(root);
  const stripped: StudentVersion["stripped"] = [];
  for (const file of files) {
    const regions = copyStudentFile(root, dest, file);
    if (regions > 0) stripped.push({ file, regions });
  }
  writeFileAtomicSync(join(dest, ".windflow-student"), `made from ${root} on ${new Date().toISOString()}\n`);
  return { dest, files: files.length, stripped };
}

/**
 * Copies `folder` of `root` (relative, e.g. `notebooks`) into `dest`, subfolders included (`notebooks/fr/`),
 * solutions stripped. Hidden entries are left out: JupyterLab's `.ipynb_checkpoints/` hold solved copies.
 */
function copyStudentFolder(root: string, dest: string, folder: string): Omit<StudentVersion, "dest"> {
  const out: Omit<StudentVersion, "dest"> = { files: 0, stripped: [] };
  const dir = join(root, folder);
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const file = `${folder}/${name}`;
    const stat = statSync(join(root, file));
    if (stat.isDirectory()) {
      const sub = copyStudentFolder(root, dest, file);
      out.files += sub.files;
      out.stripped.push(...sub.stripped);
    } else if (stat.isFile()) {
      out.files++;
      const regions = copyStudentFile(root, dest, file);
      if (regions > 0) out.stripped.push({ file, regions });
    }
  }
  return out;
}

/**
 * A student workspace to run the trainee's notebooks in (`windflow notebooks run --student`, tests): the
 * `notebooks/` (every language: `notebooks/fr/` too) and `dags/` of `root`, stripped, in `dest`; `data/` and
 * `models/` linked to the project's, so the notebooks find the dataset where they expect it. `dest` must be inside
 * the project (the notebooks import windflow by name from node_modules).
 */
export function makeStudentWorkspace(root: string, dest: string): StudentVersion {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const stripped: StudentVersion["stripped"] = [];
  let count = 0;
  for (const folder of ["notebooks", "dags"]) {
    const copied = copyStudentFolder(root, dest, folder);
    count += copied.files;
    stripped.push(...copied.stripped);
  }
  for (const folder of ["data", "models"]) {
    mkdirSync(join(root, folder), { recursive: true });
    symlinkSync(join(root, folder), join(dest, folder), "dir");
  }
  return { dest, files: count, stripped };
}

/**
 * Where a project notebook is in a student workspace made from `root` in `dest`: at the same place
 * (`notebooks/fr/01-explore-the-data.ipynb` stays in `fr/`); a notebook from elsewhere, in `dest/notebooks/`.
 */
export function studentCounterpart(root: string, dest: string, notebook: string): string {
  const inProject = relative(root, resolve(root, notebook));
  return inProject.split(sep)[0] === "notebooks"
    ? join(dest, inProject)
    : join(dest, "notebooks", basename(notebook));
}

/** The folder, inside the project, where `windflow lab --student` keeps the trainee's work. */
export const TRAINEE_FOLDER = "trainee";
const TRAINEE_MARKER = ".windflow-trainee";

export interface TraineeWorkspace extends StudentVersion {
  /** False when an existing workspace was reopened as it was (the trainee's work kept). */
  created: boolean;
  /**
   * The environment a JupyterLab server needs for this workspace (its kernels and the launcher tile's
   * scheduler inherit it): a home of its own (database, logs) and its own `dags/`, where the trainee writes
   * Exercise 4.
   */
  env: Record<string, string>;
}

/** Options of `openTraineeWorkspace`. */
export interface OpenTraineeWorkspaceOptions {
  /**
   * A folder of the project (relative: `notebooks/fr`) the trainee is about to open. A workspace made before that
   * folder existed gets it, stripped, on reopening; nothing the trainee has is touched. @default none
   */
  ensure?: string;
}

/**
 * The trainee's version opened in place (`windflow lab --student`, `make lab-student`): the stripped
 * `notebooks/` (every language) and `dags/` in `<root>/trainee/`, `data/` and `models/` linked to the project's
 * (the dataset made once serves both), nothing installed twice (the notebooks and DAG files import windflow from
 * the project's node_modules). Made on first use; afterwards reopened as it is, so the trainee's work is kept
 * (remove the folder to start again). A folder of that name that windflow did not make is refused.
 */
export function openTraineeWorkspace(
  root: string,
  dest = join(root, TRAINEE_FOLDER),
  options: OpenTraineeWorkspaceOptions = {},
): TraineeWorkspace {
  const env = {
    WINDFLOW_HOME: join(dest, ".windflow"),
    WINDFLOW__CORE__DAGS_FOLDER: join(dest, "dags"),
  };
  if (existsSync(dest)) {
    if (!existsSync(join(dest, TRAINEE_MARKER)))
      throw new WindflowError(`${dest} exists and is not a trainee workspace made by windflow`, {
        hint: `move it away: windflow lab --student keeps the trainee's work in ${relative(root, dest)}/`,
      });
    if (options.ensure !== undefined && !existsSync(join(dest, options.ensure)))
      return { dest, ...copyStudentFolder(root, dest, options.ensure), created: false, env };
    return { dest, files: 0, stripped: [], created: false, env };
  }
  const made = makeStudentWorkspace(root, dest);
  writeFileAtomicSync(
    join(dest, TRAINEE_MARKER),
    `trainee workspace made from ${root} on ${new Date().toISOString()}; remove this folder to start again\n`,
  );
  return { ...made, created: true, env };
}
