/**
 * The executor side: what runs task code. `runTry` runs one try of a task, store-free (`windflow tasks run`
 * and `dags test` both use it); `runTaskInstance` / `tasksRunMain` run one try of a queued task instance in the
 * current process (`windflow tasks run`); `TaskExecutor` is what the scheduler asks of whatever starts those
 * processes: `LocalExecutor`, `WarmExecutor` (a pool of warm task processes) and `BullmqExecutor` (`bullmq.ts`,
 * imported only when `[core] executor = bullmq`) implement it.
 */
export * from "./errors.js";
export type {
  AdoptVerdict,
  ExecutorEvent,
  StartedTask,
  TaskExecutor,
  TryToAdopt,
  TryToStart,
} from "./executor.js";
export { defaultTaskCommand, isProcessAlive, LocalExecutor, type LocalExecutorOptions } from "./local.js";
export {
  EXIT_CODES,
  errorText,
  finishLostTry,
  type RunTaskInstanceOptions,
  runTaskInstance,
  TASKS_RUN_USAGE,
  type TaskRunOutcome,
  tasksRunMain,
} from "./run-task.js";
export { type LogSource, TaskLog, taskLogPath } from "./task-log.js";
export {
  type ErrorInfo,
  errorInfo,
  type LoadedTask,
  runTry,
  type TryInput,
  type TryOutcome,
  type TrySettings,
} from "./try-runner.js";
export {
  defaultWarmWorkerCommand,
  WarmExecutor,
  type WarmExecutorOptions,
} from "./warm-executor.js";
export type { WarmAssignment, WarmReady } from "./warm-worker.js";
