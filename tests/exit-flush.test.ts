/**
 * `exitWhenFlushed` (src/util/exit.ts): a process that writes more than its stdout holds (64 KiB for a pipe
 * as Airflow opens it, a few hundred kB for the socket pair Node gives a child) and exits loses the rest with
 * a plain `process.exit`; this waits until the reader took it. What an external try's return value needs
 * (Airflow's operator read a 100 kB value cut in the middle). The child says "exiting" on stderr in the same
 * tick as its exit call, so when the test starts reading stdout the exit has been asked.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
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
