/**
 * Compares the synthetic dataset with real La Haute Borne records, by wind-speed bin: power and pitch (the
 * relations the model learns), counts, and the target's distribution. Prints a table and writes
 * `artifacts/calibration.html`, a self-contained plotly chart (Ws vs P, Ws vs Ba; real vs synthetic).
 *
 *   node --import tsx scripts/calibrate.ts [synthetic.csv] [--real sample.csv] [--out file.html]
 *
 * The real reference is the 2014 extract (9,999 rows, 4 turbines, 1-18 January, 9 columns, `,`-separated);
 * the full course file's target facts (mean 12.02, median -0.97) are printed next to it. Since the real sample
 * is January only, the synthetic relations are shown both for the whole file and for January (same air density).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pl from "nodejs-polars";
import { Rng } from "../src/data/random.js";
import { COURSE_DATASET } from "../src/data/schema.js";

const root = resolve(__dirname, "..");
const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    real: {
      type: "string",
      default: resolve(
        root,
        "..",
        "shared",
        "data",
        "la-haute-borne",
        "la-haute-borne-sample-2014-9cols.csv",
      ),
    },
    out: { type: "string", default: join(root, "artifacts", "calibration.html") },
    points: { type: "string", default: "4000" },
  },
});
const syntheticPath = resolve(positionals[0] ?? join(root, "data", COURSE_DATASET.fileName));

/** The columns the comparison needs, as plain arrays (NaN for a missing value). */
interface Records {
  ws: Float64Array;
  p: Float64Array;
  ba: Float64Array;
  /** Month 1-12 of each record (local time, read from the ISO date). */
  month: Uint8Array;
}

function read(path: string, sep: string): Records {
  const df = pl.readCSV(path, {
    sep,
    columns: ["Date_time", "Ws_avg", "P_avg", "Ba_avg"],
    dtypes: { Ws_avg: pl.Float64, P_avg: pl.Float64, Ba_avg: pl.Float64, Date_time: pl.Utf8 },
  });
  const column = (name: string) =>
    Float64Array.from(df.getColumn(name).toArray() as (number | null)[], (x) =>
      x === null ? Number.NaN : x,
    );
  const dates = df.getColumn("Date_time").toArray() as (string | null)[];
  return {
    ws: column("Ws_avg"),
    p: column("P_avg"),
    ba: column("Ba_avg"),
    month: Uint8Array.from(dates, (d) => (d ? Number(d.slice(5, 7)) : 0)),
  };
}

