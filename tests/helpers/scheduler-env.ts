/**
 * A temporary windflow home for scheduler tests: its own WINDFLOW_HOME, DAGs folder and output folder,
 * fixture DAGs copied in (`install`), the config read with test settings, and helpers to wait with deadlines
 * (never bare sleeps) and to clean up every process a test started.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfig, type WindflowConfig } from "../../src/config.js";
import { isProcessAlive } from "../../src/orchestration/executor/local.js";
import { createLogger } from "../../src/orchestration/scheduler/log.js";
import {
  Scheduler,
  type SchedulerOptions,
  type SchedulerReport,
  type SchedulerRunOptions,
} from "../../src/orchestration/scheduler/scheduler.js";
import { openStore, type SqliteStore } from "../../src/orchestration/store/index.js";

export const ROOT = resolve(__dirname, "..", "..");
export const FIXTURES = join(ROOT, "tests", "fixtures", "dags");
const SRC = join(ROOT, "src");

/** A temporary home (see the module comment). */
export interface SchedulerEnv {
  readonly home: string;
  readonly dags: string;
  /** Where fixture tasks write their marks (`<dags>/../out`). */
  readonly out: string;
  /** The environment of processes (WINDFLOW_HOME, the DAGs folder, test settings). */
  readonly env: Record<string, string | undefined>;
  readonly config: WindflowConfig;
  /** A connection of the test's own to the store (opened, and the database created, on first use). */
  readonly store: SqliteStore;
  /** Scheduler log lines (shown when a test fails, with WINDFLOW_TEST_VERBOSE=1 as they come). */
  readonly lines: string[];
  /** Copies `tests/fixtures/dags/<name>` into the DAGs folder (as `as`), its imports of src/ made absolute. */
  install(name: string, as?: string): string;
  /** Writes a DAG file of the given text into the DAGs folder. */
  write(name: string, text: string): string;
  /** A scheduler on this home. */
  scheduler(options?: Partial<SchedulerOptions>): Scheduler;
  /** Runs a scheduler in `mode` until it stops (with a deadline). */
  runScheduler(options?: SchedulerRunOptions & Partial<SchedulerOptions>): Promise<SchedulerReport>;
  /** Marks written by fixture tasks for a run, one per line. */
  marks(runId: string): string[];
  /** A process to kill at cleanup if still alive. */
  track(child: ChildProcess | number): void;
  cleanup(): void;
}

/** A fresh home with `settings` (`WINDFLOW__SECTION__KEY` variables) on top of fast test defaults. */
export function schedulerEnv(settings: Record<string, string> = {}): SchedulerEnv {
  const home = mkdtempSync(join(tmpdir(), "windflow-sched-"));
  const dags = join(home, "dags");
  const out = join(home, "out");
  mkdirSync(dags, { recursive: true });
  // The parent's windflow settings do not leak in: only the test's.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("WINDFLOW__") && k !== "WINDFLOW_HOME"),
  );
  const env: Record<string, string | undefined> = {
    ...inherited,
    WINDFLOW_HOME: home,
    WINDFLOW__CORE__DAGS_FOLDER: dags,
    WINDFLOW__CORE__KILLED_TASK_CLEANUP_TIME: "500ms",
    WINDFLOW__SCHEDULER__HEARTBEAT_INTERVAL: "500ms",
    WINDFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL: "1h",
    WINDFLOW__SCHEDULER__DAG_FILE_PROCESSOR_TIMEOUT: "20s",
    // The web UI's files: in the home, never the project's data/ and models/.
    WINDFLOW__WEBSERVER__PREDICTIONS_FOLDER: join(home, "predictions"),
    WINDFLOW__WEBSERVER__MODELS_FOLDER: join(home, "models"),
    ...settings,
  };
  const config = loadConfig({ env, root: ROOT });
  let opened: SqliteStore | undefined;
  const storeOf = () => {
    opened ??= openStore(config);
    return opened;
  };
  const lines: string[] = [];
  const tracked: (ChildProcess | number)[] = [];
  const schedulers: Scheduler[] = [];
  const verbose = process.env.WINDFLOW_TEST_VERBOSE === "1";
  const log = createLogger("DEBUG", (line) => {
    lines.push(line);
    if (verbose) process.stderr.write(`${line}\n`);
  });

  const self: SchedulerEnv = {
    home,
    dags,
    out,
    env,
    config,
    get store() {
      return storeOf();
    },
    lines,
    install(name, as = name) {
      const text = readFileSync(join(FIXTURES, name), "utf8").replaceAll('"../../../src/', `"${SRC}/`);
      return self.write(as, text);
    },
    write(name, text) {
      const file = join(dags, name);
      writeFileSync(file, text);
      return file;
    },
    scheduler(options = {}) {
      // Cold task processes unless WINDFLOW_TEST_WARM=n (n warm task processes: tests/scheduler-warm.test.ts).
      const warm = Number(process.env.WINDFLOW_TEST_WARM ?? 0);
      const s = new Scheduler({ config, log, warmWorkers: warm, ...options });
      schedulers.push(s);
      return s;
    },
    async runScheduler(options = {}) {
      const { mode, timeoutMs, ...rest } = options;
      return self.scheduler(rest).run({ mode: mode ?? "until-idle", timeoutMs: timeoutMs ?? HANG_GUARD_MS });
    },
    marks(runId) {
      const file = join(out, `${runId}.txt`);
      return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean) : [];
    },
    track(child) {
      tracked.push(child);
    },
    cleanup() {
      for (const s of schedulers) s.stop("test cleanup");
      for (const t of tracked) {
        const pid = typeof t === "number" ? t : t.pid;
        if (pid !== undefined && isProcessAlive(pid)) {
          try {
            process.kill(-pid, "SIGKILL");
          } catch {
            try {
              process.kill(pid, "SIGKILL");
            } catch {
              // gone
            }
          }
        }
      }
      // Task processes a test left running (killed schedulers leave them on purpose).
      for (const ti of opened?.listTaskInstances({ states: ["running"] }) ?? [])
        if (ti.pid !== null && isProcessAlive(ti.pid)) {
          try {
            process.kill(-ti.pid, "SIGKILL");
          } catch {
            // gone
          }
        }
      opened?.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
  return self;
}

/**
 * How long a scheduler run, a CLI command or a wait may take before a test calls it hung. A guard against
 * hangs, not a time budget: on a machine loaded far beyond its 2 cores (load 15, a stress run beside other
 * work), `dags trigger --wait` of a five-task DAG took more than 60 s; a hang is still reported, later.
 */
export const HANG_GUARD_MS = 300_000;

/** Calls `fn` until it returns a value (not undefined), or fails after `timeoutMs` naming `what`. */
export async function until<T>(what: string, fn: () => T | undefined, timeoutMs = HANG_GUARD_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts the windflow CLI from the sources with `args` in `env` (and `input` on its stdin); resolves its exit code and output. */
export function cli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  options: { timeoutMs?: number; onSpawn?: (child: ChildProcess) => void; input?: string } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(SRC, "cli", "main.ts"), ...args], {
      cwd: ROOT,
      env,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
    options.onSpawn?.(child);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `windflow ${args.join(" ")}: no exit within ${options.timeoutMs ?? HANG_GUARD_MS} ms\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? HANG_GUARD_MS);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}
