/**
 * prepareFeatures: each rule of SEED-NOTES "prepare_features" on small hand-made frames, the errors, and the
 * notebooks' step by step. Parity with the pandas oracle is in features-oracle.test.ts (it runs Python).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import pl from "nodejs-polars";
import { loadDataset } from "../src/data/load.js";
import { COLUMNS, SENSOR_COLUMNS } from "../src/data/schema.js";
import { synthesizeCsv } from "../src/data/synthetic.js";
import { SchemaError, WindflowError } from "../src/errors.js";
import { chain, prepareFeaturesSteps, runSteps, sameAsPrepareFeatures } from "../src/features/explain.js";
import {
  DATE_FEATURES,
  FEATURE_COLUMNS,
  FILL_RULES,
  preparedColumns,
  prepareFeatures,
  prepareFeaturesConsuming,
  prepareFeaturesWithIO,
} from "../src/features/prepare.js";
import { collectGarbageSoon } from "../src/util/gc.js";
import { frame, punchHoles, slicesHoles, values } from "./helpers/features-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "windflow-features-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const training = { trainingMode: true };
const prediction = { trainingMode: false };

describe("the feature columns", () => {
  test("135 features: the 132 sensor columns other than Ba_*, in file order, then year, month, season", () => {
    assert.equal(FEATURE_COLUMNS.length, 135);
    assert.deepEqual(
      FEATURE_COLUMNS.slice(0, 132),
      SENSOR_COLUMNS.filter((c) => !c.startsWith("Ba_")),
    );
    assert.deepEqual(FEATURE_COLUMNS.slice(132), ["year", "month", "season"]);
    assert.deepEqual(preparedColumns(true), ["Ba_avg", ...FEATURE_COLUMNS]);
    assert.deepEqual(preparedColumns(false), [...FEATURE_COLUMNS]);
  });

  test("the fill rules cover Q_* (4), Va1_* (4), Va2_* (4), Rs_* and Rm_* (8)", () => {
    assert.deepEqual(FILL_RULES.forwardFill, ["Q_avg", "Q_min", "Q_max", "Q_std"]);
    assert.deepEqual(FILL_RULES.mean, ["Va1_avg", "Va1_min", "Va1_max", "Va1_std"]);
    assert.deepEqual(FILL_RULES.median, ["Va2_avg", "Va2_min", "Va2_max", "Va2_std"]);
    assert.deepEqual(FILL_RULES.rollingMean, [
      ...["Rs_avg", "Rs_min", "Rs_max", "Rs_std"],
      ...["Rm_avg", "Rm_min", "Rm_max", "Rm_std"],
    ]);
  });

  test("output: the columns in order, sensors Float64, date features Int32, no nulls", () => {
    const df = frame([{ Date_time: "2017-05-01T12:00:00+02:00", Q_avg: null, Pas_avg: null }]);
    for (const [options, columns] of [
      [training, preparedColumns(true)],
      [prediction, preparedColumns(false)],
    ] as const) {
      const out = prepareFeatures(df, options);
      assert.deepEqual(out.columns, columns);
      const dtypes = out.dtypes.map(String);
      out.columns.forEach((c, i) => {
        const expected = (DATE_FEATURES as readonly string[]).includes(c) ? "Int32" : "Float64";
        assert.match(dtypes[i] ?? "", new RegExp(expected), c);
      });
      assert.equal(
        out
          .nullCount()
          .row(0)
          .reduce((a: number, b: number) => a + b, 0),
        0,
      );
    }
  });
});

describe("the rules, on hand-made frames", () => {
  test("1. training drops the rows without a target (null or NaN); prediction keeps every row, drops Ba_avg", () => {
    const df = frame([
      { Date_time: "2017-01-01T10:00:00+01:00", Ba_avg: 1 },
      { Date_time: "2017-01-01T10:10:00+01:00", Ba_avg: null },
      { Date_time: "2017-01-01T10:20:00+01:00", Ba_avg: Number.NaN },
      { Date_time: "2017-01-01T10:30:00+01:00", Ba_avg: 4 },
    ]);
    assert.deepEqual(values(prepareFeatures(df, training), "Ba_avg"), [1, 4]);
    const out = prepareFeatures(df, prediction);
    assert.equal(out.height, 4);
    assert.ok(!out.columns.includes("Ba_avg"));
  });

  test("prediction input without Ba_avg is fine; training input without it names the column", () => {
    const df = frame([{ Date_time: "2017-01-01T10:00:00+01:00" }], { drop: ["Ba_avg"] });
    assert.deepEqual(prepareFeatures(df, prediction).columns, [...FEATURE_COLUMNS]);
    assert.throws(
      () => prepareFeatures(df, training),
      (e: unknown) =>
        e instanceof SchemaError &&
        e.where.column === "Ba_avg" &&
        /missing required column Ba_avg/.test(e.message) &&
        /trainingMode: false/.test(e.hint ?? ""),
    );
  });

  test("2. year, month and season of the UTC instant (local midnight of Jan 1st is still December)", () => {
    const dates = [
      ["2017-01-01T00:00:00+01:00", 2016, 12, 1],
      ["2017-02-15T12:00:00+01:00", 2017, 2, 1],
      ["2017-03-01T00:30:00+01:00", 2017, 2, 1],
      ["2017-03-01T01:00:00+01:00", 2017, 3, 2],
      ["2017-05-15T12:00:00+02:00", 2017, 5, 2],
      ["2017-06-01T01:00:00+02:00", 2017, 5, 2],
      ["2017-06-01T02:00:00+02:00", 2017, 6, 3],
      ["2017-08-15T12:00:00+02:00", 2017, 8, 3],
      ["2017-09-15T12:00:00+02:00", 2017, 9, 4],
      ["2017-11-30T12:00:00+01:00", 2017, 11, 4],
      ["2017-12-01T00:30:00+01:00", 2017, 11, 4],
      ["2017-12-15T12:00:00+01:00", 2017, 12, 1],
      ["2018-01-01T00:30:00+01:00", 2017, 12, 1],
      ["2018-01-01T01:00:00+01:00", 2018, 1, 1],
    ] as const;
    const out = prepareFeatures(frame(dates.map(([d]) => ({ Date_time: d }))), prediction);
    // The dates are already in order, so the sort keeps them.
    assert.deepEqual(
      values(out, "year"),
      dates.map((d) => d[1]),
    );
    assert.deepEqual(
      values(out, "month"),
      dates.map((d) => d[2]),
    );
    assert.deepEqual(
      values(out, "season"),
      dates.map((d) => d[3]),
    );
  });

  test("Date_time may be a Datetime: naive (taken as UTC), UTC or another zone (converted to UTC)", () => {
    const strings = frame([
      { Date_time: "2018-01-01T00:30:00+01:00", Ba_avg: 1 },
      { Date_time: "2017-12-31T23:50:00+00:00", Ba_avg: 2 },
    ]);
    const expected = prepareFeatures(strings, training);
    const parsed = strings.withColumn(
      pl.col("Date_time").str.strptime(pl.Datetime("ms"), "%Y-%m-%dT%H:%M:%S%:z"),
    );
    const variants = {
      utc: parsed,
      paris: parsed.withColumn(pl.col("Date_time").dt.convertTimeZone("Europe/Paris")),
      naive: strings.withColumn(
        pl.Series("Date_time", [new Date("2017-12-31T23:30:00Z"), new Date("2017-12-31T23:50:00Z")]),
      ),
    };
    assert.match(String(variants.naive.getColumn("Date_time").dtype), /Datetime\(ms,\)/);
    assert.match(String(variants.paris.getColumn("Date_time").dtype), /Europe\/Paris/);
    for (const [name, df] of Object.entries(variants)) {
      const out = prepareFeatures(df, training);
      assert.ok(out.frameEqual(expected), name);
    }
    assert.deepEqual(values(expected, "Ba_avg"), [1, 2]);
    assert.deepEqual(values(expected, "year"), [2017, 2017]);
    assert.deepEqual(values(expected, "month"), [12, 12]);
  });

  test("3. the sort is stable: equal dates keep their input order, across turbines", () => {
    const df = frame([
      { Date_time: "2017-01-02T00:00:00+01:00", Wind_turbine_name: "R80711", Q_avg: 5, Ba_avg: 40 },
      { Date_time: "2017-01-01T00:00:00+01:00", Wind_turbine_name: "R80721", Q_avg: 1, Ba_avg: 10 },
      { Date_time: "2017-01-01T00:00:00+01:00", Wind_turbine_name: "R80736", Q_avg: null, Ba_avg: 20 },
      { Date_time: "2017-01-01T00:00:00+01:00", Wind_turbine_name: "R80790", Q_avg: 3, Ba_avg: 30 },
      { Date_time: "2016-12-31T23:00:00+00:00", Wind_turbine_name: "R80711", Q_avg: 9, Ba_avg: 0 },
    ]);
    const out = prepareFeatures(df, training);
    // 2016-12-31T23:00Z equals 2017-01-01T00:00+01:00: a tie with the three rows before it, so it comes last of them.
    assert.deepEqual(values(out, "Ba_avg"), [10, 20, 30, 0, 40]);
    // 4. The forward fill runs after the sort: the missing Q of R80736 takes R80721's, its predecessor.
    assert.deepEqual(values(out, "Q_avg"), [1, 1, 3, 9, 5]);
  });

  test("4. Q_* forward fill; a leading missing value stays missing, then 0; NaN is missing", () => {
    const df = frame([
      { Date_time: "2017-01-01T00:30:00+01:00", Q_avg: 7, Q_std: Number.NaN },
      { Date_time: "2017-01-01T00:00:00+01:00", Q_avg: null, Q_std: null },
      { Date_time: "2017-01-01T00:40:00+01:00", Q_avg: null, Q_std: 2 },
      { Date_time: "2017-01-01T00:50:00+01:00", Q_avg: null, Q_std: Number.NaN },
    ]);
    const out = prepareFeatures(df, prediction);
    assert.deepEqual(values(out, "Q_avg"), [0, 7, 7, 7]);
    assert.deepEqual(values(out, "Q_std"), [0, 0, 2, 2]);
  });

  test("4. Va1_* column mean and Va2_* column median, over the rows left after the target filter", () => {
    const df = frame([
      { Date_time: "2017-01-01T00:00:00+01:00", Va1_avg: 1, Va2_avg: 1 },
      { Date_time: "2017-01-01T00:10:00+01:00", Va1_avg: null, Va2_avg: null },
      { Date_time: "2017-01-01T00:20:00+01:00", Va1_avg: 2, Va2_avg: 2 },
      { Date_time: "2017-01-01T00:30:00+01:00", Va1_avg: 9, Va2_avg: 9 },
      { Date_time: "2017-01-01T00:40:00+01:00", Va1_avg: 100, Va2_avg: 100, Ba_avg: null },
      { Date_time: "2017-01-01T00:50:00+01:00", Va1_avg: 10, Va2_avg: 10 },
      { Date_time: "2017-01-01T01:00:00+01:00", Va1_avg: Number.NaN, Va2_avg: Number.NaN },
    ]);
    const train = prepareFeatures(df, training);
    assert.deepEqual(values(train, "Va1_avg"), [1, 5.5, 2, 9, 10, 5.5]);
    assert.deepEqual(values(train, "Va2_avg"), [1, 5.5, 2, 9, 10, 5.5]); // median of 1, 2, 9, 10
    const predict = prepareFeatures(df, prediction);
    assert.deepEqual(values(predict, "Va1_avg"), [1, 24.4, 2, 9, 100, 10, 24.4]);
    assert.deepEqual(values(predict, "Va2_avg"), [1, 9, 2, 9, 100, 10, 9]);
    // A column with no value at all has no mean: 0.
    const empty = frame([{ Date_time: "2017-01-01T00:00:00+01:00", Va1_min: null, Va2_min: null }]);
    assert.deepEqual(values(prepareFeatures(empty, prediction), "Va1_min"), [0]);
    assert.deepEqual(values(prepareFeatures(empty, prediction), "Va2_min"), [0]);
  });

  test("4. Rs_*/Rm_*: mean of the non-missing values among the last 30 rows, from the original values", () => {
    // Sorted values: 2, null, 4, null, then 31 nulls, then 8, null.
    const raw: (number | null)[] = [2, null, 4, null, ...Array<null>(31).fill(null), 8, null];
    const start = Date.parse("2017-01-01T00:00:00Z");
    const rows = raw.map((v, i) => ({
      Date_time: new Date(start + i * 600_000).toISOString().replace(".000Z", "+00:00"),
      Rs_avg: v,
      Rm_std: v,
    }));
    rows.reverse(); // the rule applies to the sorted rows
    const out = prepareFeatures(frame(rows), prediction);
    // Window of row i: rows i-29..i. Filled values are not used by later windows (row 3 is mean(2, 4), not
    // mean(2, 2, 4)). Rows 32-34 see no value: null, then 0.
    const expected = raw.map((v, i) => {
      if (v !== null) return v;
      const window = raw.slice(Math.max(0, i - 29), i + 1).filter((x): x is number => x !== null);
      return window.length === 0 ? 0 : window.reduce((a, b) => a + b, 0) / window.length;
    });
    assert.deepEqual(expected.slice(0, 4), [2, 2, 4, 3]);
    assert.deepEqual(expected.slice(30, 37), [4, 4, 0, 0, 0, 8, 8]);
    assert.deepEqual(values(out, "Rs_avg"), expected);
    assert.deepEqual(values(out, "Rm_std"), expected);
  });

  test("5-6. dropped columns go; every other missing value becomes 0 (no forward fill, no mean)", () => {
    const df = frame([
      { Date_time: "2017-01-01T00:00:00+01:00", Ws_avg: 5, Pas_avg: null, Ot_std: Number.NaN },
      { Date_time: "2017-01-01T00:10:00+01:00", Ws_avg: null, Pas_avg: null, Ot_std: 3 },
    ]);
    const out = prepareFeatures(df, training);
    for (const c of ["Wind_turbine_name", "Date_time", "Ba_min", "Ba_max", "Ba_std"]) {
      assert.ok(!out.columns.includes(c), c);
    }
    assert.deepEqual(values(out, "Ws_avg"), [5, 0]);
    assert.deepEqual(values(out, "Pas_avg"), [0, 0]);
    assert.deepEqual(values(out, "Ot_std"), [0, 3]);
  });

  test("the input frame is left as it was", () => {
    const df = frame([
      { Date_time: "2017-01-01T00:10:00+01:00", Q_avg: null, Ba_avg: null },
      { Date_time: "2017-01-01T00:00:00+01:00", Q_avg: 1 },
    ]);
    prepareFeatures(df, training);
    assert.equal(df.height, 2);
    assert.deepEqual(values(df, "Q_avg"), [null, 1]);
    assert.equal(df.getColumn("Date_time").dtype.variant, "String");
  });
});

