/**
 * The notebooks in French (`notebooks/fr/`, opened by `windflow lab --lang fr`), without a process or a server:
 * - every English notebook has a French twin and no French notebook lacks its English one;
 * - the twins have the same cells in the same order: each code cell identical (source, id, outputs: none), a
 *   markdown cell where English has one, and that markdown in French, not a copy of the English;
 * - a French notebook, one folder deeper, finds the same project as an English one (`findLabRoot`), in the project,
 *   in the trainee's version and in a copy that has no package.json;
 * - the trainee's version has the French notebooks too, solutions stripped, even when made before they existed.
 * That the French notebooks run on the real kernel is tested in lab-notebooks.test.ts; the identical code cells
 * carry the rest.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { findLabRoot, NOTEBOOK_FOLDERS } from "../src/notebook/lab-folders.js";
import { type Notebook, readNotebook } from "../src/notebook/run.js";
import { makeStudentWorkspace, openTraineeWorkspace, studentCounterpart } from "../src/notebook/student.js";
import { ROOT } from "./helpers/scheduler-env.js";

const EN = join(ROOT, NOTEBOOK_FOLDERS.en);
const FR = join(ROOT, NOTEBOOK_FOLDERS.fr);
const ipynb = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".ipynb"))
    .sort();
const source = (cell: Notebook["cells"][number]) =>
  Array.isArray(cell.source) ? cell.source.join("") : cell.source;

/** The words of a markdown text, its code spans left out: what a translator translates. */
const words = (text: string) =>
  text
    .replace(/`[^`]*`/g, " ")
    .replace(/https?:\/\/\S+/g, " ")
    .toLowerCase()
    .match(/[a-zàâçéèêëîïôûùüÿœæ]+/g) ?? [];
// Function words of each language (none in both), to tell French prose from English prose.
const FRENCH = new Set(
  "le la les des du de un une et est sont dans pour avec sur qui que ce cette ces au aux par pas ne son sa ses leur vous nous il elle où".split(
    " ",
  ),
);
const ENGLISH = new Set(
  "the of and is are in for with which that this these to by not it its their you we an be from as at".split(
    " ",
  ),
);

describe("the notebooks in French (notebooks/fr/)", () => {
  test("every English notebook has a French twin of the same name, and every French one an English twin", () => {
    assert.ok(ipynb(EN).length >= 6, "the six notebooks 00..05");
    assert.deepEqual(ipynb(FR), ipynb(EN));
  });

  for (const file of ipynb(EN)) {
    test(`${file}: the same cells in the same order, the code identical, the markdown in French`, () => {
      const en = readNotebook(join(EN, file));
      const fr = readNotebook(join(FR, file));
      assert.deepEqual(fr.metadata, en.metadata, "the same kernel (tslab) and metadata");
      assert.deepEqual(
        fr.cells.map((c) => `${c.cell_type} ${c.id}`),
        en.cells.map((c) => `${c.cell_type} ${c.id}`),
        "the same cells (type and id) in the same order: as many markdown cells, each code cell in its place",
      );
      en.cells.forEach((enCell, i) => {
        const frCell = fr.cells[i] as Notebook["cells"][number];
        const where = `${file} cell ${i + 1} (${enCell.id})`;
        if (enCell.cell_type === "code") {
          assert.equal(
            source(frCell),
            source(enCell),
            `${where}: the code differs from the English notebook's`,
          );
          assert.deepEqual(
            frCell,
            enCell,
            `${where}: not the same cell as the English one (metadata, outputs)`,
          );
          return;
        }
        const enText = source(enCell);
        const frText = source(frCell);
        // A cell of code spans or a bare heading has nothing to translate; every other one is translated.
        if (words(enText).length < 3) return;
        assert.notEqual(frText, enText, `${where}: the markdown is the English one`);
        const frWords = words(frText).map((w) => w.split("'").at(-1) as string);
        const french = frWords.filter((w) => FRENCH.has(w)).length;
        const english = frWords.filter((w) => ENGLISH.has(w)).length;
        assert.ok(
          french > english,
          `${where}: reads as English (${french} French, ${english} English words)`,
        );
        const enLines = new Set(enText.split("\n").filter((l) => words(l).length >= 4));
        const copied = frText.split("\n").filter((l) => enLines.has(l));
        assert.deepEqual(copied, [], `${where}: English lines left in the French markdown`);
      });
    });
  }
});

