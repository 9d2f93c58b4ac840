import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { download } from "../src/data/download.js";
import { DownloadError } from "../src/errors.js";
import { tempDir } from "./helpers/csv.js";

const body = Buffer.from("Wind_turbine_name;Date_time\n".repeat(5000)); // ~140 KB, several chunks
const sha = createHash("sha256").update(body).digest("hex");
const tmp = tempDir();
let server: Server;
let base: string;

before(async () => {
  server = createServer((req, res) => {
    switch (req.url) {
      case "/file.csv":
        res.writeHead(200, { "content-length": body.length });
        res.end(body);
        return;
      case "/redirect":
        res.writeHead(302, { location: "/file.csv" });
        res.end();
        return;
      case "/cut": // announces the whole size, sends a third, then drops the connection
        res.writeHead(200, { "content-length": body.length });
        res.write(body.subarray(0, Math.floor(body.length / 3)), () => res.socket?.destroy());
        return;
      case "/stall":
        res.writeHead(200, { "content-length": body.length });
        res.write(body.subarray(0, 100));
        return; // never ends
      default:
        res.writeHead(404);
        res.end("not found");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
  tmp.cleanup();
});

/** Nothing at the destination and no temporary file left in its folder. */
function assertNothingWritten(dest: string) {
  assert.equal(existsSync(dest), false, "destination must not exist");
  assert.deepEqual(
    readdirSync(tmp.dir).filter((f) => f.endsWith(".tmp")),
    [],
    "no temporary file left behind",
  );
}

describe("download", () => {
  test("downloads, verifies size and sha256, reports progress", async () => {
    const dest = join(tmp.dir, "ok.csv");
    const seen: number[] = [];
    const result = await download({
      url: `${base}/file.csv`,
      dest,
      size: body.length,
      sha256: sha,
      onProgress: (received, total) => {
        assert.equal(total, body.length);
        seen.push(received);
      },
    });
    assert.equal(result.bytes, body.length);
    assert.equal(result.sha256, sha);
    assert.deepEqual(readFileSync(dest), body);
    assert.ok(seen.length >= 1 && seen.at(-1) === body.length, "progress reaches the total");
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => a - b),
      "progress only grows",
    );
  });

  test("follows redirects", async () => {
    const dest = join(tmp.dir, "redirected.csv");
    const result = await download({ url: `${base}/redirect`, dest, sha256: sha });
    assert.equal(result.finalUrl, `${base}/file.csv`);
    assert.deepEqual(readFileSync(dest), body);
  });

  test("a wrong checksum leaves nothing and says so", async () => {
    const dest = join(tmp.dir, "bad-sha.csv");
    await assert.rejects(
      download({ url: `${base}/file.csv`, dest, sha256: "0".repeat(64) }),
      (e: DownloadError) => {
        assert.ok(e instanceof DownloadError);
        assert.match(e.message, /sha256 mismatch: got [0-9a-f]{64}, expected 0{64}/);
        return true;
      },
    );
    assertNothingWritten(dest);
  });

  test("a wrong announced size is refused before downloading", async () => {
    const dest = join(tmp.dir, "bad-size.csv");
    await assert.rejects(
      download({ url: `${base}/file.csv`, dest, size: 10 }),
      /announces \d+ bytes, expected 10/,
    );
    assertNothingWritten(dest);
  });

  test("a connection cut mid-way leaves nothing and says how far it got", async () => {
    const dest = join(tmp.dir, "cut.csv");
    await assert.rejects(download({ url: `${base}/cut`, dest, size: body.length }), (e: DownloadError) => {
      assert.ok(e instanceof DownloadError);
      assert.match(e.message, new RegExp(`(interrupted after|closed after) \\d+ of ${body.length} bytes`));
      return true;
    });
    assertNothingWritten(dest);
  });

  test("a stalled connection times out", async () => {
    const dest = join(tmp.dir, "stall.csv");
    await assert.rejects(download({ url: `${base}/stall`, dest, idleTimeoutMs: 300 }), /no data for 300 ms/);
    assertNothingWritten(dest);
  });

  test("an HTTP error is reported with its status", async () => {
    const dest = join(tmp.dir, "missing.csv");
    await assert.rejects(download({ url: `${base}/nope`, dest }), /HTTP 404/);
    assertNothingWritten(dest);
  });

  test("an unreachable host suggests the offline dataset", async () => {
    const dest = join(tmp.dir, "offline.csv");
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve)); // nobody listens there any more
    await assert.rejects(download({ url: `http://127.0.0.1:${port}/x.csv`, dest }), (e: DownloadError) => {
      assert.match(e.message, /cannot connect \(ECONNREFUSED\)/);
      assert.match(e.hint ?? "", /DATASET=synthetic/);
      return true;
    });
    assertNothingWritten(dest);
  });
});