describe("errors name the column", () => {
  const base = { Date_time: "2017-01-01T00:00:00+01:00" };
  test("a missing column", () => {
    const df = frame([base], { drop: ["Rs_std", "Q_avg"] });
    assert.throws(
      () => prepareFeatures(df, prediction),
      (e: unknown) =>
        e instanceof SchemaError &&
        e.where.column === "Q_avg" &&
        /missing required columns Q_avg, Rs_std/.test(e.message),
    );
  });

  test("an unknown column", () => {
    const df = frame([base]).withColumn(pl.lit(1).alias("power_ratio"));
    assert.throws(
      () => prepareFeatures(df, prediction),
      (e: unknown) => e instanceof SchemaError && e.where.column === "power_ratio",
    );
  });

  test("a sensor column holding text", () => {
    const df = frame([base]).withColumn(pl.lit("high").alias("Ws_avg"));
    assert.throws(
      () => prepareFeatures(df, training),
      (e: unknown) =>
        e instanceof SchemaError && e.where.column === "Ws_avg" && /not numbers/.test(e.message),
    );
  });

  test("an unparsable or missing date", () => {
    for (const [bad, pattern] of [
      ["2017-01-01 00:00", /1 unparsable date, the first one "2017-01-01 00:00"/],
      [null, /1 row has no date/],
    ] as const) {
      const df = frame([base, { Date_time: bad }]);
      assert.throws(
        () => prepareFeatures(df, prediction),
        (e: unknown) => e instanceof SchemaError && e.where.column === "Date_time" && pattern.test(e.message),
      );
    }
  });

  test("prepareFeaturesWithIO: a missing input file gets a hint", async () => {
    const missing = join(dir, "nope.csv");
    await assert.rejects(
      prepareFeaturesWithIO(missing, join(dir, "f.parquet"), training),
      (e: unknown) =>
        e instanceof WindflowError &&
        /no data file at .*nope\.csv/.test(e.message) &&
        /make dataset/.test(e.hint ?? ""),
    );
    await assert.rejects(
      prepareFeaturesWithIO(missing, join(dir, "f.parquet"), prediction),
      (e: unknown) => e instanceof WindflowError && /data generator/.test(e.hint ?? ""),
    );
    assert.ok(!existsSync(join(dir, "f.parquet")));
  });
});

