/**
 * The notebook kernels' memory (issue 11: a classroom server runs dozens of them). Each notebook runs headless
 * (`windflow notebooks run`'s runner: a real Jupyter server, the tslab kernel) on a copy of the project whose data
 * file is the full-size one (linked); the kernel's process tree (tslab and anything it starts) has its resident
 * memory (/proc/PID/status VmRSS) sampled every 0.2 s. Reports the peak per notebook, the resident memory after
 * each code cell, and, for one notebook (`--breakdown`), what the kernel is made of:
 *   - an import notebook: an empty kernel, then nodejs-polars, TensorFlow.js, danfojs-node and windflow imported
 *     one cell each;
 *   - the notebook again with a probe cell after each code cell: process.memoryUsage() from inside the kernel
 *     (V8 heap, external, and the rest: native libraries, polars' and TensorFlow's own allocations, code), before
 *     and after a full garbage collection.
 *
 *   node --import tsx bench/kernel-memory.ts DATA_FILE [--notebooks 01,02] [--breakdown 02|none]
 *
 * Prints tables on stderr and one JSON line on stdout (what `bench/run.ts` reads).
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import {
  type Notebook,
  type NotebookCell,
  readNotebook,
  runNotebooks,
  writeNotebook,
} from "../src/notebook/run.js";
import { argValue } from "./stats.js";

const root = join(__dirname, "..");
const MB = 2 ** 20;

// ---------------------------------------------------------------------------------------------------------
// /proc sampling

/** Every process's parent, from /proc/PID/stat (the field after the command, which may hold spaces). */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      map.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return map;
}

