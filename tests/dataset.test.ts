import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { datasetPath, makeDataset, provenancePath, readProvenance } from "../src/data/dataset.js";
import { loadDataset } from "../src/data/load.js";
import { HEADER, row, tempDir } from "./helpers/csv.js";

const body = Buffer.from([HEADER, row({}, 1), row({}, 2)].join("\n"));
const sha = createHash("sha256").update(body).digest("hex");
const tmp = tempDir();
let server: Server;
let base: string;
let closedPort: number;

before(async () => {
  server = createServer((req, res) => {
    if (req.url === "/data.csv") {
      res.writeHead(200, { "content-length": body.length });
      res.end(body);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  closedPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
});
after(() => {
  server.close();
  tmp.cleanup();
});

const small = { days: 1, duplicateDay: false } as const;

describe("make dataset", () => {
  test("downloads the file, verifies it and records where it came from", async () => {
    const dataDir = join(tmp.dir, "dl");
    const logs: string[] = [];
    const result = await makeDataset({
      dataDir,
      url: `${base}/data.csv`,
      size: body.length,
      sha256: sha,
      log: (l) => logs.push(l),
    });
    assert.equal(result.source, "download");
    assert.deepEqual(readFileSync(datasetPath(dataDir)), body);
    assert.equal(readProvenance(datasetPath(dataDir))?.sha256, sha);
    assert.ok(logs.some((l) => l.includes("verified")));
    const again = await makeDataset({ dataDir, url: `${base}/data.csv`, size: body.length, sha256: sha });
    assert.equal(again.reused, true, "a second run reuses the verified file");
  });

  test("without network, auto synthesizes and says so clearly", async () => {
    const dataDir = join(tmp.dir, "offline");
    const logs: string[] = [];
    const result = await makeDataset({
      dataDir,
      url: `http://127.0.0.1:${closedPort}/data.csv`,
      log: (l) => logs.push(l),
      synthetic: small,
    });
    assert.equal(result.source, "synthetic");
    assert.match(result.fallbackReason ?? "", /cannot connect/);
    assert.ok(
      logs.some((l) => /SYNTHESIZING.*not the real data/.test(l)),
      logs.join("\n"),
    );
    const df = await loadDataset(result.path);
    assert.equal(df.height, result.rows);
    assert.equal(readProvenance(result.path)?.seed, 42);
  });

  test("DATASET=download without network fails and writes nothing", async () => {
    const dataDir = join(tmp.dir, "strict");
    await assert.rejects(
      makeDataset({ dataDir, source: "download", url: `http://127.0.0.1:${closedPort}/x.csv` }),
      /cannot connect/,
    );
    assert.equal(existsSync(datasetPath(dataDir)), false);
  });

  test("a corrupt download is not replaced by synthetic data", async () => {
    const dataDir = join(tmp.dir, "corrupt");
    await assert.rejects(
      makeDataset({
        dataDir,
        url: `${base}/data.csv`,
        size: body.length,
        sha256: "f".repeat(64),
        synthetic: small,
      }),
      /sha256 mismatch/,
    );
    assert.equal(existsSync(datasetPath(dataDir)), false);
  });

  test("an existing file is kept unless --force; another seed needs --force", async () => {
    const dataDir = join(tmp.dir, "synth");
    const first = await makeDataset({ dataDir, source: "synthetic", seed: 7, synthetic: small });
    const mtime = statSync(first.path).mtimeMs;
    const reused = await makeDataset({ dataDir, source: "synthetic", seed: 7, synthetic: small });
    assert.equal(reused.reused, true);
    assert.equal(statSync(first.path).mtimeMs, mtime);
    await assert.rejects(
      makeDataset({ dataDir, source: "synthetic", seed: 8, synthetic: small }),
      (e: Error & { hint?: string }) => {
        assert.match(e.message, /already there \(synthetic, seed 7/);
        assert.match(e.hint ?? "", /--force/);
        return true;
      },
    );
    const forced = await makeDataset({
      dataDir,
      source: "synthetic",
      seed: 8,
      force: true,
      synthetic: small,
    });
    assert.equal(forced.reused, false);
    assert.equal(JSON.parse(readFileSync(provenancePath(forced.path), "utf8")).seed, 8);
  });

  test("an unknown source is refused", async () => {
    await assert.rejects(
      makeDataset({ dataDir: tmp.dir, source: "s3" as never }),
      /unknown dataset source "s3"/,
    );
  });
});
