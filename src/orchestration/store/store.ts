/**
 * The metadata store: what the scheduler, the task processes and the web UI share. One interface, two
 * implementations run through one contract test suite (`tests/store-contract.test.ts`, STYLE point 9):
 * `SqliteStore` (the embedded default, a file under the home, shared by several processes) and
 * `MemoryStore` (tests, in-process tools).
 *
 * ## Records
 * - **DAG** (`DagRecord`): a DAG's serialised spec as last parsed from its file, with its paused flag (new
 *   DAGs start paused, as in the course's Airflow) and when its next scheduled run is due.
 * - **import error**: a DAG file that failed to load, with the message; at most one per file (the latest).
 * - **run** (`DagRunRecord`): unique by (dag, run id); at most one *scheduled* run per (dag, logical date),
 *   so that a scheduler restarted after a crash can never create a scheduled run twice.
 * - **task instance** (`TaskInstanceRecord`): one task in one run, created with its run in state `none`.
 * - **try** (`TaskTryRecord`): the history of a task instance's tries (one row per try started).
 * - **user**: accounts of the web UI.
 * - **scheduler job**: a scheduler process and its latest heartbeat, so that the web UI can say whether a
 *   scheduler is running.
 *
 * ## Rules every implementation keeps
 * - Every change of state goes through the state machine (`state.ts`): an illegal move throws an
 *   `IllegalTransitionError` and changes nothing.
 * - State changes are compare-and-set: `setTaskState(key, from, to)` applies only if the current state is
 *   still `from`, and returns false otherwise, so two processes can never both claim a task instance.
 * - Each method is atomic. `atomically(fn)` groups several calls into one transaction.
 * - What is read back is validated (JSON columns parsed and checked): a corrupt row is a `StoreDataError`
 *   naming the table, the record and the column, never a value of the wrong type inside the program.
 * - Records are copies: changing a returned object changes nothing in the store.
 *
 * The interface is synchronous: SQLite through better-sqlite3 is synchronous (and faster so), the store is
 * local to the machine, and synchronous transactions cannot interleave with other work of the same process.
 */
import type { RunState, TaskState } from "../state.js";
import type { DagSpec, DataInterval, Json, JsonObject } from "../types.js";

/** How a run came to be (the prefix of its run id). */
export type RunType = "scheduled" | "manual";
export const RUN_TYPES: readonly RunType[] = ["scheduled", "manual"];

/** Roles of web UI users, least to most powerful (Airflow's Viewer, User, Op, Admin). */
export const USER_ROLES = ["viewer", "user", "op", "admin"] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** A serialised DAG. */
export interface DagRecord {
  readonly dagId: string;
  /** The DAG file it was last parsed from (absolute). */
  readonly fileloc: string;
  readonly spec: DagSpec;
  /** sha256 of the spec's JSON: a change means the DAG changed. */
  readonly hash: string;
  /** A paused DAG gets no scheduled runs (manual triggers still run). New DAGs are paused. */
  readonly isPaused: boolean;
  /** False once its file no longer defines it (or is gone); kept for its history. */
  readonly isActive: boolean;
  readonly createdAt: Date;
  readonly lastParsedAt: Date;
  /** The logical date of the next scheduled run, when the scheduler computed it. */
  readonly nextLogicalDate: Date | null;
  /** When the next scheduled run becomes due (the end of its data interval). */
  readonly nextRunAt: Date | null;
}

/** The result of `upsertDag`. */
export interface UpsertDagResult {
  readonly dag: DagRecord;
  /** The DAG was not in the store. */
  readonly created: boolean;
  /** Created, or its spec (hash) or file changed. */
  readonly changed: boolean;
}

/** A DAG file that failed to load. */
export interface ImportErrorRecord {
  readonly file: string;
  readonly message: string;
  readonly at: Date;
}

/** Identifies a run. */
export interface RunKey {
  readonly dagId: string;
  readonly runId: string;
}

/** A DAG run. */
export interface DagRunRecord extends RunKey {
  readonly runType: RunType;
  readonly logicalDate: Date;
  readonly dataInterval: DataInterval;
  readonly state: RunState;
  /** The trigger's conf (`{}` for scheduled runs). */
  readonly conf: JsonObject;
  readonly createdAt: Date;
  /** When it moved to running. */
  readonly startedAt: Date | null;
  /** When it reached success or failed. */
  readonly endedAt: Date | null;
}

