import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { engieUrl } from "../src/data/engie.js";
import { generateData } from "../src/data/generate.js";
import { loadDataset } from "../src/data/load.js";
import { COLUMNS } from "../src/data/schema.js";
import { synthesizeDataset } from "../src/data/synthetic.js";
import { SchemaError } from "../src/errors.js";
import { HEADER, row, tempDir } from "./helpers/csv.js";

const tmp = tempDir();
const dataPath = join(tmp.dir, "data.csv");
const now = new Date("2026-11-25T17:30:05Z"); // 18:30:05 in Paris (UTC+1 in November)
let server: Server;
let base: string;
let answer: { status: number; body: string } = { status: 200, body: "" };

before(async () => {
  await synthesizeDataset(dataPath, { seed: 3, days: 1 });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    res.setHeader("x-query", url.search);
    res.writeHead(answer.status, { "content-type": "text/csv" });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  tmp.cleanup();
});

describe("data generator (get_data_from_engie_hub)", () => {
  test("writes one sampled row twice, dated now and now + 60 s, to a dated file and latest.csv", async () => {
    const folder = join(tmp.dir, "generated_data");
    const result = await generateData(dataPath, folder, { now });
    assert.equal(result.path, join(folder, "20261125-173005.csv"));
    assert.equal(result.rows, 2);
    const text = readFileSync(result.path, "utf8");
    assert.equal(text, readFileSync(join(folder, "latest.csv"), "utf8"));
    const [header, first, second] = text.trim().split("\n");
    assert.equal(header, COLUMNS.join(";"));
    const a = (first as string).split(";");
    const b = (second as string).split(";");
    assert.equal(a[1], "2026-11-25T18:30:05+01:00");
    assert.equal(b[1], "2026-11-25T18:31:05+01:00");
    assert.deepEqual(a.slice(2), b.slice(2), "the same measurements on both rows");
    assert.deepEqual(a.slice(0, 1), b.slice(0, 1));
    // The file reads back through the schema loader (what the predict DAG does).
    const df = await loadDataset(result.path);
    assert.equal(df.height, 2);
    // The row comes from the data file.
    const data = await loadDataset(dataPath);
    const ws = Number(a[COLUMNS.indexOf("Ws_avg")]);
    assert.ok((data.getColumn("Ws_avg").toArray() as number[]).some((v) => Math.abs(v - ws) < 1e-9));
  });

  test("a fixed seed samples the same row every run, another seed another row; same-second runs do not overwrite", async () => {
    const folder = join(tmp.dir, "seeded");
    const r1 = await generateData(dataPath, folder, { now, seed: 1 });
    const r2 = await generateData(dataPath, folder, { now, seed: 1 });
    const r3 = await generateData(dataPath, folder, { now, seed: 2 });
    assert.deepEqual(readdirSync(folder).sort(), [
      "20261125-173005.csv",
      "20261125-173005_2.csv",
      "20261125-173005_3.csv",
      "latest.csv",
    ]);
    const body = (p: string) => readFileSync(p, "utf8");
    assert.equal(body(r1.path), body(r2.path));
    assert.notEqual(body(r1.path), body(r3.path));
  });

  test("a missing data file says to run make dataset", async () => {
    await assert.rejects(
      generateData(join(tmp.dir, "none.csv"), join(tmp.dir, "g2"), { now }),
      (e: Error & { hint?: string }) => {
        assert.match(e.message, /none\.csv: no such file/);
        assert.match(e.hint ?? "", /make dataset/);
        return true;
      },
    );
  });

  test("with the ENGIE option, rows come from the records API (lower-case fields)", async () => {
    const lines = [HEADER.toLowerCase(), row({}, 1), row({ Wind_turbine_name: "R80711" }, 2)];
    answer = { status: 200, body: lines.join("\n") };
    const folder = join(tmp.dir, "engie");
    const query = {
      baseUrl: base,
      turbine: "R80711",
      from: "2017-01-01T00:00:00+01:00",
      to: "2017-01-01T02:00:00+01:00",
    };
    const result = await generateData(dataPath, folder, { now, engie: query });
    assert.equal(result.rows, 2);
    const df = await loadDataset(result.path);
    assert.deepEqual(df.columns, [...COLUMNS]);
    const url = new URL(engieUrl(query));
    assert.equal(url.pathname, "/api/records/1.0/download/");
    assert.equal(url.searchParams.get("dataset"), "la-haute-borne-data-2017-2020");
    assert.equal(url.searchParams.get("refine.wind_turbine_name"), "R80711");
    assert.equal(
      url.searchParams.get("q"),
      "date_time >= 2017-01-01T00:00:00+01:00 AND date_time <= 2017-01-01T02:00:00+01:00",
    );
  });

  test("ENGIE errors are clear: HTTP status, missing columns", async () => {
    const query = { baseUrl: base, turbine: "R80711", from: "a", to: "b" };
    answer = { status: 503, body: "down" };
    await assert.rejects(generateData(dataPath, join(tmp.dir, "e1"), { now, engie: query }), /HTTP 503/);
    answer = { status: 200, body: "wind_turbine_name;date_time\nR80711;2017-01-01T00:00:00+01:00\n" };
    await assert.rejects(generateData(dataPath, join(tmp.dir, "e2"), { now, engie: query }), (e) => {
      assert.ok(e instanceof SchemaError);
      assert.match(e.message, /lacks 136 column\(s\): Ba_avg/);
      return true;
    });
  });
});
