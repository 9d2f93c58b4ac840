/**
 * `windflow` commands in processes of their own, from the sources, their output kept: the BullMQ tests' workers
 * (tests/bullmq.test.ts, tests/bullmq-ml.test.ts) and schedulers.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT, type SchedulerEnv, until } from "./scheduler-env.js";

export interface Spawned {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
  exited: () => boolean;
}

/** `windflow ARGS...` in a process of its own (tracked by the home, ended with it), its output kept. */
export function spawnCli(e: SchedulerEnv, args: readonly string[], env = e.env): Spawned {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  e.track(child);
  let text = "";
  child.stdout?.on("data", (b: Buffer) => {
    text += b.toString();
  });
  child.stderr?.on("data", (b: Buffer) => {
    text += b.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let exited = false;
  void exit.then(() => {
    exited = true;
  });
  return { child, output: () => text, exit, exited: () => exited };
}

/** `windflow worker` in a process of its own (its home `home` if given); resolves once it said it is ready. */
export async function spawnWorker(e: SchedulerEnv, name: string, home?: string): Promise<Spawned> {
  const w = spawnCli(e, ["worker"], home === undefined ? undefined : { ...e.env, WINDFLOW_HOME: home });
  await until(`worker ${name} ready`, () => {
    assert.ok(!w.exited(), `worker ${name} exited at start:\n${w.output()}`);
    return w.output().includes("windflow worker on") ? true : undefined;
  });
  return w;
}