/** What `createRun` needs. */
export interface NewRun extends RunKey {
  readonly runType: RunType;
  readonly logicalDate: Date;
  readonly dataInterval: DataInterval;
  /** @default {} */
  readonly conf?: JsonObject;
  /** @default "queued"; a run created `running` gets `startedAt` = its creation time */
  readonly state?: RunState;
  /** The run's task instances, created in state `none` with the run. See `runTasksOf(spec)`. */
  readonly tasks: readonly NewTaskInstance[];
}

/** A task instance to create. */
export interface NewTaskInstance {
  readonly taskId: string;
  /** 1 + the task's retries. */
  readonly maxTries: number;
}

/** Identifies a task instance. */
export interface TaskInstanceKey extends RunKey {
  readonly taskId: string;
}

/** A task instance: the state of one task in one run, and its current (or last) try. */
export interface TaskInstanceRecord extends TaskInstanceKey {
  readonly state: TaskState;
  /** Tries started so far: 0 before the first, then the number of the current or last try. */
  readonly tryNumber: number;
  readonly maxTries: number;
  /** Process of the current or last try, and its machine: a scheduler checks that it is alive. */
  readonly pid: number | null;
  readonly hostname: string | null;
  readonly queuedAt: Date | null;
  /**
   * The scheduler that queued it (`schedulerJobKey`): while that scheduler is alive, its process is that
   * scheduler's to watch, and no other scheduler adopts or restarts it. Null: queued before this was recorded,
   * or by hand (`tasks run`).
   */
  readonly queuedBy: string | null;
  readonly startedAt: Date | null;
  readonly endedAt: Date | null;
  /** In up_for_retry: when the next try may start. */
  readonly nextRetryAt: Date | null;
  /** The return value of the successful try (XCom-like), if it returned one. May be JSON `null`. */
  readonly returnValue: Json | undefined;
  /** The last failed try's error, as text. */
  readonly error: string | null;
  /** The log file of the current or last try. */
  readonly logPath: string | null;
  /**
   * The user whose action (clear, mark, stop: `setTaskStateByHand`) set the current state; null when the engine
   * set it. A scheduler that watches the process of a try whose state was set by hand kills it.
   */
  readonly setBy: string | null;
  /** The latest sign of life of the running try's process (`recordTaskHeartbeat`); null before the first. */
  readonly heartbeatAt: Date | null;
  readonly updatedAt: Date;
}

/** One try of a task instance. */
export interface TaskTryRecord extends TaskInstanceKey {
  readonly tryNumber: number;
  /** `running` while it runs, then the state it ended in. */
  readonly state: TaskState;
  readonly pid: number | null;
  readonly hostname: string | null;
  readonly startedAt: Date;
  readonly endedAt: Date | null;
  readonly error: string | null;
  readonly logPath: string | null;
}

/**
 * Fields written with a state change (`setTaskState`). Absent fields are left as they are, except what the
 * store sets itself on each move:
 * - to `queued`: `queuedAt` = now;
 * - to `running` (a new try): `tryNumber` + 1, `startedAt` = now, and `endedAt`, `nextRetryAt`, `error`,
 *   `returnValue`, `pid`, `hostname`, `logPath` cleared (give the new ones); a try record is added;
 * - out of `running`, and to any terminal state: `endedAt` = now; the try record gets the outcome;
 * - out of `up_for_retry`: `nextRetryAt` cleared.
 * Given fields win over these.
 */
export interface TaskStateFields {
  readonly pid?: number | null;
  readonly hostname?: string | null;
  readonly queuedAt?: Date | null;
  readonly queuedBy?: string | null;
  readonly startedAt?: Date | null;
  readonly endedAt?: Date | null;
  readonly nextRetryAt?: Date | null;
  /** The return value to store (JSON; `null` is a value). Checked: plain JSON only. */
  readonly returnValue?: Json;
  readonly error?: string | null;
  readonly logPath?: string | null;
}

/** What a move by hand records (`setTaskStateByHand`). */
export interface ManualChange {
  /** Who: a user name (`alice`), or `cli` for the command line without one. */
  readonly by: string;
  /**
   * The reason a running try ends with (its try record and the task instance's error), e.g. `stopped by alice`.
   * @default `<cleared|marked success|marked failed> by <by>`
   */
  readonly reason?: string;
  /** To `none` (clear): the new max tries, so that the task gets its retries again. @default unchanged */
  readonly maxTries?: number;
}

/** Filters of `listRuns`. */
export interface RunFilter {
  readonly dagId?: string;
  readonly states?: readonly RunState[];
  readonly runType?: RunType;
  /** Newest logical date first (the default) or oldest first. */
  readonly order?: "newest" | "oldest";
  readonly limit?: number;
}

