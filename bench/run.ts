/**
 * `make bench`: speed and memory of windflow's parts against anchors measured in the same run, reported as
 * ratios (absolute times on these shared 2-core machines vary from run to run; ratios much less).
 * Each measurement runs in its own process so peak RSS is that of the work alone.
 *   BENCH_REPEAT=n   repetitions of the fast loaders (median reported), default 3
 *   BENCH_SKIP=danfo skip danfojs' readCSV (25 s and 2.5 GB on the full file)
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { datasetPath, describeProvenance, makeDataset, readProvenance } from "../src/data/dataset.js";
import { writeFileAtomicSync } from "../src/util/atomic.js";

interface Measure {
  seconds: number;
  rssMB: number;
  rows?: number;
  [key: string]: unknown;
}

const root = join(__dirname, "..");
const repeat = Number(process.env.BENCH_REPEAT ?? 3);
const skip = new Set((process.env.BENCH_SKIP ?? "").split(",").filter(Boolean));

function child(cmd: string, args: string[]): Measure {
  const out = execFileSync(cmd, args, {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1e7,
  });
  const last = out.trim().split("\n").at(-1) ?? "";
  return JSON.parse(last) as Measure;
}
const tsx = (script: string, ...args: string[]) =>
  child(process.execPath, ["--import", "tsx", script, ...args]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
function best(runs: Measure[]): Measure {
  return {
    ...(runs[0] as Measure),
    seconds: median(runs.map((r) => r.seconds)),
    rssMB: Math.max(...runs.map((r) => r.rssMB)),
  };
}
const fmt = (m: Measure) => `${m.seconds.toFixed(2).padStart(7)} s ${m.rssMB.toFixed(0).padStart(6)} MB`;

void (async () => {
  const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };
  console.log("== windflow bench");

  // 1. Generating the full-size synthetic file (target: under 30 s).
  const tmp = join(tmpdir(), `windflow-bench-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const synth = tsx("bench/synthesize.ts", join(tmp, "synthetic.csv"));
    results.synthesize = synth;
    console.log(`synthesize full-size file: ${fmt(synth)}  ${synth.rows} rows  (target < 30 s)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  // 2. Loading the data file: ours vs pandas (anchor) vs danfojs.
  const file = datasetPath(join(root, "data"));
  if (!existsSync(file)) await makeDataset({ dataDir: join(root, "data"), log: (l) => console.log(l) });
  const provenance = readProvenance(file);
  console.log(`data file: ${file} (${provenance ? describeProvenance(provenance) : "origin unknown"})`);
  const python = join(root, ".venv-oracle/bin/python");
  const ours = best(Array.from({ length: repeat }, () => tsx("bench/load-windflow.ts", file)));
  const pandas = best(Array.from({ length: repeat }, () => child(python, ["bench/load_pandas.py", file])));
  // The course's own stack (pandas 1.5.3, Debian bookworm), the second anchor.
  const course = best(
    Array.from({ length: repeat }, () =>
      child(join(root, ".venv-course/bin/python"), ["bench/load_pandas.py", file]),
    ),
  );
  const danfo = skip.has("danfo") ? undefined : tsx("bench/load-danfo.ts", file);
  results.load = { ours, pandas, course, danfo, repeat };
  console.log(`load, median of ${repeat} (time, peak RSS):`);
  console.log(`  windflow (nodejs-polars)  ${fmt(ours)}`);
  console.log(`  pandas ${String(pandas.pandas).padEnd(8)} read_csv  ${fmt(pandas)}   anchor`);
  console.log(`  pandas ${String(course.pandas).padEnd(8)} read_csv  ${fmt(course)}   the course's pandas`);
  if (danfo) console.log(`  danfojs-node readCSV      ${fmt(danfo)}   (1 run)`);
  const speedVsPandas = pandas.seconds / ours.seconds;
  const rssVsPandas = ours.rssMB / pandas.rssMB;
  console.log(
    `  windflow is ${speedVsPandas.toFixed(1)}x faster than pandas (target >= 2x), peak RSS ${rssVsPandas.toFixed(2)}x pandas' (target <= 1x)`,
  );
  const speedVsCourse = course.seconds / ours.seconds;
  const rssVsCourse = ours.rssMB / course.rssMB;
  console.log(
    `  windflow is ${speedVsCourse.toFixed(1)}x faster than the course's pandas ${course.pandas}, peak RSS ${rssVsCourse.toFixed(2)}x its`,
  );
  const speedVsDanfo = danfo ? danfo.seconds / ours.seconds : undefined;
  if (speedVsDanfo)
    console.log(`  windflow is ${speedVsDanfo.toFixed(1)}x faster than danfojs (target >= 20x)`);
  results.ratios = { speedVsPandas, rssVsPandas, speedVsCourse, rssVsCourse, speedVsDanfo };

  mkdirSync(join(root, "artifacts"), { recursive: true });
  writeFileAtomicSync(join(root, "artifacts/bench.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log("wrote artifacts/bench.json");
})();
