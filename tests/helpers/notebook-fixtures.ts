/**
 * Throw-away notebooks for the runner's tests. They are written under `<root>/.windflow/test-notebooks/`
 * (git-ignored) rather than the OS temp folder because tslab resolves `import ... from "windflow"` from the
 * notebook's folder upwards: only a folder inside the project sees `node_modules/windflow`.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A cell: a plain string is a code cell; `{ markdown }` is a markdown cell. */
export type FixtureCell = string | { markdown: string };

/** An nbformat 4.5 notebook for the tslab kernel, without outputs, as JupyterLab would save it. */
export function notebookJson(cells: readonly FixtureCell[]): string {
  const notebook = {
    cells: cells.map((cell, i) =>
      typeof cell === "string"
        ? { cell_type: "code", id: `c${i}`, metadata: {}, execution_count: null, outputs: [], source: cell }
        : { cell_type: "markdown", id: `c${i}`, metadata: {}, source: cell.markdown },
    ),
    metadata: {
      kernelspec: { display_name: "TypeScript", language: "typescript", name: "tslab" },
      language_info: { name: "typescript", file_extension: ".ts", mimetype: "text/typescript" },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  return `${JSON.stringify(notebook, null, 1)}\n`;
}

/** A fresh folder under `<root>/.windflow/test-notebooks/`; `remove()` deletes it (call it in `after`). */
export function tempNotebookDir(root: string): {
  dir: string;
  write(name: string, cells: readonly FixtureCell[]): string;
  remove(): void;
} {
  const dir = join(root, ".windflow", "test-notebooks", randomBytes(6).toString("hex"));
  mkdirSync(dir, { recursive: true });
  return {
    dir,
    write(name, cells) {
      const path = join(dir, name);
      writeFileSync(path, notebookJson(cells));
      return path;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
