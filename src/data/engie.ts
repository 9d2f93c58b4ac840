/**
 * A client of the ENGIE open-data records API that published the La Haute Borne data
 * (`/api/records/1.0/download/?dataset=...&refine.wind_turbine_name=...&q=date_time >= ... AND date_time <= ...`,
 * answering `;`-separated CSV with lower-case field names). The portal has been offline since 2023; the client
 * is kept for the lab's "get data from ENGIE hub" story and works against any server that speaks the same
 * protocol (tests run one on 127.0.0.1).
 */
import pl, { type DataType } from "nodejs-polars";
import { SchemaError, WindflowError } from "../errors.js";
import { DATE_FORMAT, schemaDtypes } from "./load.js";
import { COLUMNS, DATE_COLUMN, SEPARATOR } from "./schema.js";

export const ENGIE_DEFAULT_URL = "https://opendata-renewables.engie.com";
export const ENGIE_DATASET = "la-haute-borne-data-2017-2020";

export interface EngieQuery {
  /** The portal's base URL. @default https://opendata-renewables.engie.com */
  baseUrl?: string;
  turbine: string;
  /** Inclusive bounds, ISO 8601. */
  from: string;
  to: string;
  /** @default 30000 */
  timeoutMs?: number;
}

/** The download URL of a query, as the portal expects it. */
export function engieUrl(q: EngieQuery): string {
  const url = new URL("/api/records/1.0/download/", q.baseUrl ?? ENGIE_DEFAULT_URL);
  url.searchParams.set("dataset", ENGIE_DATASET);
  url.searchParams.set("refine.wind_turbine_name", q.turbine);
  url.searchParams.set("q", `date_time >= ${q.from} AND date_time <= ${q.to}`);
  return url.toString();
}

/**
 * Fetches the records of one turbine over a period and returns them in windflow's schema (the 138 columns in
 * file order, `Date_time` as the ISO string the API sent), ready to be written as generated data.
 */
export async function fetchEngieRecords(q: EngieQuery): Promise<pl.DataFrame> {
  const url = engieUrl(q);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(q.timeoutMs ?? 30_000) });
  } catch (error) {
    throw new WindflowError(
      `the ENGIE records API at ${url} cannot be reached: ${(error as Error).message}`,
      {
        hint: "the public portal has been offline since 2023; without --engie-url the generator samples the data file",
        cause: error,
      },
    );
  }
  if (!response.ok) {
    throw new WindflowError(`the ENGIE records API answered HTTP ${response.status} for ${url}`);
  }
  const text = await response.text();
  const firstLine = text
    .slice(0, text.indexOf("\n") === -1 ? text.length : text.indexOf("\n"))
    .replace(/\r$/, "");
  const fields = firstLine.split(SEPARATOR).map((f) => f.trim());
  const byLower = new Map(fields.map((f) => [f.toLowerCase(), f]));
  const missing = COLUMNS.filter((c) => !byLower.has(c.toLowerCase()));
  if (missing.length > 0) {
    throw new SchemaError(
      url,
      `the API's answer lacks ${missing.length} column(s): ${missing.slice(0, 5).join(", ")}`,
      {
        line: 1,
        ...(missing[0] ? { column: missing[0] } : {}),
      },
    );
  }
  const dtypes = schemaDtypes();
  const sourceDtypes = Object.fromEntries(
    COLUMNS.map((c) => [byLower.get(c.toLowerCase()) as string, dtypes[c] as DataType]),
  );
  let df: pl.DataFrame;
  try {
    df = pl.readCSV(text, {
      sep: SEPARATOR,
      dtypes: sourceDtypes,
      ignoreErrors: false,
      truncateRaggedLines: false,
    });
  } catch (error) {
    throw new SchemaError(
      url,
      `the API's answer is not valid CSV for the schema: ${(error as Error).message.split("\n")[0]}`,
    );
  }
  df = df.select(...COLUMNS.map((c) => pl.col(byLower.get(c.toLowerCase()) as string).alias(c)));
  const parsed = df.select(pl.col(DATE_COLUMN).str.strptime(pl.Datetime("ms"), DATE_FORMAT));
  if (parsed.getColumn(DATE_COLUMN).nullCount() > df.getColumn(DATE_COLUMN).nullCount()) {
    throw new SchemaError(url, "the API sent dates that are not ISO 8601 with an offset", {
      column: DATE_COLUMN,
    });
  }
  return df;
}