/** Filters of `listTaskInstances`. */
export interface TaskInstanceFilter {
  readonly dagId?: string;
  readonly runId?: string;
  /** Only these runs' task instances (with `dagId`: the grid's runs in one query). */
  readonly runIds?: readonly string[];
  readonly states?: readonly TaskState[];
}

/** A web UI account. */
export interface UserRecord {
  readonly username: string;
  /** A password hash (the web server's scheme, e.g. scrypt); never the password. */
  readonly passwordHash: string;
  readonly role: UserRole;
  readonly createdAt: Date;
  /** When `setUserPassword` last changed it; null: the password it was created with. */
  readonly passwordChangedAt: Date | null;
}

/** A scheduler process, as it reports itself (`recordSchedulerHeartbeat`). */
export interface SchedulerJobRecord {
  readonly hostname: string;
  readonly pid: number;
  readonly startedAt: Date;
  readonly latestHeartbeat: Date;
  /** When it stopped cleanly; null while running, or if it died. */
  readonly endedAt: Date | null;
  /** `home`: a scheduler of the home; `run`: a scheduler of one run (`dags trigger --wait`, `runInEngine`). */
  readonly kind: SchedulerKind;
}

export type SchedulerKind = "home" | "run";

/** A scheduler job's key, as `TaskInstanceRecord.queuedBy` holds it: `hostname:pid:startedAtMs`. */
export function schedulerJobKey(job: { hostname: string; pid: number; startedAt: Date }): string {
  return `${job.hostname}:${job.pid}:${job.startedAt.getTime()}`;
}

/** The metadata store (see the module comment for the rules every implementation keeps). */
export interface MetadataStore {
  /** `sqlite` or `memory`, for messages. */
  readonly kind: string;
  /** The schema version (the last migration applied; the latest for the memory store). */
  readonly schemaVersion: number;

  /**
   * Runs `fn` as one transaction: everything it writes is kept, or nothing if it throws. `fn` must be
   * synchronous (a transaction cannot stay open across an await).
   */
  atomically<T>(fn: () => T): T;
  /** Releases the store (closes the database). Further calls fail. */
  close(): void;

  // --- DAGs -------------------------------------------------------------------------------------------

  /**
   * Records a DAG as parsed from `spec.fileloc` at `parsedAt`. A new DAG is paused unless `paused` says
   * otherwise; an existing one keeps its paused flag and becomes active again.
   */
  upsertDag(spec: DagSpec, options: { parsedAt: Date; paused?: boolean }): UpsertDagResult;
  getDag(dagId: string): DagRecord | undefined;
  /** Every DAG, by id; inactive ones only if asked. */
  listDags(options?: { includeInactive?: boolean }): DagRecord[];
  /** Pauses or unpauses; a `RecordNotFoundError` if there is no such DAG. */
  setPaused(dagId: string, paused: boolean): void;
  /**
   * Marks inactive the active DAGs of `fileloc` whose ids are not in `keep` (the file no longer defines
   * them); returns their ids. Pass `keep = []` for a deleted file.
   */
  deactivateDags(fileloc: string, keep: readonly string[]): string[];
  /** Records the next scheduled run's logical date and due time (both null: none). */
  setNextRun(dagId: string, next: { logicalDate: Date | null; dueAt: Date | null }): void;
  /** Deletes a DAG with its runs and task instances. Returns whether it existed. */
  deleteDag(dagId: string): boolean;

  // --- import errors -------------------------------------------------------------------------------------

  /** Records the error of a DAG file, replacing the file's previous one. */
  setImportError(file: string, message: string, at: Date): void;
  /** Forgets the error of a file (it loads now). Returns whether there was one. */
  clearImportError(file: string): boolean;
  /** By file. */
  listImportErrors(): ImportErrorRecord[];

  // --- runs ----------------------------------------------------------------------------------------------