describe("prepareFeaturesConsuming (prepareFeaturesWithIO's way: the data given up)", () => {
  test("the same frame as prepareFeatures, both modes; each used column is dropped from the data as it goes", async () => {
    const csv = join(dir, "consuming.csv");
    // Holes, NaN and missing targets across the chunks of columns; a year boundary; each date twice (two turbines).
    writeFileSync(
      csv,
      punchHoles(synthesizeCsv({ seed: 17, start: "2017-12-31T18:00:00+01:00", days: 2 }), slicesHoles()),
    );
    for (const options of [training, prediction]) {
      const expected = prepareFeatures(await loadDataset(csv), options);
      const data = await loadDataset(csv);
      const seen: string[][] = [];
      const got = await prepareFeaturesConsuming(data, options, () => seen.push(data.columns));
      assert.ok(
        got.frameEqual(expected, true),
        `mode ${options.trainingMode}: same values, order and dtypes`,
      );
      assert.deepEqual(got.columns, preparedColumns(options.trainingMode));
      const used = preparedColumns(options.trainingMode);
      assert.deepEqual(
        data.columns,
        COLUMNS.filter((c) => !used.includes(c)),
        "the data keeps only the columns the features do not use",
      );
      assert.ok(seen.length >= 3, `it went a chunk at a time (${seen.length} steps)`);
      // Used again (a notebook's cell run twice), the data given up says so and what to do, in every step.
      const givenUp = (e: unknown) =>
        e instanceof WindflowError &&
        /the input data was given up to prepareFeaturesConsuming, which took its columns/.test(e.message) &&
        /load the data again \(loadDataset\)/.test(e.hint ?? "");
      assert.throws(() => prepareFeatures(data, options), givenUp);
      await assert.rejects(prepareFeaturesConsuming(data, options), givenUp);
      await assert.rejects(prepareFeaturesSteps(data, options), /the data was given up/);
      assert.ok(
        seen.every((columns, i) => i === 0 || columns.length < (seen[i - 1] as string[]).length),
        "the data shrank at each step",
      );
    }
  });

  test("a sensor column that is not numbers fails before any column is dropped", async () => {
    const data = frame([{ Date_time: "2017-05-01T12:00:00+02:00" }]).withColumn(pl.Series("P_avg", ["12,5"]));
    const before = data.columns;
    await assert.rejects(
      prepareFeaturesConsuming(data, training),
      (e: unknown) => e instanceof SchemaError && /P_avg has values that are not numbers/.test(e.message),
    );
    assert.deepEqual(data.columns, before);
  });
});

