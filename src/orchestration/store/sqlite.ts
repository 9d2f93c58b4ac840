/**
 * `SqliteStore`: the metadata store in one SQLite file (better-sqlite3), shared by the scheduler, the task
 * processes and the web server, each with its own connection.
 *
 * - WAL journal: readers never block the writer and the writer never blocks readers; a crash (kill -9) of
 *   any process loses no committed transaction. `synchronous = NORMAL` is safe with WAL against process
 *   crashes (only an OS crash may lose the last transactions: https://www.sqlite.org/pragma.html#pragma_synchronous).
 * - `busy_timeout`: a connection waits for another's write lock instead of failing at once.
 * - Foreign keys on: deleting a DAG deletes its runs and their task instances.
 * - Writes run in `BEGIN IMMEDIATE` transactions: they take the write lock first, so that a read-then-write
 *   (a compare-and-set) cannot be interleaved with another process's write and cannot deadlock on upgrade.
 * - Every row read is validated (`RowReader`): a corrupt value is a `StoreDataError` naming the column.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import {
  isRunState,
  isTaskState,
  manualRunTransition,
  manualTransition,
  type RunState,
  runTransition,
  type TaskState,
  transition,
} from "../state.js";
import type { DagSpec, Json, JsonObject } from "../types.js";
import { fromJSON, toJSON } from "../validate.js";
import {
  DuplicateRunError,
  DuplicateUserError,
  explainStoreError,
  RecordNotFoundError,
  SchemaVersionError,
  StoreDataError,
  StoreInputError,
} from "./errors.js";
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from "./migrations.js";
import {
  applyManualRunTransition,
  applyManualTransition,
  applyRunTransition,
  applyTaskTransition,
  checkConf,
  checkDate,
  checkRole,
  checkRunId,
  newTaskInstance,
  runKeyText,
  specHash,
  type TaskChange,
  taskKeyText,
} from "./records.js";
import {
  type DagRecord,
  type DagRunRecord,
  type ImportErrorRecord,
  type ManualChange,
  type MetadataStore,
  type NewRun,
  type NewTaskInstance,
  RUN_TYPES,
  type RunFilter,
  type RunKey,
  type RunType,
  type SchedulerJobRecord,
  type SchedulerKind,
  type TaskInstanceFilter,
  type TaskInstanceKey,
  type TaskInstanceRecord,
  type TaskStateFields,
  type TaskTryRecord,
  type UpsertDagResult,
  USER_ROLES,
  type UserRecord,
  type UserRole,
} from "./store.js";

/** Options of `openSqliteStore`. */
export interface SqliteStoreOptions {
  /** How long to wait for another connection's write lock, in ms. @default 5000 */
  busyTimeoutMs?: number;
  /** Apply migrations up to this version only (to make an old database in tests). @default the latest */
  migrateTo?: number;
  /** The clock used for times the caller does not give. @default () => new Date() */
  now?: () => Date;
}

type Row = Record<string, unknown>;

