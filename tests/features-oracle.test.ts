/**
 * prepareFeatures against the pandas oracle (tests/oracle/prepare_features.py, run with the oracle venv's Python):
 * parity on the course's 9-row extract, a synthetic slice with holes in every filled column, and a slice across
 * a year boundary; the Parquet we write as pyarrow reads it. Values must agree to 1e-9, absolute below magnitude
 * 1 and relative above. (The rules one by one, on hand-made frames, are in features.test.ts.)
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pl from "nodejs-polars";
import { synthesizeCsv } from "../src/data/synthetic.js";
import { DATE_FEATURES, preparedColumns, prepareFeaturesWithIO } from "../src/features/prepare.js";
import {
  compareFrames,
  courseFixture,
  courseFixtureStandIn,
  ORACLE_PYTHON,
  oracleAvailable,
  punchHoles,
  readParquetWithPyarrow,
  runOracle,
  slicesHoles,
  values,
} from "./helpers/features-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "windflow-features-oracle-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The parity datasets: name -> CSV path. */
const datasets: Record<string, string> = {};

describe("parity with the pandas oracle", () => {
  before(() => {
    // The oracle venv is installed by `make test`; the course fixture sits in ../shared (never in the repo).
    assert.ok(oracleAvailable(), `no ${ORACLE_PYTHON}: run \`make .venv-oracle/.installed\``);
    datasets.synthetic = join(dir, "synthetic.csv");
    writeFileSync(
      datasets.synthetic,
      punchHoles(synthesizeCsv({ seed: 7, start: "2017-03-20T00:00:00+01:00", days: 3 }), slicesHoles()),
    );
    datasets["year boundary"] = join(dir, "year-boundary.csv");
    writeFileSync(
      datasets["year boundary"],
      punchHoles(synthesizeCsv({ seed: 11, start: "2017-12-31T20:00:00+01:00", days: 1 }), slicesHoles()),
    );
  });

  // The course fixture first: read in place from the shared folder (never copied into the repository). A clone
  // without that folder next to it (a CI machine) checks a stand-in with the fixture's layout instead, and the
  // test's name says which one ran.
  const fixture = courseFixture();
  const haveFixture = existsSync(fixture);
  const cases = [
    [
      haveFixture ? "course fixture" : "course fixture stand-in (no ../shared here)",
      () => {
        if (haveFixture) return fixture;
        const standIn = join(dir, "course-fixture-stand-in.csv");
        if (!existsSync(standIn))
          writeFileSync(
            standIn,
            courseFixtureStandIn((start, days) => synthesizeCsv({ seed: 3, start, days })),
          );
        return standIn;
      },
    ],
    ["synthetic", () => datasets.synthetic as string],
    ["year boundary", () => datasets["year boundary"] as string],
  ] as const;

  for (const [name, csv] of cases) {
    test(`${name}: same columns, order, dtypes, rows and values (1e-9), both modes`, async () => {
      const slug = name.replace(/ /g, "-");
      await Promise.all(
        [true, false].map(async (trainingMode) => {
          const mode = trainingMode ? "training" : "prediction";
          const ours = join(dir, `${slug}-${mode}-ours.parquet`);
          const theirs = join(dir, `${slug}-${mode}-oracle.parquet`);
          const [written] = await Promise.all([
            prepareFeaturesWithIO(csv(), ours, { trainingMode }),
            runOracle(csv(), theirs, trainingMode),
          ]);
          assert.deepEqual(written.columns, preparedColumns(trainingMode));
          const { problems } = compareFrames(pl.readParquet(ours), pl.readParquet(theirs));
          assert.deepEqual(problems, [], `${name}, ${mode}`);
        }),
      );
    });
  }

  test("the synthetic slices exercise what they should", async () => {
    // Holes of every kind survive into the file; a run of Rs beyond the window and the leading Q become 0.
    const df = pl.readParquet(join(dir, "synthetic-training-ours.parquet"));
    assert.equal(values(df, "Q_avg")[0], 0, "the first sorted row's Q has nothing to forward fill");
    assert.ok(values(df, "Q_avg")[1] === 0 && values(df, "Q_avg")[2] === 0);
    const zerosRs = values(df, "Rs_avg").filter((v) => v === 0).length;
    assert.ok(zerosRs >= 45 - 29, `Rs_avg zeros: ${zerosRs}`);
    // The year-boundary slice: rows before 01:00 local on Jan 1st 2018 are December 2017 in UTC.
    const year = pl.readParquet(join(dir, "year-boundary-prediction-ours.parquet"));
    const text = readFileSync(datasets["year boundary"] as string, "utf8");
    const dates = text
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => Date.parse(l.split(";")[1] as string));
    const december = dates.filter((t) => t < Date.parse("2018-01-01T00:00:00Z")).length;
    assert.ok(december > 0 && december < dates.length);
    assert.equal(values(year, "year").filter((y) => y === 2017).length, december);
    assert.equal(values(year, "month").filter((m) => m === 12).length, december);
    assert.ok(values(year, "season").every((s) => s === 1));
    // Duplicate timestamps: four turbines, and one turbine's repeated records.
    assert.ok(new Set(dates).size < dates.length / 4);
  });

  test("pyarrow reads the Parquet we write: columns, Arrow types, rows, snappy", async () => {
    for (const trainingMode of [true, false]) {
      const mode = trainingMode ? "training" : "prediction";
      const ours = join(dir, `synthetic-${mode}-ours.parquet`);
      const [info, oracle] = await Promise.all([
        readParquetWithPyarrow(ours),
        readParquetWithPyarrow(join(dir, `synthetic-${mode}-oracle.parquet`)),
      ]);
      assert.deepEqual(info.columns, preparedColumns(trainingMode));
      for (const c of info.columns) {
        assert.equal(info.types[c], (DATE_FEATURES as readonly string[]).includes(c) ? "int32" : "double", c);
      }
      assert.deepEqual(info.types, oracle.types);
      assert.deepEqual(info.dtypes, oracle.dtypes);
      assert.deepEqual(info.shape, [pl.readParquet(ours).height, preparedColumns(trainingMode).length]);
      assert.deepEqual(info.shape, oracle.shape);
      assert.equal(info.nulls, 0);
      assert.deepEqual(info.compression, ["SNAPPY"]);
    }
    // Written atomically: nothing temporary left next to the files.
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith(".tmp")),
      [],
    );
  });
});
