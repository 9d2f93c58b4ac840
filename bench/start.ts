/**
 * Light start: what a process pays before it does anything (from the build, as `windflow` runs).
 * - `windflow --version`, wall time of the whole process, against the anchor `node -e 0` (a bare Node start);
 * - a cold no-op try: `task-process.js DAG TASK RUN_ID` started for a queued task instance, wall time from
 *   the spawn to its exit, and the try's own time (claim -> end, from the store), for a DAG file that imports
 *   `windflow/dag` (the authoring API alone) and one that imports `windflow` (the whole public API: polars,
 *   TensorFlow.js, the Jupyter client, dagre), in a DAGs folder outside the project (the bare specifier is
 *   resolved by `resolve-windflow.ts`).
 * Rounds alternate between the variants, so that the machine's load falls on each alike.
 *
 *   node --import tsx bench/start.ts [--rounds 10]
 *
 * Prints a table on stderr and one JSON line on stdout (what `bench/run.ts` reads).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../dist/config.js";
import { loadDagFile } from "../dist/orchestration/loader.js";
import { openStore, runTasksOf } from "../dist/orchestration/store/index.js";
import { argValue, stats } from "./stats.js";

const root = join(__dirname, "..");
const rounds = Number.parseInt(argValue("--rounds", "10"), 10);

/** Wall time of a process, ms; fails on a non-zero exit. */
function wall(args: readonly string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: root, env, stdio: ["ignore", "ignore", "pipe"] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`bench: node ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return Math.round(ms);
}

function main(): void {
  const home = mkdtempSync(join(tmpdir(), "windflow-bench-start-"));
  const dags = join(home, "dags"); // outside the project: "windflow" is not in any node_modules above it
  const variants = { light: "windflow/dag", full: "windflow" } as const;
  const env = {
    ...Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("WINDFLOW__") && k !== "WINDFLOW_HOME"),
    ),
    WINDFLOW_HOME: home,
    WINDFLOW__CORE__DAGS_FOLDER: dags,
  };
  const config = loadConfig({ root, env });
  const store = openStore(config);
  try {
    mkdirSync(dags, { recursive: true });
    for (const [name, specifier] of Object.entries(variants)) {
      const file = join(dags, `${name}.ts`);
      writeFileSync(
        file,
        `import { dag } from ${JSON.stringify(specifier)};
export default dag({ id: "start_${name}", startDate: "2026-01-01T00:00:00Z" }, (d) => {
  d.task("noop", () => {});
});
`,
      );
      const [d] = loadDagFile(file);
      if (!d) throw new Error(`bench: no DAG in ${file}`);
      store.upsertDag(d.spec, { parsedAt: new Date() });
    }
    const taskProcess = join(root, "dist", "orchestration", "executor", "task-process.js");
    const out = {
      anchor: [] as number[],
      version: [] as number[],
      light: [] as number[],
      full: [] as number[],
      lightOwn: [] as number[],
      fullOwn: [] as number[],
    };
    for (let i = 0; i < rounds; i++) {
      out.anchor.push(wall(["-e", "0"]));
      out.version.push(wall([join(root, "dist", "cli", "main.js"), "--version"]));
      for (const name of Object.keys(variants) as (keyof typeof variants)[]) {
        const dagId = `start_${name}`;
        const spec = store.getDag(dagId)?.spec;
        if (!spec) throw new Error(`bench: ${dagId} not in the store`);
        const logicalDate = new Date(Date.UTC(2026, 0, 1, 0, 0, i));
        const runId = `bench__${i}`;
        store.createRun({
          dagId,
          runId,
          runType: "manual",
          logicalDate,
          dataInterval: { start: logicalDate, end: logicalDate },
          conf: {},
          tasks: runTasksOf(spec),
        });
        const key = { dagId, runId, taskId: "noop" };
        store.setTaskState(key, "none", "scheduled");
        store.setTaskState(key, "scheduled", "queued");
        out[name].push(wall([taskProcess, dagId, "noop", runId], env));
        const ti = store.getTaskInstance(key);
        if (ti?.state !== "success") throw new Error(`bench: ${dagId} ${runId} ended ${ti?.state}`);
        out[`${name}Own`].push((ti.endedAt as Date).getTime() - (ti.startedAt as Date).getTime());
      }
    }
    const result = {
      rounds,
      anchorMs: stats(out.anchor),
      versionMs: stats(out.version),
      coldTryLightMs: stats(out.light),
      coldTryFullMs: stats(out.full),
      tryOwnLightMs: stats(out.lightOwn),
      tryOwnFullMs: stats(out.fullOwn),
    };
    const line = (label: string, s: { median: number; min: number; max: number }) =>
      `  ${label.padEnd(50)} median ${String(s.median).padStart(5)} ms  (min ${s.min}, max ${s.max}, ${(s.median / result.anchorMs.median).toFixed(2)}x node -e 0)`;
    process.stderr.write(
      [
        `light start, ${rounds} rounds (from the build):`,
        line("node -e 0 (anchor)", result.anchorMs),
        line("windflow --version", result.versionMs),
        line("cold no-op try, DAG file imports windflow/dag", result.coldTryLightMs),
        line("cold no-op try, DAG file imports windflow", result.coldTryFullMs),
        line("  its own time (claim -> end), windflow/dag", result.tryOwnLightMs),
        line("  its own time (claim -> end), windflow", result.tryOwnFullMs),
        "",
      ].join("\n"),
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    store.close();
    rmSync(home, { recursive: true, force: true });
  }
}

main();
