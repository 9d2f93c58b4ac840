/**
 * Adversarial, class "task logs" (fast lane): a try that floods its log is cut at `[logging] max_bytes_per_try`
 * with a visible mark, windflow's own lines still written; the one log reader (executor/log-reader.ts) never
 * cuts a UTF-8 character, reads a tail from a line start and pages backwards; and one answer to "is this try
 * still writing" for every state, the try that failed and waits for its retry included (issue 12 §7, 13 §7).
 */
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  incompleteTail,
  LogFollower,
  readLogChunk,
  readLogTail,
  type TryLogState,
  tryLogState,
} from "../../src/orchestration/executor/log-reader.js";
import { TaskLog, TRUNCATION_MARK } from "../../src/orchestration/executor/task-log.js";
import type { TaskState } from "../../src/orchestration/state.js";
import type { TaskInstanceRecord } from "../../src/orchestration/store/store.js";
import { tryFinished } from "../../src/server/views.js";

const dir = mkdtempSync(join(tmpdir(), "windflow-adv-logs-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text: string | Buffer = "") => {
  const path = join(dir, `attempt=${++n}.log`);
  writeFileSync(path, text);
  return path;
};
const at = new Date("2026-11-28T12:00:00Z");

describe("adversarial: task logs", () => {
  test("a flood past the cap: one truncation mark, later output dropped and counted, windflow lines kept", () => {
    const path = file();
    const log = new TaskLog(path, () => at, { maxBytes: 4096 });
    for (let i = 0; i < 1000; i++) log.write("stdout", `line ${i} ${"x".repeat(80)}`);
    log.write("windflow", "returned 42: success");
    log.close();
    const text = readFileSync(path, "utf8");
    assert.ok(statSync(path).size < 4096 + 600, `${statSync(path).size} bytes`);
    assert.equal(text.split(TRUNCATION_MARK).length - 1, 1, "one mark");
    assert.match(text, /max_bytes_per_try \(4096 bytes\)/);
    assert.match(text, /\[windflow\] returned 42: success\n/);
    assert.match(text, /\[windflow\] \d+ bytes of output were dropped from this log\n$/);
    assert.ok(text.indexOf("line 0 ") >= 0 && !text.includes("line 999 "));
  });

  test("the cap counts what the file held already (a log reopened by the runner)", () => {
    const path = file("x".repeat(5000));
    const log = new TaskLog(path, () => at, { maxBytes: 4096 });
    log.write("task", "one more");
    log.close();
    assert.match(readFileSync(path, "utf8"), /log truncated/);
  });

  test("no cap (0): everything is kept", () => {
    const path = file();
    const log = new TaskLog(path, () => at, { maxBytes: 0 });
    for (let i = 0; i < 200; i++) log.write("stderr", "y".repeat(100));
    log.close();
    assert.doesNotMatch(readFileSync(path, "utf8"), /truncated/);
  });

  const WORDS = ["é", "°", "€", "𝄞", "日本", "a"];
  for (const word of WORDS)
    test(`chunks never cut "${word}" (every cut position)`, () => {
      const text = `${word}${word} ok ${word}\n`;
      const path = file(text);
      const size = Buffer.byteLength(text);
      for (let max = 1; max <= size; max++) {
        let offset = 0;
        let out = "";
        for (let guard = 0; offset < size && guard < 100; guard++) {
          const c = readLogChunk(path, offset, { maxBytes: Math.max(max, 4) });
          out += c.content;
          offset = c.nextOffset;
        }
        assert.equal(out, text, `max ${max}`);
      }
    });

  test("incompleteTail: whole strings end whole; a character cut after k of its bytes leaves k", () => {
    for (const w of WORDS) assert.equal(incompleteTail(Buffer.from(w)), 0, w);
    for (const ch of ["é", "°", "€", "𝄞", "日"]) {
      const b = Buffer.from(`ab${ch}`);
      for (let k = 1; k < Buffer.byteLength(ch); k++)
        assert.equal(incompleteTail(b.subarray(0, 2 + k)), k, `${ch} cut after ${k}`);
    }
  });

  test("the tail starts at a line; paging backwards from it gives the whole log once", () => {
    const lines = Array.from({ length: 500 }, (_, i) => `${i} ${"é".repeat(i % 7)}\n`);
    const text = lines.join("");
    const path = file(text);
    const tail = readLogTail(path, 1000);
    assert.ok(tail.start > 0);
    assert.ok(text.slice(0).includes(tail.content));
    assert.ok(tail.content.startsWith(lines.find((l) => tail.content.startsWith(l)) ?? "!"), "a whole line");
    assert.equal(tail.nextOffset, Buffer.byteLength(text));
    let start = tail.start;
    let all = tail.content;
    for (let guard = 0; start > 0 && guard < 1000; guard++) {
      const earlier = readLogTail(path, 1000, { end: start });
      assert.ok(earlier.start < start, "progress");
      all = earlier.content + all;
      start = earlier.start;
    }
    assert.equal(all, text);
  });

  test("a tail inside one enormous line starts on a character boundary", () => {
    const path = file(`${"日".repeat(3000)}\n`);
    const tail = readLogTail(path, 1000);
    assert.doesNotMatch(tail.content, /\ufffd/);
    assert.ok(tail.content.length > 300);
  });

  test("missing, empty and offset-past-the-end logs answer without error", () => {
    const missing = join(dir, "nope.log");
    assert.deepEqual(readLogChunk(missing, 0).exists, false);
    assert.equal(readLogTail(missing, 100).exists, false);
    const empty = file("");
    assert.equal(readLogChunk(empty, 0).content, "");
    assert.equal(readLogChunk(empty, 999).nextOffset, 999);
    assert.equal(readLogTail(empty, 100).content, "");
  });

  test("the follower keeps a character split between two appends, and ends with what is left", () => {
    const path = file();
    const f = new LogFollower(path);
    const bytes = Buffer.from("à bientôt 𝄞\n");
    let out = "";
    for (let i = 0; i < bytes.length; i++) {
      appendFileSync(path, bytes.subarray(i, i + 1));
      out += f.read();
    }
    out += f.end();
    assert.equal(out, "à bientôt 𝄞\n");
  });

  // "Is try N still writing?" for each state of its task instance (ti.tryNumber is the last try begun).
  const STATES: readonly [TaskState, number, number, TryLogState][] = [
    ["running", 2, 2, "writing"],
    ["running", 2, 1, "ended"],
    ["queued", 1, 2, "writing"],
    ["queued", 1, 1, "ended"],
    ["up_for_retry", 1, 1, "ended"],
    ["up_for_retry", 1, 2, "waiting"],
    ["scheduled", 1, 1, "ended"],
    ["scheduled", 1, 2, "waiting"],
    ["success", 3, 3, "ended"],
    ["failed", 3, 3, "ended"],
    ["failed", 3, 4, "ended"],
    ["skipped", 0, 1, "ended"],
    ["upstream_failed", 0, 1, "ended"],
    ["none", 0, 1, "waiting"],
    ["none", 0, 5, "waiting"],
  ];
  for (const [state, current, asked, expected] of STATES)
    test(`try ${asked} when the task instance is ${state} at try ${current}: ${expected}`, () => {
      const ti = { state, tryNumber: current } as Pick<TaskInstanceRecord, "state" | "tryNumber">;
      assert.equal(tryLogState(ti, asked), expected);
      // The API (and so the page) says "finished" exactly when the try is not writing.
      assert.equal(tryFinished(ti as TaskInstanceRecord, asked), expected !== "writing");
    });
});
