/**
 * A real `redis-server` for the distributed executor's tests: Debian's (`.ci/run` installs it when missing),
 * started on 127.0.0.1 and a free port with AOF on and `maxmemory-policy noeviction` (as BullMQ's production
 * guide asks), its files in a temporary folder; ready when it answers PING (a deadline, no sleep standing in).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { HANG_GUARD_MS } from "./scheduler-env.js";

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM, then waits for its exit) and removes its folder. */
  stop(): Promise<void>;
  /** Stops the server (its AOF kept), then starts it again on the same port and folder. */
  restart(pauseMs?: number): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Starts a redis-server of its own (see the module comment). */
export async function startRedis(
  settings: { appendonly?: "yes" | "no"; maxmemoryPolicy?: string } = {},
): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "windflow-redis-"));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let server = await serve(port, dir, settings);
  return {
    port,
    url,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart(pauseMs = 0) {
      await server.stop();
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      server = await serve(port, dir, settings);
    },
  };
}

/** One redis-server process on `port` with its files in `dir`, answering PING. */
async function serve(
  port: number,
  dir: string,
  settings: { appendonly?: "yes" | "no"; maxmemoryPolicy?: string },
): Promise<{ stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      settings.appendonly ?? "yes",
      "--maxmemory-policy",
      settings.maxmemoryPolicy ?? "noeviction",
      "--dir",
      dir,
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  let exited = false;
  let failed: Error | undefined;
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  void exit.then(() => {
    exited = true;
  });
  // Not installed (ENOENT): said plainly, with what to do.
  child.once("error", (error) => {
    failed = error;
    exited = true;
  });
  const probe = new Redis(`redis://127.0.0.1:${port}`, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on("error", () => {}); // refused until the server listens: the loop retries
  const deadline = Date.now() + HANG_GUARD_MS;
  try {
    for (;;) {
      if (failed)
        throw new Error(
          `redis-server could not start: ${failed.message} (install Debian's redis-server: apt-get install redis-server; .ci/run does it)`,
        );
      if (exited) throw new Error(`redis-server exited at start (port ${port})`);
      try {
        if (probe.status !== "ready") await probe.connect();
        if ((await probe.ping()) === "PONG") break;
      } catch {
        probe.disconnect();
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    probe.disconnect();
  }
  return {
    async stop() {
      if (!exited) child.kill("SIGTERM");
      // A server that refuses to shut down (an AOF rewrite that fails...) is killed after a grace period.
      const grace = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exit;
      clearTimeout(grace);
    },
  };
}
