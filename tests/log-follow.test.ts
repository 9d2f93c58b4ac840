/**
 * `tasks logs --follow` (followFile): what a try appends to its log is printed as it comes, and a character
 * whose UTF-8 bytes are split between two reads (the writer flushed mid-character) is printed whole, never as
 * U+FFFD replacement characters.
 */
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { followFile } from "../src/orchestration/scheduler/views.js";

const dir = mkdtempSync(join(tmpdir(), "windflow-follow-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("followFile (tasks logs --follow)", () => {
  test("a multi-byte character split across two reads is printed whole; the rest once the try ends", async () => {
    const path = join(dir, "attempt=1.log");
    const line = Buffer.from("époque 3/40 : RMSE 0,482 °\n", "utf8");
    // Cut inside the two bytes of "é" (0xC3 0xA9), and inside "°" (0xC2 0xB0).
    const cutE = 1;
    const cutDegree = line.indexOf(Buffer.from("°", "utf8")) + 1;
    writeFileSync(path, line.subarray(0, cutE));
    const parts = [line.subarray(cutE, cutDegree), line.subarray(cutDegree)];
    let reads = 0;
    const printed: string[] = [];
    await followFile(
      path,
      (text) => printed.push(text),
      () => {
        // The writer appends its next piece between two reads of the follower.
        const next = parts[reads++];
        if (next) appendFileSync(path, next);
        return reads <= parts.length;
      },
      { intervalMs: 1 },
    );
    assert.equal(printed.join(""), line.toString("utf8"));
    assert.ok(!printed.join("").includes("\ufffd"), "no replacement character");
    assert.ok(printed.length >= 2, `printed as it came (${printed.length} pieces)`);
  });

  test("bytes that never complete a character are printed once the try has ended, not lost", async () => {
    const path = join(dir, "attempt=2.log");
    writeFileSync(path, Buffer.from([0x6f, 0x6b, 0x20, 0xe2, 0x82]));
    const printed: string[] = [];
    await followFile(
      path,
      (text) => printed.push(text),
      () => false,
    );
    assert.equal(printed.join(""), "ok \ufffd");
  });
});
