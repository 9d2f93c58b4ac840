/** A short summary of a data file: what a trainee checks first (size, turbines, period, target, gaps). */
import pl from "nodejs-polars";
import { loadDataset } from "./load.js";
import { COLUMNS, DATE_COLUMN, TARGET, TURBINE_COLUMN } from "./schema.js";

export interface DatasetSummary {
  file: string;
  rows: number;
  columns: number;
  loadSeconds: number;
  turbines: Record<string, number>;
  first: string;
  last: string;
  target: { column: string; nonNull: number; mean: number; median: number; min: number; max: number };
  /** Columns with missing values, most missing first. */
  missing: { column: string; nulls: number }[];
}

export async function describeDataset(file: string): Promise<DatasetSummary> {
  const started = process.hrtime.bigint();
  const df = await loadDataset(file);
  const loadSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const counts = df.groupBy(TURBINE_COLUMN).len().sort(TURBINE_COLUMN);
  const names = counts.getColumn(TURBINE_COLUMN).toArray() as string[];
  const lens = counts.getColumn(counts.columns[1] as string).toArray() as number[];
  const turbines = Object.fromEntries(names.map((n, i) => [n, Number(lens[i])]));
  const dates = df.select(pl.col(DATE_COLUMN).min().alias("first"), pl.col(DATE_COLUMN).max().alias("last"));
  const [first] = dates.getColumn("first").toArray() as unknown as Date[];
  const [last] = dates.getColumn("last").toArray() as unknown as Date[];
  const target = df.getColumn(TARGET);
  const nullCounts = df.nullCount();
  const missing = COLUMNS.map((column) => ({ column, nulls: Number(nullCounts.getColumn(column).get(0)) }))
    .filter((m) => m.nulls > 0)
    .sort((a, b) => b.nulls - a.nulls);
  return {
    file,
    rows: df.height,
    columns: df.width,
    loadSeconds,
    turbines,
    first: first?.toISOString() ?? "",
    last: last?.toISOString() ?? "",
    target: {
      column: TARGET,
      nonNull: df.height - target.nullCount(),
      mean: Number(target.mean()),
      median: Number(target.median()),
      min: Number(target.min()),
      max: Number(target.max()),
    },
    missing,
  };
}

export function formatSummary(s: DatasetSummary): string {
  const n = (x: number) => x.toLocaleString("en-US");
  const lines = [
    `${s.file}: ${n(s.rows)} rows x ${s.columns} columns, loaded in ${s.loadSeconds.toFixed(2)} s`,
    `turbines: ${Object.entries(s.turbines)
      .map(([t, c]) => `${t} ${n(c)}`)
      .join(", ")}`,
    `period (UTC): ${s.first} .. ${s.last}`,
    `target ${s.target.column}: ${n(s.target.nonNull)} values, mean ${s.target.mean.toFixed(2)}, median ${s.target.median.toFixed(2)}, min ${s.target.min.toFixed(2)}, max ${s.target.max.toFixed(2)}`,
    `missing values: ${s.missing.length} columns have gaps; most: ${s.missing
      .slice(0, 6)
      .map((m) => `${m.column} ${n(m.nulls)}`)
      .join(", ")}`,
  ];
  return lines.join("\n");
}
