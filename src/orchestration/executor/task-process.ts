/**
 * The program of a task process: `node task-process.js DAG TASK RUN_ID` runs one try (`tasksRunMain`) and
 * exits with its code. The local executor starts this file rather than the whole CLI because it loads only
 * what a try needs (the store, the DAG loader), not the CLI's commands and their libraries: the start of a
 * task process is most of the hand-off time between two tasks. `windflow tasks run` does the same thing.
 */
import { settleFileWrites } from "../../util/exit.js";
import { tasksRunMain } from "./run-task.js";
import { stopWithParent } from "./stop-with-parent.js";

if (require.main === module) {
  // Set by `windflow worker` (bullmq-worker.ts): the try its job was added for, and a pipe on stdin whose end
  // means the worker died (killed -9): stop the try as a SIGTERM would, so that it is retried elsewhere (and kill
  // it if it is still there after its clean-up time: stop-with-parent.ts).
  const expect = process.env.WINDFLOW_EXPECT_TRY;
  if (process.env.WINDFLOW_STOP_WITH_PARENT === "1")
    stopWithParent(() => process.kill(process.pid, "SIGTERM"));
  tasksRunMain(process.argv.slice(2), expect ? { expectTry: Number(expect) } : {}).then(
    // Exit now, even if a stopped task left work behind (timers, sockets): the try is over and recorded.
    // (Once the DAG file's compiled code is in tsx's cache for the next process: settleFileWrites.)
    (code) => settleFileWrites().then(() => process.exit(code)),
    (error: unknown) => {
      process.stderr.write(
        `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(2);
    },
  );
}
