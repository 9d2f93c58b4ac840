/**
 * Feature frames shaped like the course's `prepare_features` output (135 Float64 columns without nulls, plus
 * `Ba_avg` in training mode, rows in time order), for the model's tests and measurements. A simplified stand-in
 * for src/features/prepare.ts, so that the model does not depend on it: the course's ffill / mean / median /
 * rolling fills are replaced by a plain 0 fill, which changes values but not the frame's contract.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pl from "nodejs-polars";
import { loadDataset } from "../../src/data/load.js";
import { synthesizeDataset } from "../../src/data/synthetic.js";

const DROPPED = ["Wind_turbine_name", "Ba_min", "Ba_max", "Ba_std", "Date_time"];

/** Loaded dataset (see loadDataset) -> training-mode features: 135 feature columns + `Ba_avg`, sorted by date. */
export function courseLikeFeatures(data: pl.DataFrame): pl.DataFrame {
  const date = pl.col("Date_time"); // already UTC (loadDataset)
  const month = date.date.month().cast(pl.Float64);
  return data
    .filter(pl.col("Ba_avg").isNotNull())
    .withColumns(
      date.date.year().cast(pl.Float64).alias("year"),
      month.alias("month"),
      // (month % 12 + 3) // 3: Dec-Feb 1, Mar-May 2, Jun-Aug 3, Sep-Nov 4
      month.modulo(12).add(3).div(3).floor().alias("season"),
    )
    .sort({ by: "Date_time", maintainOrder: true })
    .drop(DROPPED)
    .select(pl.all().fillNull(pl.lit(0)));
}

/** Features from a loaded CSV file. */
export async function featuresFromFile(file: string): Promise<pl.DataFrame> {
  return courseLikeFeatures(await loadDataset(file));
}

/** Features from a freshly synthesized dataset of `days` days (4 turbines, 144 records a day each). */
export async function syntheticFeatures(options: { seed?: number; days: number }): Promise<pl.DataFrame> {
  const dir = mkdtempSync(join(tmpdir(), "windflow-model-features-"));
  try {
    const file = join(dir, "data.csv");
    await synthesizeDataset(file, { seed: options.seed ?? 42, days: options.days });
    return await featuresFromFile(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
