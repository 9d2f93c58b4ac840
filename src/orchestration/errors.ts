/**
 * The orchestrator's typed errors. Each carries the fields a program needs (the DAG, the task, the file, the
 * field) and a message a person can act on; `hint` says what to change.
 *
 * `retryable: false` marks errors that the same try would hit again (a return value that is too big, a bad
 * conf): a task failing with one goes straight to `failed` without using its retries.
 */
import { WindflowError } from "../errors.js";

/** A DAG definition is invalid. `field` is the path of what is wrong: `schedule`, `tasks.train.upstream`... */
export class DagValidationError extends WindflowError {
  constructor(
    readonly dagId: string,
    readonly field: string,
    readonly detail: string,
    hint?: string,
  ) {
    super(`DAG ${dagId}: ${field}: ${detail}`, hint === undefined ? {} : { hint });
  }
}

/** The tasks' dependencies loop. `cycle` lists the task ids along the loop, the first repeated at the end. */
export class DagCycleError extends DagValidationError {
  constructor(
    dagId: string,
    readonly cycle: readonly string[],
  ) {
    super(
      dagId,
      "tasks",
      `dependency cycle ${cycle.join(" -> ")}`,
      "a DAG must not loop: remove one of these dependencies",
    );
  }
}

/** A cron expression does not parse. `field` is the cron field at fault (`minute`, `hour`, `day of month`...). */
export class CronError extends WindflowError {
  constructor(
    readonly expression: string,
    readonly field: string,
    readonly detail: string,
  ) {
    super(`cron "${expression}": ${field}: ${detail}`, {
      hint: 'five fields "minute hour day-of-month month day-of-week", e.g. "0 */4 * * *", or a preset such as @daily',
    });
  }
}

/** A duration text such as "30s" does not parse. */
export class DurationError extends WindflowError {
  constructor(
    readonly text: string,
    readonly detail: string,
  ) {
    super(`duration ${JSON.stringify(text)}: ${detail}`, {
      hint: 'write a number of milliseconds or a text such as "500ms", "30s", "10m", "4h", "28d", "2w", "1h30m"',
    });
  }
}

/** A date (a start date, a logical date) that is not a valid instant. */
export class DateError extends WindflowError {
  constructor(
    readonly value: string,
    readonly what: string,
  ) {
    super(`${what} ${JSON.stringify(value)} is not a date`, {
      hint: 'write an ISO 8601 instant in UTC, such as "2026-01-01T00:00:00Z"',
    });
  }
}

/**
 * A manual run asked for a logical date still to come (issue 11 §2: "no run is dated in the future"). A run's
 * logical date says which moment it is about; one in the future would show as a last run that has not happened
 * and end before its own date. Airflow holds such a run until its date (`allow_trigger_in_future`, off by
 * default); windflow refuses it at once, with what to do instead.
 */
export class FutureLogicalDateError extends WindflowError {
  constructor(
    readonly logicalDate: Date,
    readonly now: Date,
  ) {
    super(
      `a run cannot be dated in the future: logical date ${logicalDate.toISOString()} is after now (${now.toISOString()})`,
      {
        hint: "leave the logical date out to date the run now, as Trigger does, or give a moment that has passed",
      },
    );
  }
}

/** A state change that the state machine does not allow (see `state.ts`). A bug in the caller, not the user. */
export class IllegalTransitionError extends WindflowError {
  constructor(
    readonly kind: "task" | "run",
    readonly from: string,
    readonly to: string,
    /** `by hand`: a person's action (`TASK_MANUAL_TRANSITIONS`). */
    readonly how?: string,
  ) {
    super(`illegal ${kind} state transition ${from} -> ${to}${how ? ` ${how}` : ""}`);
  }
}

/** A DAG file could not be imported: syntax error, the module threw, no DAG exported, invalid DAG. */
export class DagImportError extends WindflowError {
  constructor(
    readonly file: string,
    readonly detail: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(`${file}: ${detail}`, options);
  }
}

/** A task's return value cannot be handed to its downstream tasks (not JSON, too big), or is missing. */
export class XComError extends WindflowError {
  readonly retryable = false;
  constructor(
    readonly dagId: string,
    readonly taskId: string,
    readonly detail: string,
    hint?: string,
  ) {
    super(`DAG ${dagId}, task ${taskId}: ${detail}`, hint === undefined ? {} : { hint });
  }
}

/** The trigger's conf does not fit the DAG's params (a value of another type than the default's). */
export class ConfError extends WindflowError {
  readonly retryable = false;
  constructor(
    readonly dagId: string,
    readonly key: string,
    readonly detail: string,
  ) {
    super(`DAG ${dagId}: conf.${key}: ${detail}`, {
      hint: "give each param a value of the same JSON type as its default (see `windflow dags show`)",
    });
  }
}

/** A try ran longer than the task's execution timeout. Retryable: the next try may be faster. */
export class TaskTimeoutError extends WindflowError {
  constructor(
    readonly dagId: string,
    readonly taskId: string,
    readonly timeoutMs: number,
  ) {
    super(`DAG ${dagId}, task ${taskId}: timed out after ${timeoutMs} ms`, {
      hint: "raise the task's executionTimeout, or make the task faster",
    });
  }
}

/**
 * Not a failure: thrown by `ctx.skip(reason)` to end the task in state `skipped` (Airflow's
 * AirflowSkipException). Downstream `all_success` tasks are then skipped too.
 */
export class TaskSkip extends WindflowError {
  constructor(readonly reason: string) {
    super(`skipped: ${reason}`);
  }
}

/** Whether a failing try may be retried: false for errors carrying `retryable: false`. */
export function isRetryable(error: unknown): boolean {
  return !(
    typeof error === "object" &&
    error !== null &&
    (error as { retryable?: unknown }).retryable === false
  );
}
