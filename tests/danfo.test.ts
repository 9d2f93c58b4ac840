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
