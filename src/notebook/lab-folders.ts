/**
 * Where the lab's notebooks live, in each language, and how a notebook finds the project it belongs to.
 *
 * The notebooks exist in English (`notebooks/`) and in French (`notebooks/fr/`), with the same code cells byte for
 * byte (a test checks it). A French notebook's kernel runs one folder deeper, so the code cannot say `..` for the
 * project: `findLabRoot` walks up to it instead, and the same cell finds the same files from either folder.
 */
import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The languages of the lab's notebooks and the folder of each, relative to the project. */
export const NOTEBOOK_FOLDERS = { en: "notebooks", fr: "notebooks/fr" } as const;

/** A language of the lab's notebooks (`windflow lab --lang`, `make lab LANG=`). */
export type NotebookLanguage = keyof typeof NOTEBOOK_FOLDERS;

/** The languages, in the order help texts list them. */
export const NOTEBOOK_LANGUAGES = Object.keys(NOTEBOOK_FOLDERS) as NotebookLanguage[];

/** The language the lab opens on when none is asked for. */
export const DEFAULT_NOTEBOOK_LANGUAGE: NotebookLanguage = "en";

const isDirectory = (path: string) => statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;

/**
 * The folder a notebook's paths are relative to: the nearest folder at or above `start` that holds a `dags/`
 * folder beside a `notebooks/` or a `data/` folder. That is the project for its own notebooks (`notebooks/` and
 * `notebooks/fr/` alike), the trainee's folder for the trainee's version (`trainee/`, which has no package.json of
 * its own), and a test's copy of the project for its copy. When no folder above matches, `start`'s parent (what
 * `..` meant before the notebooks came in two languages).
 *
 * @param start the folder to start from; @default process.cwd(), which a Jupyter kernel sets to its notebook's folder
 */
export function findLabRoot(start: string = process.cwd()): string {
  const from = resolve(start);
  for (let dir = from; ; dir = dirname(dir)) {
    if (
      isDirectory(join(dir, "dags")) &&
      (isDirectory(join(dir, "notebooks")) || isDirectory(join(dir, "data")))
    )
      return dir;
    if (dirname(dir) === dir) return dirname(from);
  }
}
