/**
 * The data generator (the course's `get_data_from_engie_hub` DAG): "fresh" records for the predict DAG.
 * As in the course: sample one row of the data file with a fixed random state and write it twice, with
 * `Date_time` set to now and now + 60 s, to `data/generated_data/{YYYYmmdd-HHMMSS}.csv` and `latest.csv` (`;`).
 * With `engie`, the rows come from the ENGIE records API instead (written with their own dates).
 */
import pl from "nodejs-polars";
import { WindflowError } from "../errors.js";
import { type DatedWrite, writeDated } from "../io/dated.js";
import { collectingAfter } from "../util/gc.js";
import { type EngieQuery, fetchEngieRecords } from "./engie.js";
import { loadDataset } from "./load.js";
import { formatParisIso } from "./physics.js";
import { Rng } from "./random.js";
import { COLUMNS, DATE_COLUMN, SEPARATOR } from "./schema.js";

export interface GenerateOptions {
  /** The run's time: dates of the rows and name of the file. @default now */
  now?: Date;
  /**
   * Which row is sampled. The course samples with a fixed random state, so every run writes the same
   * measurements with new dates; pass another seed for another row. @default 42
   */
  seed?: number;
  /** Fetch the rows from the ENGIE records API instead of sampling the data file. */
  engie?: EngieQuery;
}

export interface GenerateResult extends DatedWrite {
  rows: number;
}

/** Picks one row of `data` with a seeded generator (reproducible, like pandas' `random_state`). */
export function sampleRow(data: pl.DataFrame, seed = 42): pl.DataFrame {
  if (data.height === 0) throw new WindflowError("the data file has no rows to sample from");
  const index = new Rng(seed).int(data.height);
  return data.slice(index, 1);
}

/** The sampled row twice, dated `now` and `now + 60 s` (ISO with the farm's offset), in the file's schema. */
export function freshRows(row: pl.DataFrame, now: Date): pl.DataFrame {
  const dates = [now.getTime(), now.getTime() + 60_000].map(formatParisIso);
  const twice = pl.concat([row, row]);
  return twice.withColumn(pl.Series(DATE_COLUMN, dates)).select(...COLUMNS);
}

export function generateData(
  dataPath: string,
  folder: string,
  options: GenerateOptions = {},
): Promise<GenerateResult> {
  // The whole data file is read for one row: collected once written (util/gc.ts).
  return collectingAfter(() => generate(dataPath, folder, options));
}

async function generate(dataPath: string, folder: string, options: GenerateOptions): Promise<GenerateResult> {
  const now = options.now ?? new Date();
  let rows: pl.DataFrame;
  if (options.engie) {
    rows = await fetchEngieRecords(options.engie);
    if (rows.height === 0) {
      throw new WindflowError(
        `the ENGIE records API returned no rows for ${options.engie.turbine} between ${options.engie.from} and ${options.engie.to}`,
      );
    }
  } else {
    const data = await loadDataset(dataPath);
    rows = freshRows(sampleRow(data, options.seed ?? 42), now);
  }
  const written = await writeDated(
    folder,
    ".csv",
    (tmp) => {
      rows.writeCSV(tmp, { separator: SEPARATOR, includeHeader: true });
    },
    now,
  );
  return { ...written, rows: rows.height };
}