/** Reads the columns of one row, each checked; errors name the table, the record and the column. */
class RowReader {
  constructor(
    private readonly table: string,
    private readonly key: string,
    private readonly row: Row,
  ) {}
  private fail(column: string, detail: string): never {
    throw new StoreDataError(this.table, this.key, column, detail);
  }
  text(column: string): string {
    const v = this.row[column];
    return typeof v === "string" ? v : this.fail(column, `expected text, got ${JSON.stringify(v)}`);
  }
  textOrNull(column: string): string | null {
    return this.row[column] === null ? null : this.text(column);
  }
  int(column: string): number {
    const v = this.row[column];
    return typeof v === "number" && Number.isInteger(v)
      ? v
      : this.fail(column, `expected an integer, got ${JSON.stringify(v)}`);
  }
  intOrNull(column: string): number | null {
    return this.row[column] === null ? null : this.int(column);
  }
  bool(column: string): boolean {
    const v = this.int(column);
    return v === 1 ? true : v === 0 ? false : this.fail(column, `expected 0 or 1, got ${v}`);
  }
  date(column: string): Date {
    return new Date(this.int(column));
  }
  dateOrNull(column: string): Date | null {
    return this.row[column] === null ? null : this.date(column);
  }
  json(column: string): Json {
    const text = this.text(column);
    try {
      return JSON.parse(text) as Json;
    } catch (error) {
      return this.fail(column, `not JSON: ${(error as Error).message}`);
    }
  }
  jsonObject(column: string): JsonObject {
    const v = this.json(column);
    return typeof v === "object" && v !== null && !Array.isArray(v)
      ? v
      : this.fail(column, "expected a JSON object");
  }
  oneOf<T extends string>(column: string, allowed: readonly T[] | ((v: unknown) => v is T)): T {
    const v = this.row[column];
    const ok = typeof allowed === "function" ? allowed(v) : (allowed as readonly unknown[]).includes(v);
    return ok ? (v as T) : this.fail(column, `${JSON.stringify(v)} is not a valid value`);
  }
  spec(column: string): DagSpec {
    try {
      return fromJSON(this.text(column));
    } catch (error) {
      if (error instanceof StoreDataError) throw error;
      return this.fail(column, (error as Error).message);
    }
  }
}

const ms = (d: Date | null): number | null => (d === null ? null : d.getTime());

function dagFromRow(row: Row): DagRecord {
  const r = new RowReader("dags", String(row.dag_id), row);
  return {
    dagId: r.text("dag_id"),
    fileloc: r.text("fileloc"),
    spec: r.spec("spec"),
    hash: r.text("hash"),
    isPaused: r.bool("is_paused"),
    isActive: r.bool("is_active"),
    createdAt: r.date("created_at"),
    lastParsedAt: r.date("last_parsed_at"),
    nextLogicalDate: r.dateOrNull("next_logical_date"),
    nextRunAt: r.dateOrNull("next_run_at"),
  };
}

function runFromRow(row: Row): DagRunRecord {
  const r = new RowReader("dag_runs", `${String(row.dag_id)}/${String(row.run_id)}`, row);
  return {
    dagId: r.text("dag_id"),
    runId: r.text("run_id"),
    runType: r.oneOf<RunType>("run_type", RUN_TYPES),
    logicalDate: r.date("logical_date"),
    dataInterval: { start: r.date("interval_start"), end: r.date("interval_end") },
    state: r.oneOf<RunState>("state", isRunState),
    conf: r.jsonObject("conf"),
    createdAt: r.date("created_at"),
    startedAt: r.dateOrNull("started_at"),
    endedAt: r.dateOrNull("ended_at"),
  };
}

function taskFromRow(row: Row): TaskInstanceRecord {
  const key = `${String(row.dag_id)}/${String(row.run_id)}/${String(row.task_id)}`;
  const r = new RowReader("task_instances", key, row);
  return {
    dagId: r.text("dag_id"),
    runId: r.text("run_id"),
    taskId: r.text("task_id"),
    state: r.oneOf<TaskState>("state", isTaskState),
    tryNumber: r.int("try_number"),
    maxTries: r.int("max_tries"),
    pid: r.intOrNull("pid"),
    hostname: r.textOrNull("hostname"),
    queuedAt: r.dateOrNull("queued_at"),
    queuedBy: r.textOrNull("queued_by"),
    startedAt: r.dateOrNull("started_at"),
    endedAt: r.dateOrNull("ended_at"),
    nextRetryAt: r.dateOrNull("next_retry_at"),
    returnValue: row.return_value === null ? undefined : r.json("return_value"),
    error: r.textOrNull("error"),
    logPath: r.textOrNull("log_path"),
    setBy: r.textOrNull("set_by"),
    heartbeatAt: r.dateOrNull("heartbeat_at"),
    updatedAt: r.date("updated_at"),
  };
}