describe("a French notebook finds the project as an English one does (projectPaths, findLabRoot)", () => {
  test("in this project, from notebooks/ and notebooks/fr/ alike", () => {
    assert.equal(findLabRoot(EN), ROOT);
    assert.equal(findLabRoot(FR), ROOT);
    assert.equal(findLabRoot(ROOT), ROOT);
  });

  test("in a trainee's version inside the project (no package.json of its own) and in a copy of the project", () => {
    const dir = mkdtempSync(join(tmpdir(), "windflow-labroot-"));
    try {
      // A copy of the project as the notebook tests make one: notebooks/, dags/, data/, no package.json.
      for (const sub of ["notebooks/fr", "dags", "data"]) mkdirSync(join(dir, sub), { recursive: true });
      // The trainee's version inside it, as windflow lab --student makes it in trainee/.
      for (const sub of ["trainee/notebooks/fr", "trainee/dags", "trainee/data"])
        mkdirSync(join(dir, sub), { recursive: true });
      assert.equal(findLabRoot(join(dir, "notebooks")), dir);
      assert.equal(findLabRoot(join(dir, "notebooks", "fr")), dir);
      assert.equal(findLabRoot(join(dir, "trainee", "notebooks")), join(dir, "trainee"));
      assert.equal(findLabRoot(join(dir, "trainee", "notebooks", "fr")), join(dir, "trainee"));
      // A fresh clone has no data/ yet: dags/ beside notebooks/ is enough.
      mkdirSync(join(dir, "clone", "notebooks", "fr"), { recursive: true });
      mkdirSync(join(dir, "clone", "dags"));
      assert.equal(findLabRoot(join(dir, "clone", "notebooks", "fr")), join(dir, "clone"));
      // No project above: the notebook folder's parent, what `..` meant before.
      const alone = mkdtempSync(join(tmpdir(), "windflow-alone-"));
      mkdirSync(join(alone, "notebooks"));
      assert.equal(findLabRoot(join(alone, "notebooks")), alone);
      rmSync(alone, { recursive: true, force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the trainee's version in French", () => {
  /** A project as far as the trainee's version reads it: its notebooks (both languages) and dags/. */
  const project = () => {
    const dir = mkdtempSync(join(tmpdir(), "windflow-fr-student-"));
    cpSync(join(ROOT, "notebooks"), join(dir, "notebooks"), {
      recursive: true,
      filter: (src) => !src.includes(".ipynb_checkpoints"),
    });
    cpSync(join(ROOT, "dags"), join(dir, "dags"), { recursive: true });
    return dir;
  };
  const stubbed = (file: string) => {
    const text = readFileSync(file, "utf8");
    return !/BEGIN SOLUTION/.test(text) && /notDoneYet\(\\"Exercise/.test(text);
  };

  test("makeStudentWorkspace strips the French notebooks as the English ones", () => {
    const root = project();
    try {
      const made = makeStudentWorkspace(root, join(root, "trainee"));
      const exercises = [
        "01-explore-the-data",
        "02-features-and-model",
        "03-io-between-tasks",
        "05-going-further",
      ];
      assert.deepEqual(
        made.stripped.map((s) => s.file).sort(),
        [
          "dags/predict.ts",
          ...exercises.map((n) => `notebooks/${n}.ipynb`),
          ...exercises.map((n) => `notebooks/fr/${n}.ipynb`),
        ].sort(),
      );
      for (const n of exercises)
        assert.ok(stubbed(join(root, "trainee", "notebooks", "fr", `${n}.ipynb`)), n);
      assert.deepEqual(ipynb(join(root, "trainee", "notebooks", "fr")), ipynb(FR));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("windflow notebooks run --student runs the French notebook's student version, in fr/", () => {
    const dest = join(ROOT, ".windflow", "student");
    assert.equal(
      studentCounterpart(ROOT, dest, join(FR, "04-orchestration.ipynb")),
      join(dest, "notebooks", "fr", "04-orchestration.ipynb"),
    );
    assert.equal(
      studentCounterpart(ROOT, dest, join(EN, "04-orchestration.ipynb")),
      join(dest, "notebooks", "04-orchestration.ipynb"),
    );
    assert.equal(
      studentCounterpart(ROOT, dest, "/elsewhere/mine.ipynb"),
      join(dest, "notebooks", "mine.ipynb"),
    );
  });

  test("a trainee's version made before the French notebooks gets them when opened in French; the work is kept", () => {
    const root = project();
    try {
      const first = openTraineeWorkspace(root, join(root, "trainee"));
      assert.equal(first.created, true);
      // As made before notebooks/fr/ existed, then worked on.
      rmSync(join(root, "trainee", "notebooks", "fr"), { recursive: true });
      const mine = join(root, "trainee", "notebooks", "01-explore-the-data.ipynb");
      cpSync(join(root, "notebooks", "00-setup-check.ipynb"), mine);
      const english = openTraineeWorkspace(root, join(root, "trainee"), { ensure: NOTEBOOK_FOLDERS.en });
      assert.deepEqual([english.created, english.files], [false, 0]);
      assert.equal(
        existsSync(join(root, "trainee", "notebooks", "fr")),
        false,
        "only what is opened is added",
      );
      const french = openTraineeWorkspace(root, join(root, "trainee"), { ensure: NOTEBOOK_FOLDERS.fr });
      assert.equal(french.created, false);
      assert.equal(french.files, ipynb(FR).length);
      assert.equal(french.stripped.length, 4, "the four notebook exercises, stubbed");
      assert.ok(stubbed(join(root, "trainee", "notebooks", "fr", "05-going-further.ipynb")));
      assert.equal(
        readFileSync(mine, "utf8"),
        readFileSync(join(root, "notebooks", "00-setup-check.ipynb"), "utf8"),
        "the trainee's own work is left as it was",
      );
      const again = openTraineeWorkspace(root, join(root, "trainee"), { ensure: NOTEBOOK_FOLDERS.fr });
      assert.equal(again.files, 0, "added once");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
