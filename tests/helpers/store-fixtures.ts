/** Stores to run the contract suite against, and small records to fill them with. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStore } from "../../src/orchestration/store/memory.js";
import { runTasksOf } from "../../src/orchestration/store/records.js";
import { openSqliteStore } from "../../src/orchestration/store/sqlite.js";
import type { MetadataStore, NewRun, RunType } from "../../src/orchestration/store/store.js";
import type { DagSpec } from "../../src/orchestration/types.js";
import { type Row, specOf } from "./orchestration-specs.js";

/** A store under test and how to dispose of it. */
export interface StoreUnderTest {
  store: MetadataStore;
  /** Closes the store and removes its files. */
  dispose(): void;
}

/** One implementation of `MetadataStore`: its name and a factory of empty stores. */
export interface StoreImplementation {
  name: string;
  make(options?: { now?: () => Date }): StoreUnderTest;
}

/** Every implementation: the contract suite runs against each. */
export const STORE_IMPLEMENTATIONS: readonly StoreImplementation[] = [
  {
    name: "MemoryStore",
    make: (options = {}) => {
      const store = new MemoryStore(options);
      return { store, dispose: () => store.close() };
    },
  },
  {
    name: "SqliteStore",
    make: (options = {}) => {
      const dir = mkdtempSync(join(tmpdir(), "windflow-store-"));
      const store = openSqliteStore(join(dir, "windflow.db"), options);
      return {
        store,
        dispose: () => {
          store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

/** A valid DAG spec located in `/dags/<id>.ts`. */
export function dagSpec(
  id: string,
  rows: readonly Row[] = [["a"], ["b", ["a"]]],
  extra: Partial<DagSpec> = {},
) {
  return specOf(rows, { id, fileloc: `/dags/${id}.ts`, ...extra });
}

/** A run of `spec` for `logicalDate` with every task of the spec. */
export function newRun(
  spec: DagSpec,
  logicalDate: string,
  runType: RunType = "manual",
  runId?: string,
): NewRun {
  const date = new Date(logicalDate);
  const stamp = date.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return {
    dagId: spec.id,
    runId: runId ?? `${runType}__${stamp}`,
    runType,
    logicalDate: date,
    dataInterval: { start: date, end: date },
    tasks: runTasksOf(spec),
  };
}
