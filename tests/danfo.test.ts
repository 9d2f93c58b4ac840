import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { toDanfo } from "../src/data/danfo.js";
import { loadDataset } from "../src/data/load.js";
import { HEADER, row, tempDir } from "./helpers/csv.js";

const tmp = tempDir();
after(() => tmp.cleanup());

describe("toDanfo", () => {
  test("converts the asked columns: numbers with NaN for gaps, dates as ISO strings", async () => {
    const file = tmp.file("d.csv", [HEADER, row({ Ba_avg: "" }, 1), row({ Ba_avg: "-0.99" }, 2)].join("\n"));
    const df = await loadDataset(file);
    const dfd = toDanfo(df, { columns: ["Wind_turbine_name", "Date_time", "Ba_avg", "Ws_avg"] });
    assert.deepEqual(dfd.columns, ["Wind_turbine_name", "Date_time", "Ba_avg", "Ws_avg"]);
    assert.deepEqual(dfd.shape, [2, 4]);
    const ba = dfd.column("Ba_avg").values as number[];
    assert.ok(Number.isNaN(ba[0]));
    assert.equal(ba[1], -0.99);
    assert.deepEqual(dfd.column("Date_time").values, [
      "2017-01-01T00:00:00.000Z",
      "2017-01-01T01:00:00.000Z",
    ]);
    assert.deepEqual(dfd.column("Wind_turbine_name").values, ["R80711", "R80711"]);
  });

  test("samples rows reproducibly and names unknown columns", async () => {
    const lines = [HEADER];
    for (let i = 0; i < 50; i++) lines.push(row({}, i));
    const df = await loadDataset(tmp.file("s.csv", lines.join("\n")));
    const a = toDanfo(df, { columns: ["P_avg"], rows: 10, seed: 3 });
    const b = toDanfo(df, { columns: ["P_avg"], rows: 10, seed: 3 });
    assert.equal(a.shape[0], 10);
    assert.deepEqual(a.column("P_avg").values, b.column("P_avg").values);
    assert.throws(() => toDanfo(df, { columns: ["Nope"] }), /no column Nope/);
  });
});

describe("describeColumns", () => {
  test("pandas' describe with missing values skipped: the numbers equal polars' on the same rows", async () => {
    const { describeColumns, DESCRIBE_STATS } = await import("../src/data/danfo.js");
    const { synthesizeCsv } = await import("../src/data/synthetic.js");
    const pl = (await import("nodejs-polars")).default;
    const data = await loadDataset(tmp.file("describe.csv", synthesizeCsv({ seed: 9, days: 2 })));
    const columns = ["Ba_avg", "Ws_avg", "P_avg", "Ot_avg", "Va1_avg"];
    const frame = toDanfo(data, { columns });
    const shown = describeColumns(frame);
    assert.deepEqual(shown.index, [...DESCRIBE_STATS]);
    assert.deepEqual(shown.columns, columns);
    let sawMissing = false;
    // nodejs-polars takes the interpolation at run time; its types omit it.
    const linear = (e: ReturnType<typeof pl.col>, q: number) =>
      (e as unknown as { quantile(q: number, how: string): ReturnType<typeof pl.col> }).quantile(q, "linear");
    for (const c of columns) {
      const col = pl.col(c);
      const [expected] = data
        .select(
          col.count().cast(pl.Float64).alias("count"),
          col.nullCount().cast(pl.Float64).alias("missing"),
          col.mean().alias("mean"),
          col.std().alias("std"),
          col.min().alias("min"),
          linear(col, 0.25).alias("25%"),
          col.median().alias("50%"),
          linear(col, 0.75).alias("75%"),
          col.max().alias("max"),
        )
        .toRecords() as Record<string, number>[];
      const got = shown.column(c).values as number[];
      if ((expected?.missing ?? 0) > 0) sawMissing = true;
      DESCRIBE_STATS.forEach((stat, i) => {
        const want = expected?.[stat] as number;
        const value = got[i] as number;
        assert.ok(Number.isFinite(value), `${c} ${stat} is a number, not ${value}`);
        assert.ok(
          Math.abs(value - want) <= 1e-9 * Math.max(1, Math.abs(want)),
          `${c} ${stat}: ${value} vs polars ${want}`,
        );
      });
    }
    assert.ok(sawMissing, "the slice has missing values, as the course's file does");
  });
});
