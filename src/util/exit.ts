/**
 * `process.exit` once what was written to stdout and stderr has left the process. Node writes to a pipe
 * asynchronously: `process.exit` right after a large write drops what the pipe (64 KiB) could not take yet,
 * so a reader (Airflow's operator, `windflow worker`) got a return value cut in the middle. A write of nothing
 * with a callback is called back after every earlier write of the stream has been handed to the system.
 * Bounded: a reader that never reads does not keep the process alive (10 s, then exit anyway).
 */
export async function exitWhenFlushed(code: number, boundMs = 10_000): Promise<never> {
  await settleFileWrites();
  process.exitCode = code; // should the loop empty before a callback, Node still exits with this code
  const flushed = (stream: NodeJS.WriteStream) =>
    new Promise<void>((resolve) => {
      if (stream.destroyed || !stream.writable) return resolve();
      try {
        stream.write("", () => resolve());
      } catch {
        resolve();
      }
    });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all([flushed(process.stdout), flushed(process.stderr)]),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, boundMs);
      timer.unref();
    }),
  ]);
  if (timer) clearTimeout(timer);
  process.exit(code);
}

/**
 * Waits, `boundMs` at most, until no file system request of this process is in flight: `process.exit` drops
 * writes still under way, such as tsx's transform cache, which it writes without waiting (a task process
 * that exited at once left no cache entry, and every next one compiled its DAG file again). Bounded because
 * a long scan may be running too (tsx's cache expiry), and what a stopped task left behind must not hold the
 * exit up: a small file's write takes a few milliseconds. Returns at once when nothing is in flight.
 * `WINDFLOW_SETTLE_WRITES_MS` changes the bound (tests/dag-compile-cache.test.ts sets it high: a process of a
 * loaded machine may wait longer than 100 ms for its turn, and that test must not depend on it).
 */
export async function settleFileWrites(
  boundMs = Number(process.env.WINDFLOW_SETTLE_WRITES_MS) || 100,
): Promise<void> {
  const pending = () => process.getActiveResourcesInfo().some((r) => r.startsWith("FSReq"));
  const deadline = performance.now() + boundMs;
  while (pending() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 2));
}
