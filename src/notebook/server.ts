/**
 * Starting and stopping a real Jupyter server from the project's `.venv`, for headless notebook runs and
 * for `jupyter lab` sessions.
 *
 * Always pair `startJupyterServer` with `stop()` in a `finally` (or use `withJupyterServer`, which does it):
 *
 *   const server = await startJupyterServer({ root });
 *   try {
 *     await runNotebook(path, { serverUrl: server.url, token: server.token, serverRootDir: server.rootDir });
 *   } finally {
 *     await server.stop();
 *   }
 *
 * Why `stop()` does more than kill one pid: the server runs in its own process group (so a signal reaches
 * it and its helpers at once), but jupyter_client starts every kernel in a *new session*, outside that group,
 * and tslab does not notice when its server dies: a SIGKILLed server leaves its tslab kernels running forever
 * (measured). So `stop()` first asks politely (SIGTERM: the server shuts its kernels down itself), then
 * kills whatever is left of the whole process tree, kernels included. Safety nets cover a caller that never
 * reaches its `finally`: an `exit` hook in this process (normal exit, `process.exit`, uncaught exception), a
 * SIGINT/SIGTERM/SIGHUP hook (Ctrl-C during `make test`), and, for the headless `server` app, Jupyter's own
 * idle shutdown (a kernel whose client is gone is culled, then the idle server exits) for a runner killed
 * by SIGKILL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { WindflowError } from "../errors.js";
import { withDeadline } from "../util/deadline.js";
import { findProjectRoot, jupyterEnv, jupyterPaths, writeKernelspec } from "./jupyter-env.js";

export interface StartJupyterServerOptions {
  /** The windflow project root; defaults to the one this module belongs to. */
  root?: string;
  /** `server` (headless, the default) or `lab` (the same server plus the JupyterLab UI). */
  app?: "server" | "lab";
  /** TCP port on 127.0.0.1; default: a free port chosen by the OS (no race with other servers). */
  port?: number;
  /** The token clients must send; default: 24 random bytes. */
  token?: string;
  /** The server's root folder (notebook paths are relative to it); default: the project root. */
  notebookDir?: string;
  /** How long to wait for `/api/status` to answer (a hang guard); default 180 s. */
  readyTimeoutMs?: number;
  /**
   * Seconds after which a kernel with no client is culled and then an idle server exits on its own. It only
   * matters when this process died without calling `stop()`. Default 600 for `server`, 0 (off) for `lab`,
   * where a trainee may leave the browser tab closed for a while.
   */
  idleShutdownSeconds?: number;
  /** Extra command-line arguments for `jupyter server|lab`. */
  extraArgs?: readonly string[];
}