  /**
   * Creates a run and its task instances (state `none`), atomically. A `DuplicateRunError` if the run id
   * exists for the DAG, or a scheduled run exists for the same logical date; a `RecordNotFoundError` if the
   * DAG is not in the store.
   */
  createRun(run: NewRun, createdAt?: Date): DagRunRecord;
  getRun(key: RunKey): DagRunRecord | undefined;
  listRuns(filter?: RunFilter): DagRunRecord[];
  /** The logical date of the DAG's latest run of that type (scheduled by default), or null. */
  lastLogicalDate(dagId: string, runType?: RunType): Date | null;
  /**
   * Compare-and-set of a run's state through `runTransition`: false if the run is not in state `from`.
   * Sets `startedAt` on running and `endedAt` on success/failed. A `RecordNotFoundError` if no such run.
   */
  setRunState(key: RunKey, from: RunState, to: RunState, at?: Date): boolean;
  /**
   * A move of a run by hand (`RUN_MANUAL_TRANSITIONS`: a finished run queued again when its tasks are cleared),
   * compare-and-set as `setRunState`; `endedAt` is cleared.
   */
  setRunStateByHand(key: RunKey, from: RunState, to: RunState): boolean;

  // --- task instances ------------------------------------------------------------------------------------

  /** Adds task instances to an existing run (a task added to the DAG); existing ones are left alone. */
  addTaskInstances(key: RunKey, tasks: readonly NewTaskInstance[]): number;
  getTaskInstance(key: TaskInstanceKey): TaskInstanceRecord | undefined;
  /** Sorted by dag, run, then the order tasks were created in. */
  listTaskInstances(filter?: TaskInstanceFilter): TaskInstanceRecord[];
  /**
   * Compare-and-set through `transition()`: moves the task instance from `from` to `to` with `fields`
   * (see `TaskStateFields` for what the store sets itself), atomically, and returns true; returns false
   * (changing nothing) if its state is not `from`. An `IllegalTransitionError` if the state machine does
   * not allow the move; a `RecordNotFoundError` if there is no such task instance.
   */
  setTaskState(
    key: TaskInstanceKey,
    from: TaskState,
    to: TaskState,
    fields?: TaskStateFields,
    at?: Date,
  ): boolean;
  /**
   * A person's action on a task instance (clear: to `none`; mark success / failed; stop: `running -> failed`),
   * compare-and-set from `from` through `manualTransition` (`TASK_MANUAL_TRANSITIONS`), recording `setBy`.
   * To `none`: the try fields are cleared (pid, times, return value, error, log) and `tryNumber` kept (the next
   * try is tryNumber + 1, as Airflow counts). To `success` / `failed`: `endedAt` = now if unset, the error is
   * the reason (failed) or cleared (success). From `running`: the try record ends (`failed` when cleared) with
   * the reason. A task process that records its end later finds the state changed, and changes nothing.
   */
  setTaskStateByHand(
    key: TaskInstanceKey,
    from: TaskState,
    to: TaskState,
    change: ManualChange,
    at?: Date,
  ): boolean;
  /**
   * Records that the process of try `tryNumber` is alive at `at` (`heartbeatAt`), if the task instance is still
   * running that try; false otherwise (changing nothing).
   */
  recordTaskHeartbeat(key: TaskInstanceKey, tryNumber: number, at?: Date): boolean;
  /** Return values of the run's task instances that have one, by task id. */
  xcoms(key: RunKey): Record<string, Json>;
  /** The tries of a task instance, first to last. */
  listTries(key: TaskInstanceKey): TaskTryRecord[];

  // --- users ---------------------------------------------------------------------------------------------

  /** A `DuplicateUserError` if the username is taken. */
  createUser(user: { username: string; passwordHash: string; role: UserRole }, at?: Date): UserRecord;
  getUser(username: string): UserRecord | undefined;
  listUsers(): UserRecord[];
  deleteUser(username: string): boolean;
  /** Replaces a user's password hash and records when; false if there is no such user. */
  setUserPassword(username: string, passwordHash: string, at?: Date): boolean;

  // --- scheduler jobs ------------------------------------------------------------------------------------

  /**
   * Records a scheduler's heartbeat (creating its job on the first one), or its clean end with `ended`.
   * Jobs are identified by (hostname, pid, startedAt).
   */
  recordSchedulerHeartbeat(
    job: { hostname: string; pid: number; startedAt: Date; kind?: SchedulerKind },
    at?: Date,
    ended?: boolean,
  ): void;
  /**
   * A live scheduler takes over a `queued` task instance whose scheduler is dead (compare-and-set on
   * `queuedBy`: of two schedulers adopting the same orphan, one wins). False if it is not queued any more, or
   * `queuedBy` is no longer `expected`.
   */
  claimQueued(key: TaskInstanceKey, expected: string | null, queuedBy: string): boolean;
  /** Scheduler jobs, latest heartbeat first, at most `limit` (default 10); only of `kind` if given. */
  listSchedulerJobs(limit?: number, kind?: SchedulerKind): SchedulerJobRecord[];
}
