/**
 * Loading the SCADA CSV with nodejs-polars (the data engine of every pipeline step), with an explicit
 * schema and errors that name the file, the line and the column.
 *
 * Fast path: polars reads with `dtypes` for all 138 columns (136 sensors Float64 whatever is empty: STACK.md,
 * entirely empty columns would otherwise be read as String), `ignoreErrors: false` (nodejs-polars 0.24.1 silently
 * turns unparsable numbers into null unless told otherwise) and `truncateRaggedLines: false`.
 * Slow path, only when something is wrong: `diagnose()` walks the file line by line to find the first offending
 * line and column, because polars reports a byte offset at best.
 */
import { closeSync, createReadStream, existsSync, openSync, readSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import pl, { type DataType } from "nodejs-polars";
import { SchemaError, WindflowError } from "../errors.js";
import { COLUMNS, DATE_COLUMN, SEPARATOR, TURBINE_COLUMN } from "./schema.js";

/** The format of `Date_time`: ISO 8601 with an offset, e.g. `2017-01-01T00:00:00+01:00`. */
export const DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%:z";
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/;
const NUMBER_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export interface LoadOptions {
  /**
   * Columns to load (projection: faster and lighter when a notebook needs a few).
   * @default all 138 columns
   */
  columns?: readonly string[];
}

/** The polars dtypes of the schema: names and dates as strings, every sensor column Float64. */
export function schemaDtypes(columns: readonly string[] = COLUMNS): Record<string, DataType> {
  const dtypes: Record<string, DataType> = {};
  for (const c of columns) dtypes[c] = c === TURBINE_COLUMN || c === DATE_COLUMN ? pl.Utf8 : pl.Float64;
  return dtypes;
}

/**
 * Reads the header line (BOM and `\r` stripped) and checks it against the schema:
 * separator, missing, unknown and duplicated columns. Returns the header's column names.
 */
export function checkHeader(file: string): string[] {
  if (!existsSync(file)) {
    throw new WindflowError(`${file}: no such file`, {
      hint: "run `make dataset` to download or synthesize the La Haute Borne data file",
    });
  }
  const stats = statSync(file);
  if (stats.isDirectory())
    throw new WindflowError(`${file} is a folder, not a CSV file`, {
      hint: "give the path of the data file itself, e.g. data/la-haute-borne-data-2017-2020.csv",
    });
  if (stats.size === 0) throw new SchemaError(file, "the file is empty", { line: 1 });
  const fd = openSync(file, "r");
  let head: string;
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    head = buf.subarray(0, n).toString("utf8");
  } finally {
    closeSync(fd);
  }
  const newline = head.indexOf("\n");
  const line = (newline === -1 ? head : head.slice(0, newline)).replace(/^\uFEFF/, "").replace(/\r$/, "");
  if (line.trim() === "") throw new SchemaError(file, "the header line is empty", { line: 1 });
  if (!line.includes(SEPARATOR)) {
    const found = [",", "\t", "|"].find((s) => line.includes(s));
    throw new SchemaError(
      file,
      found
        ? `wrong separator: the header is separated by ${JSON.stringify(found)}, expected ";"`
        : `the header has a single column ${JSON.stringify(line.slice(0, 40))}; expected 138 columns separated by ";"`,
      { line: 1 },
      "the La Haute Borne files use ';' between fields and '.' as decimal point",
    );
  }
  const header = line.split(SEPARATOR).map((c) => c.trim());
  const seen = new Set<string>();
  for (const c of header) {
    if (seen.has(c))
      throw new SchemaError(file, `column ${c} appears twice in the header`, { line: 1, column: c });
    seen.add(c);
  }
  const expected = new Set(COLUMNS);
  const missing = COLUMNS.filter((c) => !seen.has(c));
  const unknown = header.filter((c) => !expected.has(c));
  if (missing.length > 0 || unknown.length > 0) {
    const parts = [
      missing.length > 0 ? `missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}` : "",
      unknown.length > 0 ? `unknown column${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}` : "",
    ].filter(Boolean);
    throw new SchemaError(
      file,
      parts.join("; "),
      { line: 1, ...((missing[0] ?? unknown[0]) ? { column: (missing[0] ?? unknown[0]) as string } : {}) },
      "the header must list the 138 columns of the La Haute Borne schema (see COLUMNS in src/data/schema.ts)",
    );
  }
  return header;
}

/**
 * Loads a La Haute Borne CSV into a polars DataFrame: `Wind_turbine_name` String, the sensor columns Float64,
 * `Date_time` parsed to a UTC Datetime. Blank lines and Windows line endings are accepted. Any value that does
 * not fit the schema raises a SchemaError naming the file, the line and the column.
 */