export interface JupyterServer {
  /** Base URL with a trailing slash, e.g. `http://127.0.0.1:41234/`. */
  readonly url: string;
  readonly token: string;
  readonly port: number;
  readonly pid: number;
  readonly app: "server" | "lab";
  /** The server's root folder, absolute: session and contents paths are relative to it. */
  readonly rootDir: string;
  /** The last lines the server printed (stdout and stderr), for error messages. */
  logTail(lines?: number): string;
  /** Stops the server and every process it started (kernels included) and waits for them. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a server, runs `fn`, and stops the server even when `fn` throws. */
export async function withJupyterServer<T>(
  options: StartJupyterServerOptions,
  fn: (server: JupyterServer) => Promise<T>,
): Promise<T> {
  const server = await startJupyterServer(options);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/** Launches `<root>/.venv/bin/jupyter server|lab` on 127.0.0.1 and resolves once it answers with the token. */
export async function startJupyterServer(options: StartJupyterServerOptions = {}): Promise<JupyterServer> {
  const root = resolve(options.root ?? findProjectRoot());
  const app = options.app ?? "server";
  const paths = jupyterPaths(root);
  if (!existsSync(paths.jupyterBin)) {
    throw new WindflowError(`Jupyter is not installed in this project: ${paths.jupyterBin} is missing`, {
      hint: "Run `make install` in the project folder (it creates .venv from requirements/jupyter.txt).",
    });
  }
  writeKernelspec(root);
  for (const dir of [paths.dataDir, paths.configDir, paths.runtimeDir]) mkdirSync(dir, { recursive: true });

  const token = options.token ?? randomBytes(24).toString("hex");
  const rootDir = resolve(options.notebookDir ?? root);
  const idle = options.idleShutdownSeconds ?? (app === "server" ? 600 : 0);
  const args = [
    app,
    "--ip=127.0.0.1",
    `--port=${options.port ?? 0}`,
    // With an explicit port, fail instead of silently moving to another one.
    "--ServerApp.port_retries=0",
    "--no-browser",
    `--ServerApp.root_dir=${rootDir}`,
    ...(process.getuid?.() === 0 ? ["--allow-root"] : []),
    ...(idle > 0
      ? [
          `--MappingKernelManager.cull_idle_timeout=${idle}`,
          `--MappingKernelManager.cull_interval=${Math.min(60, idle)}`,
          `--ServerApp.shutdown_no_activity_timeout=${idle}`,
        ]
      : []),
    ...(options.extraArgs ?? []),
  ];
  // The token goes through the environment, not argv, so `ps` does not show it.
  const env = { ...jupyterEnv(root), JUPYTER_TOKEN: token };
  const child = spawn(paths.jupyterBin, args, {
    cwd: rootDir,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const managed = new ManagedProcess(child);
  if (managed.pid === undefined) {
    const error = await managed.spawnError;
    throw new WindflowError(`could not start ${paths.jupyterBin}: ${String(error)}`, {
      hint: "Run `make install` to recreate the project's .venv.",
      cause: error,
    });
  }
  const pid = managed.pid;
  // A server killed earlier with the same pid may have left its info file behind: never read a stale one.
  const infoFile = join(paths.runtimeDir, `jpserver-${pid}.json`);
  rmSync(infoFile, { force: true });

  // A hang guard, not a budget: Python starting JupyterLab without cached bytecode on a loaded 2-core machine
  // takes tens of seconds.
  const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
  const fail = async (detail: string, hint: string): Promise<never> => {
    await managed.stop();
    const tail = managed.logTail(25);
    throw new WindflowError(
      `jupyter ${app} ${detail}${tail ? `; its last output:\n${indent(tail)}` : " (it printed nothing)"}`,
      { hint },
    );
  };
  const deadline = Date.now() + readyTimeoutMs;
  let port = options.port;
  for (;;) {
    if (managed.exitCode !== undefined) {
      return fail(
        `exited with ${managed.exitCode} before it was ready`,
        "Read the server output above; `make install` repairs a broken .venv.",
      );
    }
    if (Date.now() > deadline) {
      return fail(
        `did not answer on /api/status within ${readyTimeoutMs} ms`,
        "Pass a larger readyTimeoutMs on a slow machine, or read the server output above.",
      );
    }
    port ??= readPort(infoFile);
    if (port !== undefined && (await answers(`http://127.0.0.1:${port}/api/status`, token))) break;
    await sleep(100);
  }
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    token,
    port,
    pid,
    app,
    rootDir,
    logTail: (lines) => managed.logTail(lines),
    stop: () => managed.stop(),
  };
}

/** The port from `jpserver-<pid>.json`, which the server writes once it listens; undefined until then. */
function readPort(infoFile: string): number | undefined {
  try {
    const info: unknown = JSON.parse(readFileSync(infoFile, "utf8"));
    if (typeof info === "object" && info !== null && "port" in info && typeof info.port === "number") {
      return info.port;
    }
  } catch {
    // Not written yet, or half-written: try again on the next poll.
  }
  return undefined;
}

async function answers(url: string, token: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      headers: { Authorization: `token ${token}` },
      signal: AbortSignal.timeout(2_000),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}

/**
 * A detached child process (own process group) with its output drained into a bounded buffer (an undrained
 * pipe would block the server once 64 KB of log piled up), and the tree-wide stop described at the top.
 */
class ManagedProcess {
  readonly pid: number | undefined;
  exitCode: number | string | undefined;
  readonly spawnError: Promise<Error>;
  private readonly exited: Promise<void>;
  private readonly log: string[] = [];
  private partial = "";
  private stopping: Promise<void> | undefined;

  constructor(child: ChildProcess) {
    this.pid = child.pid;
    this.spawnError = new Promise((resolveError) => child.once("error", resolveError));
    this.exited = new Promise((resolveExit) => {
      child.once("exit", (code, signal) => {
        this.exitCode = code ?? signal ?? "unknown";
        untrack(this);
        resolveExit();
      });
      child.once("error", () => {
        this.exitCode ??= "spawn error";
        resolveExit();
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => this.append(chunk));
    }
    if (this.pid !== undefined) track(this);
  }

  logTail(lines = 40): string {
    const all = this.partial ? [...this.log, this.partial] : this.log;
    return all.slice(-lines).join("\n");
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopTree();
    return this.stopping;
  }

  private async stopTree(): Promise<void> {
    if (this.pid === undefined) return;
    // Taken before the server goes away: afterwards, orphaned kernels are re-parented and unfindable.
    const tree = descendants(this.pid);
    if (this.exitCode === undefined) {
      this.signalGroup("SIGTERM");
      // The server's own shutdown stops tslab kernels in well under a second; 10 s covers a busy kernel
      // that ignores shutdown_request (jupyter_client waits 5 s before killing it).
      if (!(await settlesWithin(this.exited, 10_000))) {
        this.signalGroup("SIGKILL");
        await settlesWithin(this.exited, 5_000);
      }
    }
    for (const proc of tree) {
      if (isSameProcess(proc)) signalPid(proc.pid, "SIGKILL");
    }
    untrack(this);
  }

  /**
   * For a process that is about to end and cannot wait: ask the server to shut down (it stops its kernels
   * itself) and terminate the kernels directly in case the server is too slow to do it.
   */
  terminateNow(): void {
    const tree = this.pid === undefined ? [] : descendants(this.pid);
    this.signalGroup("SIGTERM");
    for (const proc of tree) signalPid(proc.pid, "SIGTERM");
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.pid === undefined || this.exitCode !== undefined) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      signalPid(this.pid, signal);
    }
  }

  private append(chunk: string): void {
    const parts = (this.partial + chunk).split("\n");
    this.partial = parts.pop() ?? "";
    this.log.push(...parts);
    if (this.log.length > 400) this.log.splice(0, this.log.length - 200);
  }
}

/**
 * The safety nets for callers that never reach `stop()`. `exit` covers a normal end, `process.exit()` and an
 * uncaught exception. Signals need their own hook: the server is detached, so a Ctrl-C in the terminal does
 * not reach it, and Node's default SIGINT/SIGTERM action ends this process without running `exit` hooks.
 * The signal hook only acts when it is the sole listener (a CLI with its own handler stops its server
 * itself) and then re-raises the signal, so the process still ends the way it would have.
 */
const live = new Set<ManagedProcess>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function terminateAll(): void {
  for (const proc of live) proc.terminateNow();
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  terminateAll();
  live.clear();
  unhook();
  process.kill(process.pid, signal);
}

function track(proc: ManagedProcess): void {
  if (live.size === 0) {
    process.on("exit", terminateAll);
    for (const signal of SIGNALS) process.on(signal, onSignal);
  }
  live.add(proc);
}

function untrack(proc: ManagedProcess): void {
  if (live.delete(proc) && live.size === 0) unhook();
}

function unhook(): void {
  process.off("exit", terminateAll);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return (await withDeadline(promise, ms)) !== "timeout";
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

interface ProcInfo {
  readonly pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat): guards against pid reuse. */
  readonly start: string;
}

/** Parses `/proc/<pid>/stat`; the command name may contain spaces and parentheses, so split after the last `)`. */
function readStat(pid: number): { ppid: number; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state): ppid is field 4, starttime field 22.
    const ppid = Number(fields[1]);
    const start = fields[19];
    return start === undefined || Number.isNaN(ppid) ? undefined : { ppid, start };
  } catch {
    return undefined;
  }
}

/** All processes below `pid` (children, grandchildren...), from /proc; empty where there is no /proc. */
function descendants(pid: number): ProcInfo[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const children = new Map<number, ProcInfo[]>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const child = Number(entry);
    const stat = readStat(child);
    if (stat === undefined) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push({ pid: child, start: stat.start });
    children.set(stat.ppid, list);
  }
  const found: ProcInfo[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of children.get(next) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

function isSameProcess(proc: ProcInfo): boolean {
  return readStat(proc.pid)?.start === proc.start;
}