function tryFromRow(row: Row): TaskTryRecord {
  const key = `${String(row.dag_id)}/${String(row.run_id)}/${String(row.task_id)}#${String(row.try_number)}`;
  const r = new RowReader("task_tries", key, row);
  return {
    dagId: r.text("dag_id"),
    runId: r.text("run_id"),
    taskId: r.text("task_id"),
    tryNumber: r.int("try_number"),
    state: r.oneOf<TaskState>("state", isTaskState),
    pid: r.intOrNull("pid"),
    hostname: r.textOrNull("hostname"),
    startedAt: r.date("started_at"),
    endedAt: r.dateOrNull("ended_at"),
    error: r.textOrNull("error"),
    logPath: r.textOrNull("log_path"),
  };
}

function userFromRow(row: Row): UserRecord {
  const r = new RowReader("users", String(row.username), row);
  return {
    username: r.text("username"),
    passwordHash: r.text("password_hash"),
    role: r.oneOf<UserRole>("role", USER_ROLES),
    createdAt: r.date("created_at"),
    passwordChangedAt: r.dateOrNull("password_changed_at"),
  };
}

function jobFromRow(row: Row): SchedulerJobRecord {
  const r = new RowReader("scheduler_jobs", `${String(row.hostname)}:${String(row.pid)}`, row);
  return {
    hostname: r.text("hostname"),
    pid: r.int("pid"),
    startedAt: r.date("started_at"),
    latestHeartbeat: r.date("latest_heartbeat"),
    endedAt: r.dateOrNull("ended_at"),
    kind: r.oneOf<SchedulerKind>("kind", (v): v is SchedulerKind => v === "home" || v === "run"),
  };
}

/** Opens (creating it if needed) the database at `path` and brings its schema up to date. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(path, options);
}

/** The SQLite metadata store (see the module comment). */
export class SqliteStore implements MetadataStore {
  readonly kind = "sqlite";
  readonly db: Database.Database;
  private readonly now: () => Date;
  private readonly statements = new Map<string, Database.Statement>();
  private version: number;

