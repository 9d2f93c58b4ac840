/** What only the SQLite store does: migrations, several connections on one file, corrupt rows, db init/reset. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadConfig } from "../src/config.js";
import { SchemaVersionError, StoreDataError } from "../src/orchestration/store/errors.js";
import { dbInit, dbReset, openStore } from "../src/orchestration/store/index.js";
import { LATEST_SCHEMA_VERSION } from "../src/orchestration/store/migrations.js";
import { openSqliteStore } from "../src/orchestration/store/sqlite.js";
import { dagSpec, newRun } from "./helpers/store-fixtures.js";

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "windflow-sqlite-"));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const T0 = new Date("2026-03-01T10:00:00.000Z");

describe("SqliteStore", () => {
  test("WAL journal, foreign keys and busy timeout are on", () => {
    const store = openSqliteStore(join(tempDir(), "m.db"), { busyTimeoutMs: 1234 });
    try {
      assert.equal(store.db.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(store.db.pragma("foreign_keys", { simple: true }), 1);
      assert.equal(store.db.pragma("busy_timeout", { simple: true }), 1234);
      assert.equal(store.schemaVersion, LATEST_SCHEMA_VERSION);
      assert.deepEqual(
        store.appliedMigrations().map((m) => m.version),
        Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1),
      );
    } finally {
      store.close();
    }
  });

  test("an old database is migrated at open, keeping its data", () => {
    const path = join(tempDir(), "old.db");
    const old = openSqliteStore(path, { migrateTo: 1 });
    assert.equal(old.schemaVersion, 1);
    const spec = dagSpec("d");
    old.upsertDag(spec, { parsedAt: T0 });
    const run = old.createRun(newRun(spec, "2026-03-01T00:00:00Z", "scheduled"));
    const a = { dagId: "d", runId: run.runId, taskId: "a" };
    // A version 1 database has no task_tries table: write the claimed try as version 1 code did.
    old.db
      .prepare(
        "UPDATE task_instances SET state = 'running', try_number = 1, pid = 7, started_at = ? WHERE task_id = 'a'",
      )
      .run(T0.getTime());
    assert.equal(old.db.prepare("SELECT name FROM sqlite_master WHERE name = 'users'").get(), undefined);
    old.close();

    const store = openSqliteStore(path);
    try {
      assert.equal(store.schemaVersion, LATEST_SCHEMA_VERSION);
      assert.deepEqual(store.getDag("d")?.spec, spec);
      assert.equal(store.getRun(run)?.state, "queued");
      assert.deepEqual(
        store.listTries(a).map((t) => [t.tryNumber, t.state, t.pid]),
        [[1, "running", 7]],
        "the running try of version 1 is in the history",
      );
      store.createUser({ username: "ada", passwordHash: "h", role: "admin" });
      assert.equal(store.setTaskState(a, "running", "success", { returnValue: 1 }), true);
      assert.equal(store.listTries(a)[0]?.state, "success");
    } finally {
      store.close();
    }
  });

  test("a database from a newer windflow is refused", () => {
    const path = join(tempDir(), "new.db");
    const s = openSqliteStore(path);
    s.db
      .prepare("INSERT INTO schema_version (version, description, applied_at) VALUES (99, 'future', 0)")
      .run();
    s.close();
    assert.throws(() => openSqliteStore(path), SchemaVersionError);
  });

  test("two connections (as two processes): only one claim wins, each sees the other's writes", () => {
    const path = join(tempDir(), "shared.db");
    const s1 = openSqliteStore(path);
    const s2 = openSqliteStore(path);
    try {
      const spec = dagSpec("d");
      s1.upsertDag(spec, { parsedAt: T0 });
      const run = s1.createRun(newRun(spec, "2026-03-01T00:00:00Z", "scheduled"));
      assert.throws(() => s2.createRun(newRun(spec, "2026-03-01T00:00:00Z", "scheduled", "scheduled__x")));
      const a = { dagId: "d", runId: run.runId, taskId: "a" };
      s1.setTaskState(a, "none", "scheduled");
      s2.setTaskState(a, "scheduled", "queued");
      const wins = [
        s1.setTaskState(a, "queued", "running", { pid: 1 }),
        s2.setTaskState(a, "queued", "running", { pid: 2 }),
      ];
      assert.deepEqual(wins, [true, false]);
      assert.equal(s2.getTaskInstance(a)?.pid, 1);
    } finally {
      s1.close();
      s2.close();
    }
  });

  test("a corrupt row reads back as a StoreDataError naming the table, the record and the column", () => {
    const store = openSqliteStore(join(tempDir(), "corrupt.db"));
    try {
      const spec = dagSpec("d");
      store.upsertDag(spec, { parsedAt: T0 });
      const run = store.createRun(newRun(spec, "2026-03-01T00:00:00Z"));
      store.db.prepare("UPDATE dag_runs SET conf = '{not json' WHERE run_id = ?").run(run.runId);
      assert.throws(
        () => store.getRun(run),
        (e: unknown) =>
          e instanceof StoreDataError &&
          e.table === "dag_runs" &&
          e.column === "conf" &&
          e.key === `d/${run.runId}` &&
          /not JSON/.test(e.message),
      );
      store.db.prepare("UPDATE task_instances SET state = 'exploded' WHERE task_id = 'a'").run();
      assert.throws(
        () => store.getTaskInstance({ dagId: "d", runId: run.runId, taskId: "a" }),
        (e: unknown) => e instanceof StoreDataError && e.column === "state" && /exploded/.test(e.message),
      );
      store.db.prepare('UPDATE dags SET spec = \'{"format":"windflow.dag-spec/1","id":"d"}\'').run();
      assert.throws(
        () => store.getDag("d"),
        (e: unknown) => e instanceof StoreDataError && e.column === "spec" && /description/.test(e.message),
      );
    } finally {
      store.close();
    }
  });

  test("db init writes the config file and the database; idempotent; db reset empties the database", () => {
    const home = tempDir();
    const config = loadConfig({ env: { WINDFLOW_HOME: home } });
    const first = dbInit(config);
    assert.equal(first.configWritten, true);
    assert.equal(first.databaseCreated, true);
    assert.equal(first.schemaVersionBefore, 0);
    assert.equal(first.schemaVersion, LATEST_SCHEMA_VERSION);
    assert.equal(first.database, join(home, "windflow.db"));
    assert.match(readFileSync(join(home, "windflow.cfg"), "utf8"), /^dag_dir_list_interval = 30s$/m);

    const store = openStore(config);
    store.upsertDag(dagSpec("d"), { parsedAt: T0 });
    store.close();
    const second = dbInit(config);
    assert.equal(second.configWritten, false);
    assert.equal(second.databaseCreated, false);
    assert.equal(second.schemaVersionBefore, LATEST_SCHEMA_VERSION);

    const reset = dbReset(config);
    assert.equal(reset.databaseCreated, true);
    assert.ok(existsSync(join(home, "windflow.cfg")), "the config file is kept");
    const after = openStore(config);
    assert.deepEqual(after.listDags(), []);
    after.close();
  });
});
