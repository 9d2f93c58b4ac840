import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import pl from "nodejs-polars";
import { loadDataset } from "../src/data/load.js";
import { COLUMNS } from "../src/data/schema.js";
import { SchemaError } from "../src/errors.js";
import { HEADER, row, tempDir } from "./helpers/csv.js";

const tmp = tempDir();
after(() => tmp.cleanup());

async function schemaError(text: string): Promise<SchemaError> {
  const file = tmp.file(`case-${Math.random().toString(36).slice(2)}.csv`, text);
  try {
    await loadDataset(file);
  } catch (error) {
    assert.ok(error instanceof SchemaError, `expected a SchemaError, got ${String(error)}`);
    assert.ok(error.message.includes(file), "the message names the file");
    return error;
  }
  assert.fail("the file loaded; expected a SchemaError");
}

describe("loadDataset", () => {
  test("reads the 138 columns with the schema's types and dates parsed to UTC", async () => {
    const file = tmp.file(
      "ok.csv",
      [HEADER, row({}, 1), row({ Date_time: "2017-07-01T12:00:00+02:00" }, 2)].join("\n"),
    );
    const df = await loadDataset(file);
    assert.deepEqual(df.columns, [...COLUMNS]);
    assert.equal(df.height, 2);
    assert.ok(df.getColumn("Ba_avg").dtype.equals(pl.Float64));
    // Entirely empty columns are still Float64, not String (STACK.md gotcha).
    assert.ok(df.getColumn("Pas_avg").dtype.equals(pl.Float64));
    assert.equal(df.getColumn("Pas_avg").nullCount(), 2);
    const dates = df.getColumn("Date_time");
    assert.match(String(dates.dtype), /Datetime.*UTC/);
    // Series.get() throws on tz-aware datetimes in nodejs-polars 0.24.1; toArray() works.
    const [first, second] = dates.toArray() as unknown as Date[];
    assert.equal(first?.toISOString(), "2017-01-01T00:00:00.000Z");
    assert.equal(second?.toISOString(), "2017-07-01T10:00:00.000Z");
  });

  test("accepts Windows line endings, a BOM and blank lines", async () => {
    const text = `\uFEFF${[HEADER, row({}, 1), "", row({}, 2), "", ""].join("\r\n")}`;
    const df = await loadDataset(tmp.file("crlf.csv", text));
    assert.equal(df.height, 2);
    assert.equal(df.getColumn("Na_c_std").get(1), 2.5);
  });

  test("loads only the requested columns", async () => {
    const file = tmp.file("proj.csv", [HEADER, row({}, 1)].join("\n"));
    const df = await loadDataset(file, { columns: ["Date_time", "Ws_avg", "Ba_avg"] });
    assert.deepEqual(df.columns, ["Date_time", "Ws_avg", "Ba_avg"]);
  });

  test("an empty file", async () => {
    const e = await schemaError("");
    assert.match(e.message, /empty/);
    assert.equal(e.where.line, 1);
  });

  test("a wrong separator is named", async () => {
    const e = await schemaError([COLUMNS.join(","), row().replaceAll(";", ",")].join("\n"));
    assert.match(e.message, /wrong separator.*","/);
  });

  test("missing and unknown columns are named", async () => {
    const missing = await schemaError(COLUMNS.filter((c) => c !== "Ws_avg").join(";"));
    assert.match(missing.message, /missing column Ws_avg/);
    const unknown = await schemaError(`${HEADER};Extra_col\n`);
    assert.match(unknown.message, /unknown column Extra_col/);
  });

  test("a non-numeric value names its line and column", async () => {
    const e = await schemaError([HEADER, row({}, 1), "", row({ P_avg: "12,5" }, 2)].join("\n"));
    assert.equal(e.where.line, 4, "blank lines count in line numbers");
    assert.equal(e.where.column, "P_avg");
    assert.match(e.message, /"12,5" is not a number/);
  });

  test("a bad date names its line", async () => {
    const e = await schemaError([HEADER, row({}, 1), row({ Date_time: "2017-13-45 25:00" }, 2)].join("\n"));
    assert.equal(e.where.line, 3);
    assert.equal(e.where.column, "Date_time");
    assert.match(e.message, /bad date/);
  });

  test("a row with values but no date names its line", async () => {
    const e = await schemaError([HEADER, row({}, 1), row({}, 2), row({ Date_time: "" }, 3)].join("\n"));
    assert.equal(e.where.line, 4);
    assert.equal(e.where.column, "Date_time");
  });

  test("a line with extra fields names its line", async () => {
    const e = await schemaError([HEADER, row({}, 1), `${row({}, 2)};7;8`].join("\n"));
    assert.equal(e.where.line, 3);
    assert.match(e.message, /expected 138 fields.*found 140/);
  });

  test("a file cut in the middle of its last line names that line (not nulls, then zeros, in the features)", async () => {
    const whole = row({}, 3);
    const cut = whole.slice(0, whole.lastIndexOf(";", whole.length / 2));
    for (const ending of ["", "\n", "\r\n\n"]) {
      const e = await schemaError([HEADER, row({}, 1), row({}, 2), cut].join("\n") + ending);
      assert.equal(e.where.line, 4, JSON.stringify(ending));
      assert.match(e.message, /expected 138 fields separated by ";", found \d+/);
      assert.match(e.hint ?? "", /cut/);
    }
    // A whole file, its last line ended or not, loads.
    const ok = tmp.file("whole.csv", [HEADER, row({}, 1), row({}, 2)].join("\n"));
    assert.equal((await loadDataset(ok)).height, 2);
  });

  test("a missing file says how to get it", async () => {
    await assert.rejects(loadDataset(`${tmp.dir}/nope.csv`), (e: Error & { hint?: string }) => {
      assert.match(e.message, /no such file/);
      assert.match(e.hint ?? "", /make dataset/);
      return true;
    });
  });
});
