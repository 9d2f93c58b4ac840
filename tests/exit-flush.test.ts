/**
 * `exitWhenFlushed` (src/util/exit.ts): a process that writes more than its stdout holds (64 KiB for a pipe
 * as Airflow opens it, a few hundred kB for the socket pair Node gives a child) and exits loses the rest with
 * a plain `process.exit`; this waits until the reader took it. What an external try's return value needs
 * (Airflow's operator read a 100 kB value cut in the middle). The child says "exiting" on stderr in the same
 * tick as its exit call, so when the test starts reading stdout the exit has been asked.
 * `settleFileWrites` (the same module): file writes under way when a process exits on purpose land first
 * (tsx's transform cache: tests/dag-compile-cache.test.ts).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const EXIT = join(__dirname, "..", "dist", "util", "exit.js");

async function bytesRead(exitCall: string): Promise<{ bytes: number; code: number | null }> {
  const script = `
    process.stdout.write("x".repeat(4000000) + "\\n");
    process.stderr.write("exiting\\n");
    ${exitCall};
  `;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pause();
  let err = "";
  await new Promise<void>((resolve) => {
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes("exiting")) resolve();
    });
  });
  let bytes = 0;
  child.stdout.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
  });
  child.stdout.resume();
  const [code] = (await once(child, "close")) as [number | null];
  return { bytes, code };
}

test("exitWhenFlushed: every byte written reaches a slow reader; a plain process.exit loses what the pipe could not hold", async () => {
  const flushed = await bytesRead(`require(${JSON.stringify(EXIT)}).exitWhenFlushed(3)`);
  assert.deepEqual(flushed, { bytes: 4_000_001, code: 3 });
  const plain = await bytesRead("process.exit(3)");
  assert.equal(plain.code, 3);
  assert.ok(
    plain.bytes < 4_000_001,
    `a plain exit lost nothing (${plain.bytes} bytes): the test shows no loss`,
  );
});

test("settleFileWrites: a file write under way when the process exits lands whole; a plain process.exit drops it", () => {
  const dir = mkdtempSync(join(tmpdir(), "windflow-settle-"));
  try {
    const write = (file: string, exitCall: string) => {
      const script = `
        require("node:fs").promises.writeFile(${JSON.stringify(file)}, "y".repeat(8000000));
        ${exitCall};
      `;
      const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      return existsSync(file) ? statSync(file).size : -1;
    };
    const settled = join(dir, "settled.txt");
    assert.equal(
      write(settled, `require(${JSON.stringify(EXIT)}).settleFileWrites(30000).then(() => process.exit(0))`),
      8_000_000,
    );
    // The control: the write's first step needs the main thread again, which a plain exit never gives it.
    assert.ok(write(join(dir, "plain.txt"), "process.exit(0)") < 8_000_000, "a plain exit lost nothing");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