function mean(xs: number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

interface Bin {
  n: number;
  pMean: number;
  pMedian: number;
  baMean: number;
  baMedian: number;
}

/** Statistics by rounded `Ws_avg` (bin 7 = [6.5, 7.5)), over the records kept by `keep`. */
function byBin(r: Records, keep: (i: number) => boolean): Map<number, Bin> {
  const groups = new Map<number, { p: number[]; ba: number[] }>();
  for (let i = 0; i < r.ws.length; i++) {
    const ws = r.ws[i] as number;
    const ba = r.ba[i] as number;
    const p = r.p[i] as number;
    if (Number.isNaN(ws) || Number.isNaN(ba) || Number.isNaN(p) || !keep(i)) continue;
    const bin = Math.round(ws);
    let g = groups.get(bin);
    if (!g) {
      g = { p: [], ba: [] };
      groups.set(bin, g);
    }
    g.p.push(p);
    g.ba.push(ba);
  }
  const out = new Map<number, Bin>();
  for (const [bin, g] of groups) {
    out.set(bin, {
      n: g.p.length,
      pMean: mean(g.p),
      pMedian: median(g.p),
      baMean: mean(g.ba),
      baMedian: median(g.ba),
    });
  }
  return out;
}

function targetStats(r: Records): { n: number; mean: number; median: number; over20: number } {
  const ba = Array.from(r.ba).filter((x) => !Number.isNaN(x));
  return {
    n: ba.length,
    mean: mean(ba),
    median: median(ba),
    over20: ba.filter((x) => x > 20).length / ba.length,
  };
}

const fmt = (x: number | undefined, digits = 0, width = 7) =>
  (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(digits)).padStart(width);

if (!existsSync(syntheticPath)) {
  console.error(`No synthetic file at ${syntheticPath}.`);
  console.error(
    "Make it with `make dataset DATASET=synthetic` (or `node dist/cli/main.js dataset --source synthetic`),",
  );
  console.error("or pass the path of a file: node --import tsx scripts/calibrate.ts path/to/file.csv");
  process.exit(2);
}
if (!existsSync(flags.real)) {
  console.error(
    `No real sample at ${flags.real}: pass its path with --real <la-haute-borne-sample-2014-9cols.csv>.`,
  );
  process.exit(2);
}

const real = read(flags.real, ",");
const synthetic = read(syntheticPath, ";");
const realMonths = new Set(real.month);
const realBins = byBin(real, () => true);
const synBins = byBin(synthetic, () => true);
const synSameMonth = byBin(synthetic, (i) => realMonths.has(synthetic.month[i] as number));
const monthsText = [...realMonths].sort((a, b) => a - b).join(",");

console.log(`real:      ${flags.real} (${real.ws.length} rows, months ${monthsText})`);
console.log(`synthetic: ${syntheticPath} (${synthetic.ws.length} rows)`);
console.log("");
console.log(
  `P_avg (kW) and Ba_avg (deg) by rounded Ws_avg bin; "syn m${monthsText}" = synthetic rows of the real months`,
);
console.log(
  `${"Ws".padStart(3)} | ${"n real".padStart(7)} ${"n syn".padStart(7)} | ${"P real".padStart(7)} ${"P syn".padStart(7)} ${`P m${monthsText}`.padStart(7)} | ` +
    `${"medP re".padStart(7)} ${"medP sy".padStart(7)} | ${"Ba real".padStart(7)} ${"Ba syn".padStart(7)} | ${"medBa re".padStart(8)} ${"medBa sy".padStart(8)} ${`m${monthsText}`.padStart(8)}`,
);
const bins = [...new Set([...realBins.keys(), ...synBins.keys()])].sort((a, b) => a - b);
for (const bin of bins) {
  const r = realBins.get(bin);
  const s = synBins.get(bin);
  const m = synSameMonth.get(bin);
  console.log(
    `${String(bin).padStart(3)} | ${fmt(r?.n)} ${fmt(s?.n)} | ${fmt(r?.pMean)} ${fmt(s?.pMean)} ${fmt(m?.pMean)} | ` +
      `${fmt(r?.pMedian)} ${fmt(s?.pMedian)} | ${fmt(r?.baMean, 2)} ${fmt(s?.baMean, 2)} | ` +
      `${fmt(r?.baMedian, 2, 8)} ${fmt(s?.baMedian, 2, 8)} ${fmt(m?.baMedian, 2, 8)}`,
  );
}
const rt = targetStats(real);
const st = targetStats(synthetic);
console.log("");
console.log("target Ba_avg            n        mean   median  share>20deg");
console.log(
  `real 2014 sample  ${fmt(rt.n, 0, 9)} ${fmt(rt.mean, 2, 9)} ${fmt(rt.median, 2, 8)} ${fmt(rt.over20 * 100, 1, 10)} %`,
);
console.log(
  `real course file  ${fmt(215_636, 0, 9)} ${fmt(12.02, 2, 9)} ${fmt(-0.97, 2, 8)} ${"?".padStart(10)}`,
);
console.log(
  `synthetic         ${fmt(st.n, 0, 9)} ${fmt(st.mean, 2, 9)} ${fmt(st.median, 2, 8)} ${fmt(st.over20 * 100, 1, 10)} %`,
);

// The chart: all real points, a seeded sample of synthetic points, and the bin medians of both.
const rng = new Rng(1, "calibration-sample");
const wanted = Math.max(1, Number.parseInt(flags.points, 10) || 4000);
const pick: number[] = [];
for (let i = 0; i < synthetic.ws.length; i++) {
  if (Number.isNaN(synthetic.ba[i] as number) || Number.isNaN(synthetic.ws[i] as number)) continue;
  if (pick.length < wanted) pick.push(i);
  else {
    const j = rng.int(i + 1);
    if (j < wanted) pick[j] = i;
  }
}
const round = (x: number) => Math.round(x * 100) / 100;
const realIdx = Array.from(real.ws.keys()).filter((i) => !Number.isNaN(real.ba[i] as number));
const medianLine = (b: Map<number, Bin>, key: "pMedian" | "baMedian") => {
  const xs = [...b.keys()].sort((x, y) => x - y);
  return { x: xs, y: xs.map((x) => round(b.get(x)?.[key] ?? Number.NaN)) };
};
const points = (r: Records, idx: number[], key: "p" | "ba") => ({
  x: idx.map((i) => round(r.ws[i] as number)),
  y: idx.map((i) => round(r[key][i] as number)),
});
const traces = [];
for (const [key, axis, median] of [
  ["p", "", "pMedian"],
  ["ba", "2", "baMedian"],
] as const) {
  const xaxis = `x${axis}`;
  const yaxis = `y${axis}`;
  const first = axis === "";
  traces.push(
    {
      type: "scattergl",
      mode: "markers",
      name: `synthetic (${pick.length} sampled rows)`,
      legendgroup: "syn",
      showlegend: first,
      xaxis,
      yaxis,
      marker: { size: 3, opacity: 0.35, color: "#1f77b4" },
      ...points(synthetic, pick, key),
    },
    {
      type: "scattergl",
      mode: "markers",
      name: `real 2014 (${realIdx.length} rows)`,
      legendgroup: "real",
      showlegend: first,
      xaxis,
      yaxis,
      marker: { size: 3, opacity: 0.35, color: "#d62728" },
      ...points(real, realIdx, key),
    },
    {
      type: "scatter",
      mode: "lines+markers",
      name: "synthetic bin median",
      legendgroup: "synm",
      showlegend: first,
      xaxis,
      yaxis,
      line: { color: "#0b3d91" },
      ...medianLine(synBins, median),
    },
    {
      type: "scatter",
      mode: "lines+markers",
      name: "real bin median",
      legendgroup: "realm",
      showlegend: first,
      xaxis,
      yaxis,
      line: { color: "#8b0000" },
      ...medianLine(realBins, median),
    },
  );
}
const layout = {
  title: { text: `La Haute Borne: real (2014 sample) vs synthetic (${syntheticPath.split("/").pop()})` },
  grid: { rows: 1, columns: 2, pattern: "independent" },
  xaxis: { title: { text: "Ws_avg (m/s)" } },
  yaxis: { title: { text: "P_avg (kW)" } },
  xaxis2: { title: { text: "Ws_avg (m/s)" } },
  yaxis2: { title: { text: "Ba_avg (deg)" } },
  height: 560,
  legend: { orientation: "h", y: -0.2 },
};
const plotly = readFileSync(join(root, "node_modules", "plotly.js-dist-min", "plotly.min.js"), "utf8");
const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>windflow calibration</title>
<script>${plotly.replaceAll("</script", "<\\/script")}</script></head>
<body><div id="chart" style="width:100%"></div>
<script>Plotly.newPlot("chart", ${JSON.stringify(traces)}, ${JSON.stringify(layout)}, {responsive: true});</script>
</body></html>
`;
mkdirSync(dirname(flags.out), { recursive: true });
writeFileSync(flags.out, html);
console.log("");
console.log(`chart: ${flags.out}`);
