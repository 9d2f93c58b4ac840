/**
 * Every notebook of notebooks/ run headless (`windflow notebooks run`: a real Jupyter server, the tslab kernel)
 * on a copy of the project whose data file is the full-size one (linked, not copied): what a trainee waits for.
 * The anchor is notebook 00 (a kernel start and an import of windflow), measured in the same run.
 *
 *   node --import tsx bench/notebooks.ts DATA_FILE
 *
 * Prints a table on stderr and one JSON line on stdout (what `bench/run.ts` reads).
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { runNotebooks } from "../src/notebook/run.js";

const root = join(__dirname, "..");

void (async () => {
  const data = resolve(process.argv[2] as string);
  mkdirSync(join(root, "build"), { recursive: true });
  const project = mkdtempSync(join(root, "build", "bench-notebooks-"));
  try {
    cpSync(join(root, "notebooks"), join(project, "notebooks"), { recursive: true });
    cpSync(join(root, "dags"), join(project, "dags"), { recursive: true });
    mkdirSync(join(project, "data"));
    symlinkSync(data, join(project, "data", "la-haute-borne-data-2017-2020.csv"));
    const paths = readdirSync(join(project, "notebooks"))
      .filter((f) => f.endsWith(".ipynb"))
      .sort()
      .map((f) => join(project, "notebooks", f));
    const began = performance.now();
    const results = await runNotebooks(paths, { root, timeoutMs: 900_000 });
    const wallSeconds = (performance.now() - began) / 1000;
    const notebooks = results.map((r) => ({
      name: basename(r.path),
      ok: r.ok,
      seconds: r.durationMs / 1000,
      kernelStartSeconds: r.kernelStartMs / 1000,
      ...(r.failure ? { failure: `cell ${r.failure.cellIndex}: ${r.failure.message.split("\n")[0]}` } : {}),
    }));
    process.stderr.write(
      [
        `notebooks headless, full-size data file (${basename(data)}):`,
        ...notebooks.map(
          (n) =>
            `  ${n.name.padEnd(32)} ${n.seconds.toFixed(1).padStart(6)} s  ${n.ok ? "ok" : `FAILED ${n.failure}`}`,
        ),
        `  all, wall time (one Jupyter server, a kernel per notebook): ${wallSeconds.toFixed(1)} s`,
        "",
      ].join("\n"),
    );
    process.stdout.write(`${JSON.stringify({ wallSeconds, notebooks })}\n`);
    if (results.some((r) => !r.ok)) process.exitCode = 1;
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
})();
