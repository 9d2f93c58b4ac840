/**
 * The SQLite schema, as numbered migrations. A database records the versions applied in `schema_version`;
 * opening it applies the missing ones in order, in one transaction (all or none), so that a database made by
 * an older windflow is brought up to date and a crash mid-migration leaves it as it was.
 *
 * Never edit a migration that has shipped: add the next one. Times are INTEGER milliseconds since the epoch
 * (UTC); JSON columns hold text that the store validates when it reads it back.
 */

/** One step of the schema. */
export interface Migration {
  /** 1, 2, 3...: applied in this order, each once. */
  readonly version: number;
  /** What it does, one line (stored in `schema_version`). */
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "DAGs, import errors, runs, task instances",
    sql: `
      CREATE TABLE dags (
        dag_id            TEXT PRIMARY KEY,
        fileloc           TEXT NOT NULL,
        spec              TEXT NOT NULL,               -- toJSON(spec), validated when read
        hash              TEXT NOT NULL,               -- sha256 of spec
        is_paused         INTEGER NOT NULL DEFAULT 1,  -- new DAGs are paused
        is_active         INTEGER NOT NULL DEFAULT 1,  -- 0: its file no longer defines it
        created_at        INTEGER NOT NULL,
        last_parsed_at    INTEGER NOT NULL,
        next_logical_date INTEGER,
        next_run_at       INTEGER
      );
      CREATE INDEX dags_fileloc ON dags (fileloc);

      CREATE TABLE import_errors (
        file    TEXT PRIMARY KEY,                      -- one error per file: the latest
        message TEXT NOT NULL,
        at      INTEGER NOT NULL
      );

      CREATE TABLE dag_runs (
        dag_id         TEXT NOT NULL REFERENCES dags (dag_id) ON DELETE CASCADE,
        run_id         TEXT NOT NULL,
        run_type       TEXT NOT NULL,                  -- scheduled | manual
        logical_date   INTEGER NOT NULL,
        interval_start INTEGER NOT NULL,
        interval_end   INTEGER NOT NULL,
        state          TEXT NOT NULL,
        conf           TEXT NOT NULL DEFAULT '{}',
        created_at     INTEGER NOT NULL,
        started_at     INTEGER,
        ended_at       INTEGER,
        PRIMARY KEY (dag_id, run_id)
      );
      -- A restarted scheduler can never create a second scheduled run for a logical date.
      CREATE UNIQUE INDEX dag_runs_scheduled_date ON dag_runs (dag_id, logical_date)
        WHERE run_type = 'scheduled';
      CREATE INDEX dag_runs_state ON dag_runs (state);

      CREATE TABLE task_instances (
        dag_id        TEXT NOT NULL,
        run_id        TEXT NOT NULL,
        task_id       TEXT NOT NULL,
        seq           INTEGER NOT NULL,                -- creation order within the run
        state         TEXT NOT NULL,
        try_number    INTEGER NOT NULL DEFAULT 0,
        max_tries     INTEGER NOT NULL,
        pid           INTEGER,
        hostname      TEXT,
        queued_at     INTEGER,
        started_at    INTEGER,
        ended_at      INTEGER,
        next_retry_at INTEGER,
        return_value  TEXT,                            -- JSON; NULL: no value
        error         TEXT,
        log_path      TEXT,
        updated_at    INTEGER NOT NULL,
        PRIMARY KEY (dag_id, run_id, task_id),
        FOREIGN KEY (dag_id, run_id) REFERENCES dag_runs (dag_id, run_id) ON DELETE CASCADE
      );
      CREATE INDEX task_instances_state ON task_instances (state);
    `,
  },
  {
    version: 2,
    description: "history of tries; users of the web UI",
    sql: `
      CREATE TABLE task_tries (
        dag_id     TEXT NOT NULL,
        run_id     TEXT NOT NULL,
        task_id    TEXT NOT NULL,
        try_number INTEGER NOT NULL,
        state      TEXT NOT NULL,
        pid        INTEGER,
        hostname   TEXT,
        started_at INTEGER NOT NULL,
        ended_at   INTEGER,
        error      TEXT,
        log_path   TEXT,
        PRIMARY KEY (dag_id, run_id, task_id, try_number),
        FOREIGN KEY (dag_id, run_id, task_id) REFERENCES task_instances (dag_id, run_id, task_id)
          ON DELETE CASCADE
      );
      -- Tries already started in a version 1 database.
      INSERT INTO task_tries (dag_id, run_id, task_id, try_number, state, pid, hostname, started_at, ended_at,
                              error, log_path)
        SELECT dag_id, run_id, task_id, try_number, state, pid, hostname, started_at, ended_at, error, log_path
        FROM task_instances WHERE try_number > 0 AND started_at IS NOT NULL;

      CREATE TABLE users (
        username      TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL,
        created_at    INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    description: "scheduler heartbeats; when a user's password was last changed",
    sql: `
      CREATE TABLE scheduler_jobs (
        hostname         TEXT NOT NULL,
        pid              INTEGER NOT NULL,
        started_at       INTEGER NOT NULL,
        latest_heartbeat INTEGER NOT NULL,
        ended_at         INTEGER,                      -- set when it stopped cleanly
        PRIMARY KEY (hostname, pid, started_at)
      );
      ALTER TABLE users ADD COLUMN password_changed_at INTEGER;
    `,
  },
  {
    version: 4,
    description: "which scheduler queued each task instance; schedulers of the home and of one run",
    sql: `
      -- The job (hostname:pid:started_at) of the scheduler that queued it: only a dead scheduler's work is adopted.
      ALTER TABLE task_instances ADD COLUMN queued_by TEXT;
      -- home: a scheduler of the home (windflow scheduler, standalone); run: one for a single run (dags trigger
      -- --wait, runInEngine), which the UI's "scheduler running" badge does not count.
      ALTER TABLE scheduler_jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'home';
    `,
  },
  {
    version: 5,
    description: "who set a task instance's state by hand; task heartbeats",
    sql: `
      -- The user whose action (clear, mark success / failed, stop) set the current state; NULL: the engine did.
      -- A scheduler kills the process of a try whose state was set by hand.
      ALTER TABLE task_instances ADD COLUMN set_by TEXT;
      -- The latest sign of life of the running try's process (recorded by the scheduler that watches it).
      ALTER TABLE task_instances ADD COLUMN heartbeat_at INTEGER;
    `,
  },
];

/** The version a database has once every migration is applied. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);
