/**
 * The contract of an external try (`windflow tasks external`, executor/external-try.ts) with what runs it: a
 * BullMQ worker (executor/bullmq-worker.ts) and the operator of a DAG exported to Airflow (export/airflow.ts
 * writes these values into the plugin). One place, so that the three never disagree.
 */

/** Exit codes of an external try. */
export const EXTERNAL_EXIT_CODES = {
  success: 0,
  failed: 1,
  /** Bad arguments, no such DAG or task: nothing ran. */
  notRun: 2,
  /** The task skipped itself (`ctx.skip`): Airflow's BashOperator `skip_on_exit_code` default. */
  skipped: 99,
} as const;

/**
 * Largest `--conf`/`--xcom` JSON passed inline (UTF-8 bytes); larger goes through a file, `@FILE`: Linux
 * refuses one argument over 128 KiB (E2BIG) and the try would not start.
 */
export const MAX_INLINE_JSON_ARG = 64 * 1024;
