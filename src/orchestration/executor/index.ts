/**
 * The executor side: what runs task code. `runTaskInstance` / `tasksRunMain` run one try in the current
 * process (`windflow tasks run`); `LocalExecutor` starts, watches and kills those processes for the scheduler.
 */
export * from "./errors.js";
export {
  defaultTaskCommand,
  type ExecutorEvent,
  isProcessAlive,
  LocalExecutor,
  type LocalExecutorOptions,
  type StartedTask,
} from "./local.js";
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
