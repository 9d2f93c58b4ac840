/**
 * The scheduler side: the DAG processor (DAG files -> store, in child processes), the scheduler loop, manual
 * triggers and the views the CLI prints. See `scheduler.ts` for the loop's pass order and modes.
 */
export {
  type ActionResult,
  clearTaskInstance,
  markTaskInstance,
  stopTaskInstance,
  TASK_ACTIONS,
  type TaskAction,
  TaskActionError,
  taskAction,
} from "./actions.js";
export {
  type ApplySummary,
  applyProcessorResults,
  DagProcessor,
  type DagProcessorOptions,
  defaultParseCommand,
  type ParseFolderOptions,
  type ProcessorResult,
  parseDagFolder,
  syncDagFolder,
} from "./dag-processor.js";
export * from "./decide.js";
export { createLogger, LOG_LEVELS, type LogLevel, type SchedulerLogger, SILENT } from "./log.js";
export { SCHEDULER_EXIT_CODES, type SchedulerMainOptions, schedulerMain } from "./main.js";
export { type ParseMessage, parseDagFileMessage } from "./parse-process.js";
export {
  MAX_START_ATTEMPTS,
  ORPHAN_QUEUED_GRACE_MS,
  Scheduler,
  type SchedulerMode,
  type SchedulerOptions,
  type SchedulerReport,
  type SchedulerRunOptions,
  TIMEOUT_GRACE_MS,
} from "./scheduler.js";
export {
  activeDag,
  ConfSyntaxError,
  DagInactiveError,
  outputsFor,
  parseConf,
  setDagPaused,
  type TriggerOptions,
  type TriggerResult,
  triggerDag,
  WAKEUP_FILE,
  wakeScheduler,
} from "./trigger.js";
export * from "./views.js";
