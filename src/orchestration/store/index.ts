/**
 * The metadata store's entry points: open the configured store, and `db init` / `db reset`.
 * The interface and its records are in `store.ts`; implementations in `sqlite.ts` and `memory.ts`.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { type WindflowConfig, writeDefaultConfigFile } from "../../config.js";
import { LATEST_SCHEMA_VERSION } from "./migrations.js";
import { openSqliteStore, type SqliteStore } from "./sqlite.js";

export * from "./errors.js";
export { MemoryStore, type MemoryStoreOptions } from "./memory.js";
export { LATEST_SCHEMA_VERSION, MIGRATIONS, type Migration } from "./migrations.js";
export { runTasksOf, specHash } from "./records.js";
export { openSqliteStore, SqliteStore, type SqliteStoreOptions } from "./sqlite.js";
export * from "./store.js";

/** The configured store: the SQLite database at `[database] path`, its schema brought up to date. */
export function openStore(
  config: Pick<WindflowConfig, "database">,
  options: { now?: () => Date } = {},
): SqliteStore {
  return openSqliteStore(config.database.path, {
    busyTimeoutMs: config.database.busy_timeout,
    ...(options.now ? { now: options.now } : {}),
  });
}

/** What `db init` and `db reset` did. */
export interface DbInitResult {
  readonly home: string;
  readonly configFile: string;
  /** The config file did not exist and was written with the defaults. */
  readonly configWritten: boolean;
  readonly database: string;
  /** The database file did not exist. */
  readonly databaseCreated: boolean;
  /** Schema versions before and after (0 before: a new database). */
  readonly schemaVersionBefore: number;
  readonly schemaVersion: number;
}

/**
 * `windflow db init`: creates the home, writes `windflow.cfg` with the defaults if absent, and creates or
 * migrates the database. Idempotent: on an up-to-date home it changes nothing.
 */
export function dbInit(config: WindflowConfig): DbInitResult {
  mkdirSync(config.home, { recursive: true });
  const { path: configFile, written } = writeDefaultConfigFile(config);
  const database = config.database.path;
  const existed = existsSync(database);
  let before = 0;
  if (existed) {
    const probe = openSqliteStore(database, { busyTimeoutMs: config.database.busy_timeout, migrateTo: 0 });
    before = probe.schemaVersion;
    probe.close();
  }
  const store = openStore(config);
  const after = store.schemaVersion;
  store.close();
  return {
    home: config.home,
    configFile,
    configWritten: written,
    database,
    databaseCreated: !existed,
    schemaVersionBefore: before,
    schemaVersion: after,
  };
}

/**
 * `windflow db reset`: deletes the database (every DAG record, run, task instance, user) and creates an
 * empty one. Logs and the config file are kept. Stop the scheduler and the web server first: a process
 * holding the old file open would go on writing to a deleted file.
 */
export function dbReset(config: WindflowConfig): DbInitResult {
  const database = config.database.path;
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${database}${suffix}`, { force: true });
  return dbInit(config);
}

/** The schema version this windflow creates. */
export const SCHEMA_VERSION = LATEST_SCHEMA_VERSION;