  constructor(
    readonly path: string,
    options: SqliteStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
    } catch (error) {
      throw explainStoreError(error, path);
    }
    try {
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.round(options.busyTimeoutMs ?? 5000))}`);
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      this.db.pragma("foreign_keys = ON");
      this.version = this.migrate(options.migrateTo ?? LATEST_SCHEMA_VERSION);
    } catch (error) {
      this.db.close();
      throw explainStoreError(error, path);
    }
  }

  get schemaVersion(): number {
    return this.version;
  }

  /** Applies the missing migrations up to `target` in one transaction; returns the version reached. */
  private migrate(target: number): number {
    const run = this.db.transaction(() => {
      this.db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
        version     INTEGER PRIMARY KEY,
        description TEXT NOT NULL,
        applied_at  INTEGER NOT NULL
      )`);
      const row = this.db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as {
        v: number | null;
      };
      const current = row.v ?? 0;
      if (current > LATEST_SCHEMA_VERSION)
        throw new SchemaVersionError(this.path, current, LATEST_SCHEMA_VERSION);
      const insert = this.db.prepare(
        "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
      );
      for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
        if (m.version <= current || m.version > target) continue;
        this.db.exec(m.sql);
        insert.run(m.version, m.description, this.now().getTime());
      }
      const after = this.db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as {
        v: number | null;
      };
      return after.v ?? 0;
    });
    return run.immediate();
  }

  /** The migrations recorded in the database, oldest first. */
  appliedMigrations(): { version: number; description: string; appliedAt: Date }[] {
    return (
      this.db
        .prepare("SELECT version, description, applied_at FROM schema_version ORDER BY version")
        .all() as Row[]
    ).map((row) => {
      const r = new RowReader("schema_version", String(row.version), row);
      return {
        version: r.int("version"),
        description: r.text("description"),
        appliedAt: r.date("applied_at"),
      };
    });
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private write<T>(fn: () => T): T {
    // Nested calls (inside `atomically`) become savepoints of the outer transaction.
    try {
      return this.db.inTransaction ? this.db.transaction(fn)() : this.db.transaction(fn).immediate();
    } catch (error) {
      throw explainStoreError(error, this.path);
    }
  }

  atomically<T>(fn: () => T): T {
    return this.write(fn);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // --- DAGs ---

  upsertDag(spec: DagSpec, options: { parsedAt: Date; paused?: boolean }): UpsertDagResult {
    checkDate("parsedAt", options.parsedAt);
    const fileloc = spec.fileloc;
    if (fileloc === null)
      throw new StoreInputError(`DAG ${spec.id}`, "its spec has no fileloc", "store DAGs loaded from a file");
    const hash = specHash(spec);
    const json = toJSON(spec);
    return this.write(() => {
      const before = this.getDag(spec.id);
      const at = options.parsedAt.getTime();
      if (!before) {
        this.stmt(
          `INSERT INTO dags (dag_id, fileloc, spec, hash, is_paused, is_active, created_at, last_parsed_at)
           VALUES (?, ?, ?, ?, ?, 1, ?, ?)`,
        ).run(spec.id, fileloc, json, hash, options.paused === false ? 0 : 1, at, at);
      } else {
        this.stmt(
          `UPDATE dags SET fileloc = ?, spec = ?, hash = ?, is_active = 1, last_parsed_at = ? WHERE dag_id = ?`,
        ).run(fileloc, json, hash, at, spec.id);
      }
      const dag = this.getDag(spec.id) as DagRecord;
      return {
        dag,
        created: !before,
        changed: !before || before.hash !== hash || before.fileloc !== fileloc || !before.isActive,
      };
    });
  }

  getDag(dagId: string): DagRecord | undefined {
    const row = this.stmt("SELECT * FROM dags WHERE dag_id = ?").get(dagId) as Row | undefined;
    return row ? dagFromRow(row) : undefined;
  }

  listDags(options: { includeInactive?: boolean } = {}): DagRecord[] {
    const sql = options.includeInactive
      ? "SELECT * FROM dags ORDER BY dag_id"
      : "SELECT * FROM dags WHERE is_active = 1 ORDER BY dag_id";
    return (this.stmt(sql).all() as Row[]).map(dagFromRow);
  }

  setPaused(dagId: string, paused: boolean): void {
    const info = this.stmt("UPDATE dags SET is_paused = ? WHERE dag_id = ?").run(paused ? 1 : 0, dagId);
    if (info.changes === 0) throw new RecordNotFoundError("dag", dagId);
  }

  deactivateDags(fileloc: string, keep: readonly string[]): string[] {
    return this.write(() => {
      const ids = (
        this.stmt("SELECT dag_id FROM dags WHERE fileloc = ? AND is_active = 1 ORDER BY dag_id").all(
          fileloc,
        ) as { dag_id: string }[]
      )
        .map((r) => r.dag_id)
        .filter((id) => !keep.includes(id));
      const update = this.stmt("UPDATE dags SET is_active = 0 WHERE dag_id = ?");
      for (const id of ids) update.run(id);
      return ids;
    });
  }

  setNextRun(dagId: string, next: { logicalDate: Date | null; dueAt: Date | null }): void {
    const info = this.stmt("UPDATE dags SET next_logical_date = ?, next_run_at = ? WHERE dag_id = ?").run(
      ms(next.logicalDate),
      ms(next.dueAt),
      dagId,
    );
    if (info.changes === 0) throw new RecordNotFoundError("dag", dagId);
  }

  deleteDag(dagId: string): boolean {
    return this.stmt("DELETE FROM dags WHERE dag_id = ?").run(dagId).changes > 0;
  }

  // --- import errors ---

  setImportError(file: string, message: string, at: Date): void {
    checkDate("import error time", at);
    this.stmt(
      `INSERT INTO import_errors (file, message, at) VALUES (?, ?, ?)
       ON CONFLICT (file) DO UPDATE SET message = excluded.message, at = excluded.at`,
    ).run(file, message, at.getTime());
  }

  clearImportError(file: string): boolean {
    return this.stmt("DELETE FROM import_errors WHERE file = ?").run(file).changes > 0;
  }

  listImportErrors(): ImportErrorRecord[] {
    return (this.stmt("SELECT * FROM import_errors ORDER BY file").all() as Row[]).map((row) => {
      const r = new RowReader("import_errors", String(row.file), row);
      return { file: r.text("file"), message: r.text("message"), at: r.date("at") };
    });
  }

  // --- runs ---

  createRun(run: NewRun, createdAt: Date = this.now()): DagRunRecord {
    const conf = run.conf ?? {};
    checkRunId(run.runId);
    checkConf(`conf of run ${runKeyText(run)}`, conf);
    for (const d of [run.logicalDate, run.dataInterval.start, run.dataInterval.end, createdAt])
      checkDate(`run ${runKeyText(run)}`, d);
    const state = run.state ?? "queued";
    const instances = run.tasks.map((t) => newTaskInstance(run, t, createdAt));
    return this.write(() => {
      if (!this.stmt("SELECT 1 FROM dags WHERE dag_id = ?").get(run.dagId))
        throw new RecordNotFoundError("dag", run.dagId);
      if (this.stmt("SELECT 1 FROM dag_runs WHERE dag_id = ? AND run_id = ?").get(run.dagId, run.runId))
        throw new DuplicateRunError(run.dagId, run.runId, "run_id", run.logicalDate);
      if (
        run.runType === "scheduled" &&
        this.stmt(
          "SELECT 1 FROM dag_runs WHERE dag_id = ? AND logical_date = ? AND run_type = 'scheduled'",
        ).get(run.dagId, run.logicalDate.getTime())
      )
        throw new DuplicateRunError(run.dagId, run.runId, "scheduled_logical_date", run.logicalDate);
      // The unique index stays the last line of defence if the checks above were ever bypassed.
      this.stmt(
        `INSERT INTO dag_runs (dag_id, run_id, run_type, logical_date, interval_start, interval_end, state, conf,
                               created_at, started_at, ended_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
      ).run(
        run.dagId,
        run.runId,
        run.runType,
        run.logicalDate.getTime(),
        run.dataInterval.start.getTime(),
        run.dataInterval.end.getTime(),
        state,
        JSON.stringify(conf),
        createdAt.getTime(),
        state === "running" ? createdAt.getTime() : null,
      );
      this.insertTaskInstances(run, instances);
      return this.getRun(run) as DagRunRecord;
    });
  }

  private insertTaskInstances(run: RunKey, instances: readonly TaskInstanceRecord[]): number {
    const seq = this.stmt(
      "SELECT COALESCE(MAX(seq), 0) AS s FROM task_instances WHERE dag_id = ? AND run_id = ?",
    ).get(run.dagId, run.runId) as { s: number };
    const insert = this.stmt(
      `INSERT OR IGNORE INTO task_instances (dag_id, run_id, task_id, seq, state, try_number, max_tries, updated_at)
       VALUES (?, ?, ?, ?, ?, 0, ?, ?)`,
    );
    let added = 0;
    let next = seq.s;
    for (const ti of instances) {
      const info = insert.run(
        ti.dagId,
        ti.runId,
        ti.taskId,
        next + 1,
        ti.state,
        ti.maxTries,
        ti.updatedAt.getTime(),
      );
      if (info.changes > 0) {
        added++;
        next++;
      }
    }
    return added;
  }

  getRun(key: RunKey): DagRunRecord | undefined {
    const row = this.stmt("SELECT * FROM dag_runs WHERE dag_id = ? AND run_id = ?").get(
      key.dagId,
      key.runId,
    ) as Row | undefined;
    return row ? runFromRow(row) : undefined;
  }

  listRuns(filter: RunFilter = {}): DagRunRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.dagId !== undefined) {
      where.push("dag_id = ?");
      args.push(filter.dagId);
    }
    if (filter.runType !== undefined) {
      where.push("run_type = ?");
      args.push(filter.runType);
    }
    if (filter.states !== undefined) {
      where.push(`state IN (${filter.states.map(() => "?").join(", ") || "NULL"})`);
      args.push(...filter.states);
    }
    const order = filter.order === "oldest" ? "ASC" : "DESC";
    const limit = filter.limit === undefined ? "" : ` LIMIT ${Math.max(0, Math.floor(filter.limit))}`;
    const sql = `SELECT * FROM dag_runs${where.length ? ` WHERE ${where.join(" AND ")}` : ""}
                 ORDER BY logical_date ${order}, created_at ${order}, dag_id, run_id${limit}`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(runFromRow);
  }

  lastLogicalDate(dagId: string, runType: RunType = "scheduled"): Date | null {
    const row = this.stmt(
      "SELECT MAX(logical_date) AS d FROM dag_runs WHERE dag_id = ? AND run_type = ?",
    ).get(dagId, runType) as { d: number | null };
    return row.d === null ? null : new Date(row.d);
  }

  setRunState(key: RunKey, from: RunState, to: RunState, at: Date = this.now()): boolean {
    runTransition(from, to); // an illegal move is refused whatever the current state
    return this.write(() => {
      const current = this.getRun(key);
      if (!current) throw new RecordNotFoundError("run", runKeyText(key));
      if (current.state !== from) return false;
      const next = applyRunTransition(current, to, at);
      this.stmt(
        "UPDATE dag_runs SET state = ?, started_at = ?, ended_at = ? WHERE dag_id = ? AND run_id = ? AND state = ?",
      ).run(next.state, ms(next.startedAt), ms(next.endedAt), key.dagId, key.runId, from);
      return true;
    });
  }

  setRunStateByHand(key: RunKey, from: RunState, to: RunState): boolean {
    manualRunTransition(from, to);
    return this.write(() => {
      const current = this.getRun(key);
      if (!current) throw new RecordNotFoundError("run", runKeyText(key));
      if (current.state !== from) return false;
      const next = applyManualRunTransition(current, to);
      this.stmt(
        "UPDATE dag_runs SET state = ?, ended_at = ? WHERE dag_id = ? AND run_id = ? AND state = ?",
      ).run(next.state, ms(next.endedAt), key.dagId, key.runId, from);
      return true;
    });
  }

  // --- task instances ---

  addTaskInstances(key: RunKey, tasks: readonly NewTaskInstance[]): number {
    const now = this.now();
    const instances = tasks.map((t) => newTaskInstance(key, t, now));
    return this.write(() => {
      if (!this.getRun(key)) throw new RecordNotFoundError("run", runKeyText(key));
      return this.insertTaskInstances(key, instances);
    });
  }

  getTaskInstance(key: TaskInstanceKey): TaskInstanceRecord | undefined {
    const row = this.stmt("SELECT * FROM task_instances WHERE dag_id = ? AND run_id = ? AND task_id = ?").get(
      key.dagId,
      key.runId,
      key.taskId,
    ) as Row | undefined;
    return row ? taskFromRow(row) : undefined;
  }

  listTaskInstances(filter: TaskInstanceFilter = {}): TaskInstanceRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.dagId !== undefined) {
      where.push("dag_id = ?");
      args.push(filter.dagId);
    }
    if (filter.runId !== undefined) {
      where.push("run_id = ?");
      args.push(filter.runId);
    }
    if (filter.runIds !== undefined) {
      // One parameter whatever the number of runs: a JSON array unpacked by SQLite.
      where.push("run_id IN (SELECT value FROM json_each(?))");
      args.push(JSON.stringify(filter.runIds));
    }
    if (filter.states !== undefined) {
      where.push(`state IN (${filter.states.map(() => "?").join(", ") || "NULL"})`);
      args.push(...filter.states);
    }
    const sql = `SELECT * FROM task_instances${where.length ? ` WHERE ${where.join(" AND ")}` : ""}
                 ORDER BY dag_id, run_id, seq`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(taskFromRow);
  }

  setTaskState(
    key: TaskInstanceKey,
    from: TaskState,
    to: TaskState,
    fields: TaskStateFields = {},
    at: Date = this.now(),
  ): boolean {
    transition(from, to); // an illegal move is refused whatever the current state
    return this.writeTaskChange(key, from, (current) => applyTaskTransition(current, to, fields, at));
  }

  setTaskStateByHand(
    key: TaskInstanceKey,
    from: TaskState,
    to: TaskState,
    change: ManualChange,
    at: Date = this.now(),
  ): boolean {
    manualTransition(from, to);
    return this.writeTaskChange(key, from, (current) => applyManualTransition(current, to, change, at));
  }

  recordTaskHeartbeat(key: TaskInstanceKey, tryNumber: number, at: Date = this.now()): boolean {
    return this.write(
      () =>
        this.stmt(
          `UPDATE task_instances SET heartbeat_at = ?
           WHERE dag_id = ? AND run_id = ? AND task_id = ? AND state = 'running' AND try_number = ?`,
        ).run(at.getTime(), key.dagId, key.runId, key.taskId, tryNumber).changes === 1,
    );
  }

  /** Writes the change `build` makes of the task instance, if it is still in state `from` (compare-and-set). */
  private writeTaskChange(
    key: TaskInstanceKey,
    from: TaskState,
    build: (current: TaskInstanceRecord) => TaskChange,
  ): boolean {
    return this.write(() => {
      const current = this.getTaskInstance(key);
      if (!current) throw new RecordNotFoundError("task instance", taskKeyText(key));
      if (current.state !== from) return false;
      const { record: n, startedTry, endedTry } = build(current);
      const info = this.stmt(
        `UPDATE task_instances SET state = ?, try_number = ?, max_tries = ?, pid = ?, hostname = ?, queued_at = ?,
           queued_by = ?, started_at = ?, ended_at = ?, next_retry_at = ?, return_value = ?, error = ?, log_path = ?,
           set_by = ?, heartbeat_at = ?, updated_at = ?
         WHERE dag_id = ? AND run_id = ? AND task_id = ? AND state = ?`,
      ).run(
        n.state,
        n.tryNumber,
        n.maxTries,
        n.pid,
        n.hostname,
        ms(n.queuedAt),
        n.queuedBy,
        ms(n.startedAt),
        ms(n.endedAt),
        ms(n.nextRetryAt),
        n.returnValue === undefined ? null : JSON.stringify(n.returnValue),
        n.error,
        n.logPath,
        n.setBy,
        ms(n.heartbeatAt),
        n.updatedAt.getTime(),
        key.dagId,
        key.runId,
        key.taskId,
        from,
      );
      if (info.changes !== 1) return false;
      if (startedTry)
        this.stmt(
          `INSERT OR REPLACE INTO task_tries (dag_id, run_id, task_id, try_number, state, pid, hostname, started_at,
             ended_at, error, log_path)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)`,
        ).run(
          startedTry.dagId,
          startedTry.runId,
          startedTry.taskId,
          startedTry.tryNumber,
          startedTry.state,
          startedTry.pid,
          startedTry.hostname,
          startedTry.startedAt.getTime(),
          startedTry.logPath,
        );
      if (endedTry)
        this.stmt(
          `UPDATE task_tries SET state = ?, ended_at = ?, error = ?
           WHERE dag_id = ? AND run_id = ? AND task_id = ? AND try_number = ?`,
        ).run(
          endedTry.state,
          ms(endedTry.endedAt),
          endedTry.error,
          key.dagId,
          key.runId,
          key.taskId,
          endedTry.tryNumber,
        );
      return true;
    });
  }

  xcoms(key: RunKey): Record<string, Json> {
    const rows = this.stmt(
      `SELECT dag_id, run_id, task_id, return_value FROM task_instances
       WHERE dag_id = ? AND run_id = ? AND return_value IS NOT NULL ORDER BY seq`,
    ).all(key.dagId, key.runId) as Row[];
    const out: Record<string, Json> = {};
    for (const row of rows) {
      const r = new RowReader("task_instances", `${key.dagId}/${key.runId}/${String(row.task_id)}`, row);
      out[r.text("task_id")] = r.json("return_value");
    }
    return out;
  }

  listTries(key: TaskInstanceKey): TaskTryRecord[] {
    return (
      this.stmt(
        "SELECT * FROM task_tries WHERE dag_id = ? AND run_id = ? AND task_id = ? ORDER BY try_number",
      ).all(key.dagId, key.runId, key.taskId) as Row[]
    ).map(tryFromRow);
  }

  // --- users ---

  createUser(
    user: { username: string; passwordHash: string; role: UserRole },
    at: Date = this.now(),
  ): UserRecord {
    checkRole(user.role);
    return this.write(() => {
      if (this.getUser(user.username)) throw new DuplicateUserError(user.username);
      this.stmt("INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)").run(
        user.username,
        user.passwordHash,
        user.role,
        at.getTime(),
      );
      return this.getUser(user.username) as UserRecord;
    });
  }

  getUser(username: string): UserRecord | undefined {
    const row = this.stmt("SELECT * FROM users WHERE username = ?").get(username) as Row | undefined;
    return row ? userFromRow(row) : undefined;
  }

  listUsers(): UserRecord[] {
    return (this.stmt("SELECT * FROM users ORDER BY username").all() as Row[]).map(userFromRow);
  }

  deleteUser(username: string): boolean {
    return this.stmt("DELETE FROM users WHERE username = ?").run(username).changes > 0;
  }

  setUserPassword(username: string, passwordHash: string, at: Date = this.now()): boolean {
    return (
      this.stmt("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE username = ?").run(
        passwordHash,
        at.getTime(),
        username,
      ).changes > 0
    );
  }

  // --- scheduler jobs ---

  recordSchedulerHeartbeat(
    job: { hostname: string; pid: number; startedAt: Date; kind?: SchedulerKind },
    at: Date = this.now(),
    ended = false,
  ): void {
    this.stmt(
      `INSERT INTO scheduler_jobs (hostname, pid, started_at, latest_heartbeat, ended_at, kind)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (hostname, pid, started_at)
       DO UPDATE SET latest_heartbeat = excluded.latest_heartbeat, ended_at = excluded.ended_at`,
    ).run(
      job.hostname,
      job.pid,
      job.startedAt.getTime(),
      at.getTime(),
      ended ? at.getTime() : null,
      job.kind ?? "home",
    );
  }

  claimQueued(key: TaskInstanceKey, expected: string | null, queuedBy: string): boolean {
    return this.write(
      () =>
        this.stmt(
          `UPDATE task_instances SET queued_by = ?, updated_at = ?
           WHERE dag_id = ? AND run_id = ? AND task_id = ? AND state = 'queued' AND queued_by IS ?`,
        ).run(queuedBy, this.now().getTime(), key.dagId, key.runId, key.taskId, expected).changes === 1,
    );
  }

  listSchedulerJobs(limit = 10, kind?: SchedulerKind): SchedulerJobRecord[] {
    const rows =
      kind === undefined
        ? this.stmt("SELECT * FROM scheduler_jobs ORDER BY latest_heartbeat DESC LIMIT ?").all(limit)
        : this.stmt("SELECT * FROM scheduler_jobs WHERE kind = ? ORDER BY latest_heartbeat DESC LIMIT ?").all(
            kind,
            limit,
          );
    return (rows as Row[]).map(jobFromRow);
  }
}