/** A memory field of /proc/PID/status, in bytes (0 once the process is gone). */
function statusBytes(pid: number, field: "VmRSS" | "VmHWM" | "RssAnon"): number {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function rssBytes(pid: number): number {
  return statusBytes(pid, "VmRSS");
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/**
 * Whether a command line is a notebook kernel's: windflow's kernelspec starts tslab through
 * `dist/notebook/kernel.js --config-path FILE` (kernel.ts); tslab's own is `tslab kernel --config-path FILE`.
 */
function isKernel(command: string): boolean {
  return /\/notebook\/kernel\.js --config-path |tslab.* kernel /.test(command);
}

/**
 * The resident memory of every tslab kernel started under this process: the kernels' own processes (`kernel`),
 * and each with its descendants (`tree`: the scheduler and task processes a notebook's engine starts).
 */
function kernelTreesRss(): { kernel: number; tree: number; kernelHwm: number; kernelAnon: number } {
  const parent = parents();
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parent) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const descendants = (pid: number): number[] => [
    pid,
    ...(children.get(pid) ?? []).flatMap((c) => descendants(c)),
  ];
  const mine = descendants(process.pid);
  let tree = 0;
  let kernel = 0;
  let kernelHwm = 0;
  let kernelAnon = 0;
  for (const pid of mine) {
    if (!isKernel(cmdline(pid))) continue;
    kernel += rssBytes(pid);
    kernelHwm += statusBytes(pid, "VmHWM");
    kernelAnon += statusBytes(pid, "RssAnon");
    for (const p of descendants(pid)) tree += rssBytes(p);
  }
  return { kernel, tree, kernelHwm, kernelAnon };
}

/** Samples every `intervalMs`; `peak` since the last `reset`. */
class Sampler {
  /** Peak of the kernels' trees since the last `reset`. */
  peak = 0;
  /** Peak of the kernels' own processes since the last `reset`. */
  kernelPeak = 0;
  /**
   * The kernel's own high-water mark (VmHWM: the kernel's true peak, which a 0.2 s sample can miss inside a long
   * synchronous step) and the peak of its anonymous memory (RssAnon: VmRSS without the pages of files it maps, such
   * as the shared libraries and the data file polars reads, which the page cache shares between kernels).
   */
  kernelHwm = 0;
  kernelAnonPeak = 0;
  private timer: NodeJS.Timeout;
  constructor(intervalMs = 200) {
    this.timer = setInterval(() => this.sample(), intervalMs);
  }
  sample(): number {
    const { kernel, tree, kernelHwm, kernelAnon } = kernelTreesRss();
    this.peak = Math.max(this.peak, tree);
    this.kernelPeak = Math.max(this.kernelPeak, kernel);
    this.kernelHwm = Math.max(this.kernelHwm, kernelHwm);
    this.kernelAnonPeak = Math.max(this.kernelAnonPeak, kernelAnon);
    return tree;
  }
  reset(): void {
    this.peak = 0;
    this.kernelPeak = 0;
    this.kernelHwm = 0;
    this.kernelAnonPeak = 0;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Runs

interface CellMemory {
  cell: number;
  firstLine: string;
  seconds: number;
  /** The kernel tree's resident memory when the cell finished, and its peak while the cell ran. */
  endMB: number;
  peakMB: number;
}
interface NotebookMemory {
  name: string;
  ok: boolean;
  failure?: string;
  /** The kernel's process tree (with the task processes its engine starts). */
  peakMB: number;
  /** The kernel's own process. */
  kernelPeakMB: number;
  /** The kernel's own high-water mark (VmHWM) and the peak of its anonymous memory (see Sampler). */
  kernelHwmMB: number;
  kernelAnonPeakMB: number;
  cells: CellMemory[];
}

/** A notebook's entry before its first cell's figures. */
const notMeasured = (path: string): NotebookMemory => ({
  name: basename(path),
  ok: false,
  peakMB: 0,
  kernelPeakMB: 0,
  kernelHwmMB: 0,
  kernelAnonPeakMB: 0,
  cells: [],
});

async function measure(paths: string[], sampler: Sampler): Promise<NotebookMemory[]> {
  const byPath = new Map<string, NotebookMemory>();
  let cellPeak = 0;
  const results = await runNotebooks(paths, {
    root,
    timeoutMs: 900_000,
    onCell: (event) => {
      if (event.kind === "start") {
        sampler.sample();
        if (!byPath.has(event.path)) {
          sampler.reset();
          byPath.set(event.path, notMeasured(event.path));
        }
        cellPeak = sampler.peak;
        return;
      }
      const rss = sampler.sample();
      // A cell ran, so a kernel runs: none found means this bench no longer recognises its command line.
      if (rss === 0)
        throw new Error("bench: no notebook kernel process found under this process (see isKernel)");
      const entry = byPath.get(event.path) as NotebookMemory;
      const source = sourceOf(event.path, event.result.cellIndex);
      entry.cells.push({
        cell: event.result.cellIndex,
        firstLine: source.split("\n").find((l) => l.trim() !== "" && !l.startsWith("//")) ?? "",
        seconds: event.result.durationMs / 1000,
        endMB: rss / MB,
        peakMB: Math.max(sampler.peak, cellPeak) / MB,
      });
      entry.peakMB = sampler.peak / MB;
      entry.kernelPeakMB = sampler.kernelPeak / MB;
      entry.kernelHwmMB = sampler.kernelHwm / MB;
      entry.kernelAnonPeakMB = sampler.kernelAnonPeak / MB;
    },
  });
  return results.map((r) => {
    const entry = byPath.get(r.path) ?? notMeasured(r.path);
    entry.ok = r.ok;
    if (r.failure) entry.failure = `cell ${r.failure.cellIndex}: ${r.failure.message.split("\n")[0]}`;
    return entry;
  });
}

const sources = new Map<string, Notebook>();
function sourceOf(path: string, cellIndex: number): string {
  if (!sources.has(path)) sources.set(path, readNotebook(path));
  const cell = (sources.get(path) as Notebook).cells[cellIndex - 1] as NotebookCell;
  return typeof cell.source === "string" ? cell.source : cell.source.join("");
}

// ---------------------------------------------------------------------------------------------------------
// The breakdown: probe cells print process.memoryUsage() from inside the kernel.

const PROBE_SETUP = `import { setFlagsFromString as memProbeFlags } from "node:v8";
import { runInNewContext as memProbeRunIn } from "node:vm";
(globalThis as { __probe?: (label: string) => void }).__probe = (label: string): void => {
  const before = process.memoryUsage();
  memProbeFlags("--expose-gc");
  (memProbeRunIn("gc") as () => void)();
  const after = process.memoryUsage();
  console.log(\`@@mem \${JSON.stringify({ label, before, after })}\`);
};`;
const probe = (label: string): string =>
  `(globalThis as { __probe?: (label: string) => void }).__probe?.(${JSON.stringify(label)});`;

function codeCell(source: string): NotebookCell {
  return { cell_type: "code", source, metadata: {}, outputs: [], execution_count: null };
}

/** An import notebook: an empty kernel, then each library (TypeScript drops unused imports: each is used). */
function importNotebook(): Notebook {
  const cells: NotebookCell[] = [codeCell(PROBE_SETUP), codeCell(probe("empty kernel (1 + 1)"))];
  const imports: Array<[string, string]> = [
    ["nodejs-polars", `import pl from "nodejs-polars";\ntypeof pl.DataFrame`],
    ["@tensorflow/tfjs", `import * as tf from "@tensorflow/tfjs";\ntypeof tf.tensor`],
    ["danfojs-node", `import * as dfd from "danfojs-node";\ntypeof dfd.DataFrame`],
    ["windflow", `import { loadDataset } from "windflow";\ntypeof loadDataset`],
  ];
  for (const [name, source] of imports) cells.push(codeCell(source), codeCell(probe(`+ import ${name}`)));
  return { nbformat: 4, nbformat_minor: 5, metadata: {}, cells };
}

/** The notebook with a probe after each code cell. */
function probedNotebook(notebook: Notebook): Notebook {
  const cells: NotebookCell[] = [codeCell(PROBE_SETUP), codeCell(probe("empty kernel"))];
  notebook.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    const source = typeof cell.source === "string" ? cell.source : cell.source.join("");
    const first = source.split("\n").find((l) => l.trim() !== "" && !l.startsWith("//")) ?? "";
    cells.push(cell, codeCell(probe(`cell ${i + 1}: ${first.slice(0, 50)}`)));
  });
  return { ...notebook, cells };
}

interface Usage {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}
interface Probe {
  label: string;
  before: Usage;
  after: Usage;
}

async function breakdown(paths: string[]): Promise<Probe[][]> {
  const results = await runNotebooks(paths, { root, timeoutMs: 900_000 });
  return results.map((r) => {
    if (!r.ok) throw new Error(`${basename(r.path)} failed: ${r.failure?.message}`);
    const probes: Probe[] = [];
    for (const cell of r.cells)
      for (const output of cell.outputs) {
        if (output.output_type !== "stream") continue;
        const text = typeof output.text === "string" ? output.text : output.text.join("");
        for (const line of text.split("\n"))
          if (line.startsWith("@@mem ")) probes.push(JSON.parse(line.slice(6)) as Probe);
      }
    return probes;
  });
}

const mb = (n: number) => (n / MB).toFixed(0).padStart(6);
function probeTable(title: string, probes: Probe[]): string[] {
  return [
    title,
    `  ${"".padEnd(60)} ${"rss".padStart(6)} ${"heap".padStart(6)} ${"used".padStart(6)} ${"extern".padStart(6)} ${"other".padStart(6)} | after gc: ${"rss".padStart(6)} ${"used".padStart(6)} ${"extern".padStart(6)} ${"other".padStart(6)}  (MB)`,
    ...probes.map((p) => {
      const other = (u: Usage) => u.rss - u.heapTotal - u.external;
      return `  ${p.label.slice(0, 60).padEnd(60)} ${mb(p.before.rss)} ${mb(p.before.heapTotal)} ${mb(p.before.heapUsed)} ${mb(p.before.external)} ${mb(other(p.before))} |           ${mb(p.after.rss)} ${mb(p.after.heapUsed)} ${mb(p.after.external)} ${mb(other(p.after))}`;
    }),
  ];
}

// ---------------------------------------------------------------------------------------------------------

void (async () => {
  const data = resolve(process.argv[2] as string);
  const wanted = argValue("--notebooks", "")
    .split(",")
    .filter(Boolean)
    .map((n) => n.padStart(2, "0"));
  const breakdownOf = argValue("--breakdown", "worst");
  mkdirSync(join(root, "build"), { recursive: true });
  const project = mkdtempSync(join(root, "build", "bench-kernel-memory-"));
  const sampler = new Sampler();
  try {
    cpSync(join(root, "notebooks"), join(project, "notebooks"), { recursive: true });
    cpSync(join(root, "dags"), join(project, "dags"), { recursive: true });
    mkdirSync(join(project, "data"));
    symlinkSync(data, join(project, "data", "la-haute-borne-data-2017-2020.csv"));
    const paths = readdirSync(join(project, "notebooks"))
      .filter((f) => f.endsWith(".ipynb") && (wanted.length === 0 || wanted.some((w) => f.startsWith(w))))
      .sort()
      .map((f) => join(project, "notebooks", f));
    const notebooks = await measure(paths, sampler);
    const lines = [
      `notebook kernels' resident memory (sampled every 0.2 s), ${basename(data)}: the kernel's process tree (its`,
      "engine's task processes included), and the kernel process alone:",
    ];
    for (const n of notebooks) {
      lines.push(
        `  ${n.name.padEnd(32)} peak ${n.peakMB.toFixed(0).padStart(5)} MB, kernel alone ${n.kernelPeakMB.toFixed(0).padStart(5)} MB (high-water mark ${n.kernelHwmMB.toFixed(0).padStart(5)}, anonymous ${n.kernelAnonPeakMB.toFixed(0).padStart(5)})  ${n.ok ? "ok" : `FAILED ${n.failure}`}`,
      );
      for (const c of n.cells)
        lines.push(
          `      cell ${String(c.cell).padStart(2)} ${c.seconds.toFixed(1).padStart(6)} s  end ${c.endMB.toFixed(0).padStart(5)} MB  peak ${c.peakMB.toFixed(0).padStart(5)} MB  ${c.firstLine.slice(0, 60)}`,
        );
    }
    process.stderr.write(`${lines.join("\n")}\n`);

    const result: Record<string, unknown> = { notebooks };
    const worst = [...notebooks].sort((a, b) => b.peakMB - a.peakMB)[0];
    const target =
      breakdownOf === "none"
        ? undefined
        : breakdownOf === "worst"
          ? worst?.name
          : notebooks.find((n) => n.name.startsWith(breakdownOf.padStart(2, "0")))?.name;
    if (target !== undefined) {
      const importsPath = join(project, "notebooks", "zz-imports.ipynb");
      writeNotebook(importsPath, importNotebook());
      const probedPath = join(project, "notebooks", `zz-probed-${target}`);
      writeNotebook(probedPath, probedNotebook(readNotebook(join(project, "notebooks", target))));
      const [imports, probed] = await breakdown([importsPath, probedPath]);
      process.stderr.write(
        `${[
          ...probeTable(
            "an empty kernel, then one import per cell (process.memoryUsage() inside the kernel):",
            imports ?? [],
          ),
          ...probeTable(`${target}, after each code cell:`, probed ?? []),
          "  heap: V8's heap (tslab's TypeScript compiler lives there); extern: memory V8 knows of outside its heap",
          "  (ArrayBuffers); other: rss - heap - extern (native libraries and code, polars' columns, TensorFlow's own)",
        ].join("\n")}\n`,
      );
      result.breakdown = { notebook: target, imports, probed };
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (notebooks.some((n) => !n.ok)) process.exitCode = 1;
  } finally {
    sampler.stop();
    rmSync(project, { recursive: true, force: true });
  }
})();