export async function loadDataset(file: string, options: LoadOptions = {}): Promise<pl.DataFrame> {
  const header = checkHeader(file);
  const wanted = options.columns ?? COLUMNS;
  const unknown = wanted.filter((c) => !COLUMNS.includes(c));
  if (unknown.length > 0) {
    throw new WindflowError(
      `unknown column${unknown.length > 1 ? "s" : ""} requested: ${unknown.join(", ")}`,
      {
        hint: "choose among the 138 columns of COLUMNS",
      },
    );
  }
  // polars fills the missing fields of a short line with nulls, silently (a line with too many fields is an
  // error). A file cut in the middle of its last line (an interrupted download or copy) is the usual short
  // line: its last line is checked first, cheaply (the file's last bytes); then every line's separators are
  // counted (`shortLine`, one pass over the bytes); `diagnose` names the line.
  const lastFields = lastLineFields(file);
  if (lastFields !== undefined && lastFields !== header.length)
    throw (await diagnose(file, header)) ?? new SchemaError(file, "its last line is cut");
  const short = shortLine(file, header.length);
  if (short !== undefined)
    throw (
      (await diagnose(file, header)) ??
      new SchemaError(file, `expected ${header.length} fields separated by ";"`, { line: short })
    );
  let df: pl.DataFrame;
  try {
    df = pl.readCSV(file, {
      sep: SEPARATOR,
      hasHeader: true,
      dtypes: schemaDtypes(header),
      columns: [...wanted],
      ignoreErrors: false,
      truncateRaggedLines: false,
      quoteChar: '"',
    });
  } catch (error) {
    throw (await diagnose(file, header)) ?? new SchemaError(file, `could not be read: ${String(error)}`);
  }
  // A blank line comes back as a row of nulls. Looking at every column of every row costs 0.2 s on the full
  // file, so look first at the key columns (a blank line has neither name nor date) and only at the few
  // candidate rows after that; a row that has values but no name or date is an error (diagnose finds its line).
  const keys = [TURBINE_COLUMN, DATE_COLUMN].filter((c) => wanted.includes(c));
  const keyless = (keys.length > 0 ? keys : wanted).map((c) => pl.col(c).isNull()).reduce((a, b) => a.and(b));
  const candidates = df.filter(keyless).height;
  if (candidates > 0) {
    const blank = wanted.map((c) => pl.col(c).isNull()).reduce((a, b) => a.and(b));
    df = df.filter(blank.not());
  }
  if (keys.length > 0) {
    const incomplete = keys.map((c) => pl.col(c).isNull()).reduce((a, b) => a.or(b));
    if (df.filter(incomplete).height > 0) {
      throw (await diagnose(file, header)) ?? new SchemaError(file, "a row has an empty name or date");
    }
  }
  if (wanted.includes(DATE_COLUMN)) {
    const parsed = df.withColumn(
      pl.col(DATE_COLUMN).str.strptime(pl.Datetime("ms"), DATE_FORMAT).alias(DATE_COLUMN),
    );
    const bad = parsed.getColumn(DATE_COLUMN).nullCount() - df.getColumn(DATE_COLUMN).nullCount();
    if (bad > 0) throw (await diagnose(file, header)) ?? new SchemaError(file, `${bad} unparsable dates`);
    df = parsed;
  }
  if (df.height === 0)
    throw new SchemaError(
      file,
      "the file has its header but no data line",
      { line: 2 },
      "a La Haute Borne file has a line per turbine and 10 minutes after its header: make dataset writes one",
    );
  // polars returns projected columns in file order; callers get the order they asked for.
  return options.columns ? df.select(...wanted) : df;
}

/** How many bytes equal to `byte` (repeated in the 4 bytes of `pattern`) `a[from..to)` holds (see `shortLine`). */
function countByte(
  a: Uint8Array,
  words: Uint32Array,
  from: number,
  to: number,
  byte: number,
  pattern: number,
): number {
  let c = 0;
  let j = from;
  const first = (from + 3) >>> 2;
  const last = to >>> 2;
  if (first < last) {
    for (; j < first * 4; j++) if (a[j] === byte) c++;
    // Four bytes at a time: the zero bytes of x = word ^ pattern are the matches (bit tricks, no branch per byte).
    for (let k = first; k < last; k++) {
      const x = (words[k] as number) ^ pattern;
      let t = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x | 0x7f7f7f7f);
      if (t !== 0) {
        t >>>= 7;
        t = (t & 0x00ff00ff) + ((t >>> 8) & 0x00ff00ff);
        c += (t & 0xffff) + (t >>> 16);
      }
    }
    j = last * 4;
  }
  for (; j < to; j++) if (a[j] === byte) c++;
  return c;
}

