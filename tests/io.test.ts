import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import pl from "nodejs-polars";
import { parseTimestamp, timestamp, writeDated } from "../src/io/dated.js";
import {
  csvFile,
  datedCsv,
  MissingInputError,
  parquetFile,
  parquetReader,
  type Reader,
  withIO,
} from "../src/io/with-io.js";
import { tempDir } from "./helpers/csv.js";

const tmp = tempDir();
after(() => tmp.cleanup());
const at = new Date("2026-11-25T17:30:05Z");

describe("dated file names", () => {
  test("timestamp is the course's %Y%m%d-%H%M%S, in UTC, and parses back", () => {
    assert.equal(timestamp(at), "20261125-173005");
    assert.equal(timestamp(new Date("2017-01-01T00:00:00+01:00")), "20161231-230000");
    assert.equal(parseTimestamp("20261125-173005")?.toISOString(), "2026-11-25T17:30:05.000Z");
    assert.equal(parseTimestamp("20261125-173005_2")?.toISOString(), "2026-11-25T17:30:05.000Z");
    assert.equal(parseTimestamp("20261332-250000"), undefined);
    assert.equal(parseTimestamp("latest"), undefined);
  });

  test("two writes in the same second never overwrite each other; latest is the last one", async () => {
    const folder = join(tmp.dir, "dated");
    const first = await writeDated(folder, ".csv", (p) => writeFileSync(p, "first\n"), at);
    const second = await writeDated(folder, ".csv", (p) => writeFileSync(p, "second\n"), at);
    const third = await writeDated(folder, ".csv", (p) => writeFileSync(p, "third\n"), at);
    assert.equal(first.path, join(folder, "20261125-173005.csv"));
    assert.equal(second.path, join(folder, "20261125-173005_2.csv"));
    assert.equal(third.path, join(folder, "20261125-173005_3.csv"));
    assert.equal(readFileSync(first.path, "utf8"), "first\n");
    assert.equal(readFileSync(second.path, "utf8"), "second\n");
    assert.equal(readFileSync(join(folder, "latest.csv"), "utf8"), "third\n");
    assert.deepEqual(readdirSync(folder).sort(), [
      "20261125-173005.csv",
      "20261125-173005_2.csv",
      "20261125-173005_3.csv",
      "latest.csv",
    ]);
  });

  test("concurrent writes in the same second each get their own file", async () => {
    const folder = join(tmp.dir, "concurrent");
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => writeDated(folder, ".csv", (p) => writeFileSync(p, `${i}\n`), at)),
    );
    assert.equal(new Set(results.map((r) => r.path)).size, 8);
    for (const [i, r] of results.entries()) assert.equal(readFileSync(r.path, "utf8"), `${i}\n`);
  });

  test("a failing write leaves neither a dated file, nor a changed latest, nor a temporary file", async () => {
    const folder = join(tmp.dir, "failing");
    await writeDated(folder, ".csv", (p) => writeFileSync(p, "good\n"), at);
    await assert.rejects(
      writeDated(
        folder,
        ".csv",
        (p) => {
          writeFileSync(p, "half");
          throw new Error("disk full");
        },
        new Date("2026-11-25T17:31:00Z"),
      ),
      /disk full/,
    );
    assert.deepEqual(readdirSync(folder).sort(), ["20261125-173005.csv", "latest.csv"]);
    assert.equal(readFileSync(join(folder, "latest.csv"), "utf8"), "good\n");
  });
});

describe("withIO", () => {
  const double = withIO(
    ([df]: [pl.DataFrame], o: { factor: number }) => df.select(pl.col("x").mul(o.factor)),
    {
      readers: [parquetReader("features file", "run the prepare_features task first")],
      writer: parquetFile,
    },
  );

  test("reads the input file, runs the pure step, writes the output atomically", async () => {
    const input = join(tmp.dir, "in.parquet");
    pl.DataFrame({ x: [1, 2, 3] }).writeParquet(input);
    const out = join(tmp.dir, "out", "doubled.parquet");
    const written = await double([input], out, { factor: 2 });
    assert.deepEqual(written, [out]);
    assert.deepEqual(pl.readParquet(out).getColumn("x").toArray(), [2, 4, 6]);
  });

  test("the frames a step read are collected once its output is written (issue 11: native memory)", async () => {
    const input = join(tmp.dir, "in-collected.parquet");
    pl.DataFrame({ x: [1, 2, 3] }).writeParquet(input);
    let read: WeakRef<pl.DataFrame> | undefined;
    const step = withIO(([df]: [pl.DataFrame]) => df.select(pl.col("x").mul(2)), {
      readers: [
        {
          what: "features file",
          hint: "run the prepare_features task first",
          read: async (path: string) => {
            const df = pl.readParquet(path);
            read = new WeakRef(df);
            // A WeakRef keeps its target until the end of the turn that made it: end this one.
            await new Promise<void>((resolve) => setImmediate(resolve));
            return df;
          },
        },
      ],
      writer: parquetFile,
    });
    const out = join(tmp.dir, "out", "collected.parquet");
    assert.deepEqual(await step([input], out, undefined), [out]);
    assert.ok(read, "the reader ran");
    assert.equal(read.deref(), undefined, "the input frame is still alive");
  });

  test("a missing input names the file and what makes it", async () => {
    await assert.rejects(
      double([join(tmp.dir, "nope.parquet")], join(tmp.dir, "x.parquet"), { factor: 2 }),
      (e) => {
        assert.ok(e instanceof MissingInputError);
        assert.match(e.message, /no features file at .*nope\.parquet/);
        assert.equal(e.hint, "run the prepare_features task first");
        return true;
      },
    );
  });

  test("a step that throws writes nothing", async () => {
    const failing = withIO(
      (_: [string]): pl.DataFrame => {
        throw new Error("bad input");
      },
      {
        readers: [
          { what: "text", hint: "-", read: (p: string) => readFileSync(p, "utf8") } as Reader<string>,
        ],
        writer: csvFile(),
      },
    );
    const input = join(tmp.dir, "t.txt");
    writeFileSync(input, "x");
    const out = join(tmp.dir, "never.csv");
    await assert.rejects(failing([input], out, undefined), /bad input/);
    assert.equal(existsSync(out), false);
  });

  test("dated CSV writer passes the stamp to the content", async () => {
    const folder = join(tmp.dir, "predictions");
    const writer = datedCsv(",", () => at);
    const [path, latest] = await writer.write(
      (stamp) => pl.DataFrame({ predictions: [1.5], predictions_time: [stamp] }),
      folder,
    );
    assert.equal(path, join(folder, "20261125-173005.csv"));
    assert.equal(readFileSync(path as string, "utf8"), "predictions,predictions_time\n1.5,20261125-173005\n");
    assert.equal(readFileSync(latest as string, "utf8"), readFileSync(path as string, "utf8"));
  });
});
