/**
 * The program of a warm task process (`WarmExecutor`): started ahead of need, it loads what a try needs (the
 * store opened, the config, the DAG loader, the authoring API and tsx's API; no transform ahead: see `warmUp`),
 * says `ready`, and waits for one assignment on its IPC channel. It then runs that one try exactly as
 * `windflow tasks run` does (`tasksRunMain`: claim, load the DAG file, run, record) and exits with its code.
 * One try per process, as with a cold start: no state leaks from one try to the next, and killing the process
 * kills the try.
 *
 * An idle warm process exits when its scheduler goes away (the IPC channel closes); an assigned one is
 * detached from it and finishes its try whatever happens to the scheduler.
 */
import { join } from "node:path";
import { loadConfig, type WindflowConfig } from "../../config.js";
import { settleFileWrites } from "../../util/exit.js";
import { openStore, type SqliteStore } from "../store/index.js";
import { tasksRunMain } from "./run-task.js";

/** What the scheduler sends a warm process. */
export interface WarmAssignment {
  readonly type: "run";
  readonly dagId: string;
  readonly taskId: string;
  readonly runId: string;
}

/** What a warm process sends once loaded. */
export interface WarmReady {
  readonly type: "ready";
}

/**
 * Loads tsx's API and windflow's authoring API (`windflow/dag`), nothing heavier: a warm process that is ready sooner keeps the pool from
 * running dry in a chain of short tasks. Loading the whole public API here (polars, TensorFlow.js, the
 * pipeline steps) made a warm process take 2.6-4.8 s to be ready instead of 0.9 s on a loaded 2-core machine
 * (97 MB instead of 62 MB), and the chain's hand-off median 3x longer (bench/handoff.ts --warm 2, load 14-17:
 * 608-702 ms against 193-273 ms, p95 1.4-1.9 s against 0.8 s). A DAG file that imports `windflow` loads the
 * rest in its try, after the claim: the task's own time, not the hand-off.
 */
function warmUp(): Ahead | undefined {
  try {
    require(join(__dirname, "..", "..", __filename.endsWith(".ts") ? "authoring.ts" : "authoring.js"));
  } catch {
    // Only a head start.
  }
  try {
    // tsx's API, which loads the DAG file. No transform ahead: a DAG file compiled once is served from tsx's
    // cache to every process (loader.ts), so esbuild is started only for a file changed since; a transform here
    // started it in every warm process for nothing (about 70 ms of each warm-up at load 9).
    require("tsx/cjs/api");
  } catch {
    // Only a head start.
  }
  // The settings and the store, as the try would load and open them first thing: done ahead, a try's claim
  // follows its assignment at once (bench/handoff.ts: the queued -> claim part of a warm hand-off). The settings
  // are those of the warm-up: a change of windflow.cfg reaches the processes started after it (the pool turns
  // over with every try), as it reaches the scheduler only when it starts again.
  try {
    const config = loadConfig();
    return { config, store: openStore(config) };
  } catch {
    return undefined; // the try loads them itself, and says what is wrong
  }
}

/** What a warm process made ready for its try. */
interface Ahead {
  readonly config: WindflowConfig;
  readonly store: SqliteStore;
}

if (require.main === module) {
  let assigned = false;
  process.on("message", (message: WarmAssignment) => {
    if (assigned || message?.type !== "run") return;
    assigned = true;
    tasksRunMain([message.dagId, message.taskId, message.runId], ahead ?? {}).then(
      async (code) => {
        ahead?.store.close();
        await settleFileWrites(); // the DAG file's compiled code, in tsx's cache for the next process
        process.exit(code);
      },
      (error: unknown) => {
        process.stderr.write(
          `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
        );
        process.exit(2);
      },
    );
  });
  process.on("disconnect", () => {
    if (!assigned) process.exit(0);
  });
  const ahead = warmUp();
  process.send?.({ type: "ready" } satisfies WarmReady);
}
