/** Typed errors of the metadata store. Each names the record (and the column) it is about. */
import { WindflowError } from "../../errors.js";

/** A run that would duplicate an existing one: same run id, or a second scheduled run for a logical date. */
export class DuplicateRunError extends WindflowError {
  readonly retryable = false;
  constructor(
    readonly dagId: string,
    readonly runId: string,
    readonly reason: "run_id" | "scheduled_logical_date",
    readonly logicalDate: Date,
  ) {
    super(
      reason === "run_id"
        ? `DAG ${dagId}: a run ${runId} exists already`
        : `DAG ${dagId}: a scheduled run for logical date ${logicalDate.toISOString()} exists already`,
      {
        hint:
          reason === "run_id"
            ? "give another run id, or another logical date"
            : "a logical date has one scheduled run; trigger a manual run to run it again",
      },
    );
  }
}

/** A username that is taken. */
export class DuplicateUserError extends WindflowError {
  constructor(readonly username: string) {
    super(`user ${username} exists already`, { hint: "choose another username, or delete the user first" });
  }
}

/** A DAG, run or task instance that is not in the store. `key` names it: `train`, `train/manual__...`. */
export class RecordNotFoundError extends WindflowError {
  constructor(
    readonly kind: "dag" | "run" | "task instance" | "user",
    readonly key: string,
  ) {
    super(`no ${kind} ${key} in the metadata store`, {
      hint:
        kind === "dag"
          ? "the scheduler records DAGs when it parses their files: check `windflow dags list`"
          : "check the ids with `windflow dags list-runs` / `windflow tasks list`",
    });
  }
}

/** A stored row that does not read back as a valid record (a corrupt or hand-edited database). */
export class StoreDataError extends WindflowError {
  constructor(
    readonly table: string,
    readonly key: string,
    readonly column: string,
    readonly detail: string,
  ) {
    super(`metadata store: ${table} ${key}: column ${column}: ${detail}`, {
      hint: "the database was changed outside windflow, or by another version: `windflow db reset` starts afresh",
    });
  }
}

/** A value that the store refuses to write (not JSON, a bad role). */
export class StoreInputError extends WindflowError {
  readonly retryable = false;
  constructor(
    readonly what: string,
    readonly detail: string,
    hint?: string,
  ) {
    super(`metadata store: ${what}: ${detail}`, hint === undefined ? {} : { hint });
  }
}

/** The database was written by a newer windflow (its schema version is above the migrations known here). */
export class SchemaVersionError extends WindflowError {
  constructor(
    readonly path: string,
    readonly found: number,
    readonly known: number,
  ) {
    super(`${path}: schema version ${found} is newer than this windflow knows (${known})`, {
      hint: "use the windflow version that created the database, or `windflow db reset` to start afresh",
    });
  }
}

/** What SQLite's result codes mean for a user, by code prefix (better-sqlite3 gives extended codes). */
const SQLITE_DISK_ERRORS: readonly [RegExp, string][] = [
  [/^SQLITE_FULL/, "the disk is full"],
  [/^SQLITE_IOERR/, "a disk I/O error (the disk may be full or failing)"],
  [/^SQLITE_READONLY/, "the file or its folder is read-only"],
  [/^SQLITE_CANTOPEN/, "the file cannot be opened (a missing or read-only folder?)"],
  [/^(ENOSPC|EDQUOT)$/, "the disk is full"],
  [/^(EROFS|EACCES|EPERM)$/, "the file or its folder is read-only"],
];

/**
 * The metadata database cannot be opened or written: a full disk, a read-only or failing file system. SQLite
 * rolls a failed write back, so the database holds what it held before; the command did nothing.
 */
export class StoreDiskError extends WindflowError {
  constructor(
    readonly path: string,
    readonly what: string,
    cause: unknown,
  ) {
    super(`the metadata database ${path} cannot be written: ${what}`, {
      hint: "free some space on that disk (old dated files, models/, logs) or set [database] path to a writable place; nothing was changed",
      cause,
    });
  }
}

/** `error` as a `StoreDiskError` when it is a disk problem (by SQLite's or the system's code), else itself. */
export function explainStoreError(error: unknown, path: string): unknown {
  if (error instanceof WindflowError) return error;
  const code = String((error as { code?: unknown })?.code ?? "");
  for (const [pattern, what] of SQLITE_DISK_ERRORS)
    if (pattern.test(code)) return new StoreDiskError(path, what, error);
  return error;
}