describe("prepareFeaturesSteps (the notebooks' step by step)", () => {
  test("the last step is prepareFeatures' result, both modes; each fill rule shows rows it changed", async () => {
    const csv = join(dir, "steps.csv");
    writeFileSync(
      csv,
      punchHoles(synthesizeCsv({ seed: 13, start: "2017-06-01T00:00:00+02:00", days: 2 }), slicesHoles()),
    );
    const data = await loadDataset(csv);
    for (const trainingMode of [true, false]) {
      const steps = await prepareFeaturesSteps(data, { trainingMode });
      assert.deepEqual(
        steps.map((s) => s.step),
        ["1", "2", "3", "4a", "4b", "4c", "4d", "5", "6"],
      );
      assert.ok(await sameAsPrepareFeatures(data, { trainingMode }), `mode ${trainingMode}`);
      // Each step's counts and first rows, not its whole frame (a notebook keeps them all).
      const expected = prepareFeatures(data, { trainingMode });
      const last = steps.at(-1);
      assert.equal(last?.height, expected.height);
      assert.equal(last?.width, expected.width);
      assert.ok(
        last?.head.frameEqual(expected.head(10), true),
        "the last step's head is prepareFeatures' head",
      );
      for (const s of steps) assert.ok(s.head.height <= 10 && s.head.width === s.width, `step ${s.step}`);
      assert.ok(!("frame" in (steps[0] as object)), "no step holds its whole frame");
      const ffill = steps.find((s) => s.step === "4a");
      const example = ffill?.example;
      assert.ok(example, "the forward fill changed rows");
      const before = example.before.getColumn("Q_avg").toArray() as (number | null)[];
      const after = example.after.getColumn("Q_avg").toArray() as (number | null)[];
      assert.ok(before.includes(null) && !after.includes(null));
    }
  });

  test("no step's whole frame outlives the steps (issue 11: they are native memory V8 does not count)", async () => {
    const csv = join(dir, "steps-memory.csv");
    writeFileSync(csv, synthesizeCsv({ seed: 14, start: "2017-06-01T00:00:00+02:00", days: 1 }));
    const data = await loadDataset(csv);
    // A collection in a later turn than the WeakRefs' (a WeakRef keeps its target until its turn ends).
    const collect = async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      await collectGarbageSoon();
    };
    const refs: WeakRef<pl.DataFrame>[] = [];
    const widths: number[] = [];
    await runSteps(data, { trainingMode: true }, false, (f) => {
      refs.push(new WeakRef(f));
      widths.push(f.width);
    });
    await collect();
    assert.ok(refs.length > 9, `frames for the steps of each group of columns (${refs.length})`);
    assert.equal(refs.filter((r) => r.deref() !== undefined).length, 0, "frames still alive");
    // No frame holds the whole data beside the caller's: a group of 24 columns, the date, the target and
    // the three date features at most (the data has 138 columns).
    assert.ok(Math.max(...widths) <= 24 + 2 + 3, `widest frame: ${Math.max(...widths)} columns`);
    // The check can fail: a frame kept stays alive.
    let held: pl.DataFrame | undefined;
    const kept: WeakRef<pl.DataFrame>[] = [];
    await runSteps(data, { trainingMode: true }, false, (f) => {
      held ??= f;
      kept.push(new WeakRef(f));
    });
    await collect();
    assert.equal(kept[0]?.deref(), held);
    assert.equal(kept.slice(1).filter((r) => r.deref() !== undefined).length, 0);
  });

  test("the steps made a group of columns at a time are the steps made on the whole frame", async () => {
    const csv = join(dir, "steps-groups.csv");
    writeFileSync(
      csv,
      punchHoles(synthesizeCsv({ seed: 15, start: "2017-12-31T12:00:00+01:00", days: 2 }), slicesHoles()),
    );
    const data = await loadDataset(csv);
    for (const trainingMode of [true, false]) {
      const steps = (await runSteps(data, { trainingMode }, false)).steps;
      for (const [i, s] of steps.entries()) {
        const whole = (await chain(data, { trainingMode }, s.step)).parts[i];
        assert.ok(whole, `step ${s.step}`);
        const what = `mode ${trainingMode}, step ${s.step}`;
        assert.deepEqual([s.step, s.rule, s.height], [whole.step, whole.rule, whole.height], what);
        assert.deepEqual(s.columns, whole.columns, what);
        assert.ok(s.head.frameEqual(whole.head, true), `${what}: head`);
        assert.equal(s.example === null, whole.example === null, `${what}: example or not`);
        if (s.example && whole.example) {
          const shown = s.example.before.columns;
          assert.deepEqual(shown, whole.columns.slice(0, 8), `${what}: the example's columns`);
          assert.ok(
            s.example.before.frameEqual(whole.example.before.select(...shown), true),
            `${what}: before`,
          );
          assert.ok(s.example.after.frameEqual(whole.example.after.select(...shown), true), `${what}: after`);
        }
      }
      assert.ok(
        steps.some((s) => s.step === "6" && s.example !== null && s.columns.length > 8),
        "a last step with more columns than an example shows (the case worth testing)",
      );
    }
  });
});
