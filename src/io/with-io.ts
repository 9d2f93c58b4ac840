/**
 * `withIO`: the lab's functions "decorated with read and write". A pipeline step is a pure function of data;
 * its task twin reads the inputs from files and writes the output to files, so that tasks exchange files and
 * only small values (paths) pass from one task to the next. Reads fail with an error that names the missing
 * file and says which task makes it; writes are atomic (temporary file, then rename).
 */
import { existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import pl from "nodejs-polars";
import { WindflowError } from "../errors.js";
import { checkWritable, writeAtomically } from "../util/atomic.js";
import { collectingAfter } from "../util/gc.js";
import { writeDated } from "./dated.js";

export interface Reader<T> {
  /** What is read, in words: "features file", "model". */
  what: string;
  /** What makes the input when it is missing, e.g. "run the train DAG first (or `windflow train`)". */
  hint: string;
  read(path: string): Promise<T> | T;
  /** Whether the input exists; default: the path exists. */
  exists?(path: string): boolean;
}

export interface Writer<T> {
  what: string;
  /** Writes `value` at `target` (a file, or a folder for dated outputs) and returns the paths written. */
  write(value: T, target: string): Promise<string[]>;
}

export class MissingInputError extends WindflowError {
  constructor(
    readonly what: string,
    readonly path: string,
    hint: string,
  ) {
    super(`no ${what} at ${path}`, { hint });
  }
}

type Paths<Ins extends unknown[]> = { [K in keyof Ins]: string };
type Readers<Ins extends unknown[]> = { [K in keyof Ins]: Reader<Ins[K]> };

/**
 * Turns `step(inputs, options)` into `(inputPaths, target, options) => written paths`.
 * Example: `withIO(([data], o) => prepareFeatures(data, o), { readers: [csvData], writer: parquetFile })`.
 */
export function withIO<Ins extends unknown[], O, Opt>(
  step: (inputs: Ins, options: Opt) => O | Promise<O>,
  io: { readers: Readers<Ins>; writer: Writer<O> },
): (inputPaths: Paths<Ins>, target: string, options: Opt) => Promise<string[]> {
  // The inputs and the output are dropped once written: collected then (util/gc.ts), not when V8 happens to run.
  return (inputPaths, target, options) => collectingAfter(() => run(inputPaths, target, options));
  async function run(inputPaths: Paths<Ins>, target: string, options: Opt): Promise<string[]> {
    // An output that cannot be written is said before the work (reading, training), not after it.
    checkWritable(existsSync(target) && statSync(target).isDirectory() ? target : dirname(target));
    const readers = io.readers as Reader<unknown>[];
    const paths = inputPaths as string[];
    const inputs: unknown[] = [];
    for (let i = 0; i < readers.length; i++) {
      const reader = readers[i] as Reader<unknown>;
      const path = paths[i] as string;
      const present = reader.exists ? reader.exists(path) : existsSync(path);
      if (!present) throw new MissingInputError(reader.what, path, reader.hint);
      inputs.push(await readInput(reader, path));
    }
    const output = await step(inputs as Ins, options);
    return io.writer.write(output, target);
  }
}

/** An input that exists but cannot be read: a folder where a file is expected, a corrupt or foreign file. */
export class InputReadError extends WindflowError {
  constructor(
    readonly what: string,
    readonly path: string,
    detail: string,
    hint: string,
    cause?: unknown,
  ) {
    super(`cannot read the ${what} ${path}: ${detail}`, { hint, cause });
  }
}

/** `reader.read(path)`, its failures named by the file (polars' own messages do not name it). */
async function readInput<T>(reader: Reader<T>, path: string): Promise<T> {
  if (!reader.exists && existsSync(path) && statSync(path).isDirectory())
    throw new InputReadError(
      reader.what,
      path,
      "it is a folder",
      `give the path of the ${reader.what} itself`,
    );
  try {
    return await reader.read(path);
  } catch (error) {
    if (error instanceof WindflowError) throw error;
    const text = String((error as Error)?.message ?? error).split("\n")[0] as string;
    throw new InputReadError(
      reader.what,
      path,
      text.slice(0, 300),
      `the file is damaged or not a ${reader.what}: ${reader.hint}`,
      error,
    );
  }
}

/** A polars frame to a Parquet file (snappy), atomically. */
export const parquetFile: Writer<pl.DataFrame> = {
  what: "Parquet file",
  async write(df, target) {
    await writeAtomically(target, (tmp) => {
      df.writeParquet(tmp, { compression: "snappy" });
    });
    return [target];
  },
};

/** A Parquet file to a polars frame. */
export function parquetReader(what: string, hint: string): Reader<pl.DataFrame> {
  return { what, hint, read: (path) => pl.readParquet(path) };
}

/** A polars frame to a CSV file, atomically. */
export function csvFile(separator = ","): Writer<pl.DataFrame> {
  return {
    what: "CSV file",
    async write(df, target) {
      await writeAtomically(target, (tmp) => {
        df.writeCSV(tmp, { separator, includeHeader: true });
      });
      return [target];
    },
  };
}

/**
 * Dated CSVs: `{target}/{YYYYmmdd-HHMMSS}.csv` and `{target}/latest.csv` (see dated.ts for the naming rule).
 * The value is a function of the stamp, for contents that carry it (the predictions' `predictions_time`).
 */
export function datedCsv(separator = ",", date?: () => Date): Writer<(stamp: string) => pl.DataFrame> {
  return {
    what: "dated CSV",
    async write(make, folder) {
      const { path, latest } = await writeDated(
        folder,
        ".csv",
        (tmp, stamp) => {
          make(stamp).writeCSV(tmp, { separator, includeHeader: true });
        },
        date?.() ?? new Date(),
      );
      return [path, latest];
    },
  };
}
