/** Typed errors of the executor side. */
import { WindflowError } from "../../errors.js";

/** `tasks run` was asked to run a task instance that is not waiting in `queued` (nothing was run). */
export class TaskNotQueuedError extends WindflowError {
  readonly retryable = false;
  constructor(
    readonly dagId: string,
    readonly runId: string,
    readonly taskId: string,
    readonly state: string,
  ) {
    super(`task instance ${dagId}/${runId}/${taskId} is ${state}, not queued: nothing to run`, {
      hint:
        state === "running"
          ? "another process runs it already"
          : "the scheduler queues task instances; to run a task by hand without the store, use `windflow tasks test`",
    });
  }
}

/** A try stopped from outside (SIGTERM from the scheduler or a person) before it finished. Retryable. */
export class TaskKilledError extends WindflowError {
  constructor(
    readonly dagId: string,
    readonly taskId: string,
    readonly reason: string,
  ) {
    super(`DAG ${dagId}, task ${taskId}: stopped: ${reason}`);
  }
}

/** A task process ended without recording the end of its try (killed, crashed, out of memory). Retryable. */
export class TaskProcessLostError extends WindflowError {
  constructor(
    readonly dagId: string,
    readonly taskId: string,
    readonly detail: string,
  ) {
    super(`DAG ${dagId}, task ${taskId}: ${detail}`, {
      hint: "see the end of the try's log; a process killed by the system (SIGKILL) may have run out of memory",
    });
  }
}