/**
 * The first line (1-based) whose number of fields is neither `fields` nor 0 (an empty line), undefined if none:
 * one pass over the file's bytes in 4 MB reads, line ends by memchr and the separators of each line counted four
 * bytes at a time (the data has no quoted fields, as `diagnose` assumes). What it costs against the rest of the
 * load: `make bench` prints it.
 */
export function shortLine(file: string, fields: number): number | undefined {
  const SEP = SEPARATOR.charCodeAt(0);
  const pattern = SEP * 0x01010101;
  const expected = fields - 1;
  // Only an empty line (or a lone \r) is blank: polars skips it; a line of spaces is a one-field line to it.
  const whitespace = (bytes: Uint8Array) => bytes.every((b) => b === 13);
  const memory = new ArrayBuffer(4 * 1024 * 1024);
  const bytes = new Uint8Array(memory);
  const words = new Uint32Array(memory);
  const fd = openSync(file, "r");
  try {
    let line = 1;
    let count = 0;
    /** The current line began in an earlier read and had non-blank bytes there. */
    let carried = false;
    let position = 0;
    for (;;) {
      const n = readSync(fd, bytes, 0, bytes.length, position);
      if (n === 0) break;
      position += n;
      const buf = Buffer.from(memory, 0, n);
      let i = 0;
      for (;;) {
        const newline = buf.indexOf(10, i);
        const end = newline === -1 ? n : newline;
        count += countByte(bytes, words, i, end, SEP, pattern);
        if (newline === -1) {
          carried ||= !whitespace(bytes.subarray(i, end));
          break;
        }
        if (count !== expected && !(count === 0 && !carried && whitespace(bytes.subarray(i, end))))
          return line;
        line++;
        count = 0;
        carried = false;
        i = newline + 1;
      }
    }
    if (count !== expected && !(count === 0 && !carried)) return line;
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** How many fields the last non-blank line of `file` has; undefined when its last bytes hold no whole line. */
function lastLineFields(file: string): number | undefined {
  const size = statSync(file).size;
  const fd = openSync(file, "r");
  try {
    // The last line of a La Haute Borne file is about 1 kB; 64 kB holds it, with blank lines after it.
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, size - length);
    const lines = buf.subarray(0, n).toString("utf8").split("\n");
    const last = lines.reverse().find((l) => l.trim() !== "");
    // A tail that does not hold a whole line: left to polars.
    if (last === undefined || (lines.length < 2 && length < size)) return undefined;
    return last.split(SEPARATOR).length;
  } finally {
    closeSync(fd);
  }
}

/**
 * Walks the file line by line and returns the first problem found, as a SchemaError with its line (1-based,
 * the header is line 1) and column; undefined if every line fits the schema. Only called when the fast path failed.
 */
export async function diagnose(file: string, header?: readonly string[]): Promise<SchemaError | undefined> {
  const names = header ?? checkHeader(file);
  const lines = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    if (lineNo === 1) continue;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    // Only an empty line is blank (polars skips it); spaces make a one-field line for polars, so an error here.
    if (line === "") continue;
    const fields = line.split(SEPARATOR);
    // Bytes that are not UTF-8 were decoded as U+FFFD: name where (the data files are UTF-8 or ASCII).
    if (line.includes("\ufffd")) {
      const at = fields.findIndex((f) => f.includes("\ufffd"));
      return new SchemaError(
        file,
        `bytes that are not UTF-8 (character ${line.indexOf("\ufffd") + 1} of the line)`,
        { line: lineNo, ...(at >= 0 && at < names.length ? { column: names[at] as string } : {}) },
        'save the file as UTF-8 (a spreadsheet\'s "CSV UTF-8"), or remove the stray bytes',
      );
    }
    if (fields.length !== names.length) {
      return new SchemaError(
        file,
        `expected ${names.length} fields separated by ";", found ${fields.length}`,
        { line: lineNo },
        "a line was cut or has extra separators",
      );
    }
    for (let i = 0; i < names.length; i++) {
      const column = names[i] as string;
      const value = (fields[i] as string).trim();
      if (column === TURBINE_COLUMN) {
        if (value === "") return new SchemaError(file, "empty turbine name", { line: lineNo, column });
      } else if (column === DATE_COLUMN) {
        if (!DATE_PATTERN.test(value) || Number.isNaN(Date.parse(value))) {
          return new SchemaError(
            file,
            `bad date ${JSON.stringify(value)}`,
            { line: lineNo, column },
            "dates are ISO 8601 with an offset, like 2017-01-01T00:00:00+01:00",
          );
        }
      } else if (value !== "" && !NUMBER_PATTERN.test(value)) {
        return new SchemaError(
          file,
          `${JSON.stringify(value.slice(0, 40))} is not a number`,
          { line: lineNo, column },
          "sensor columns hold decimal numbers with '.' as decimal point, or nothing when missing",
        );
      }
    }
  }
  return undefined;
}
