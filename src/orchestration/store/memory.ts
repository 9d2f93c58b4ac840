/**
 * `MemoryStore`: the metadata store in this process's memory, for tests and in-process tools. Same contract
 * as `SqliteStore` (one test suite runs against both): the same checks (`records.ts`), the same uniqueness
 * rules, copies in and out, and `atomically` rolls back on a throw.
 */
import {
  manualRunTransition,
  manualTransition,
  type RunState,
  runTransition,
  type TaskState,
  transition,
} from "../state.js";
import type { DagSpec, Json } from "../types.js";
import { DuplicateRunError, DuplicateUserError, RecordNotFoundError, StoreInputError } from "./errors.js";
import { LATEST_SCHEMA_VERSION } from "./migrations.js";
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
import type {
  DagRecord,
  DagRunRecord,
  ImportErrorRecord,
  ManualChange,
  MetadataStore,
  NewRun,
  NewTaskInstance,
  RunFilter,
  RunKey,
  RunType,
  SchedulerJobRecord,
  SchedulerKind,
  TaskInstanceFilter,
  TaskInstanceKey,
  TaskInstanceRecord,
  TaskStateFields,
  TaskTryRecord,
  UpsertDagResult,
  UserRecord,
  UserRole,
} from "./store.js";

/** Options of `MemoryStore`. */
export interface MemoryStoreOptions {
  /** The clock used for times the caller does not give. @default () => new Date() */
  now?: () => Date;
}

interface Data {
  dags: Map<string, DagRecord>;
  importErrors: Map<string, ImportErrorRecord>;
  /** By `dagId\0runId`, in creation order. */
  runs: Map<string, DagRunRecord>;
  /** By `dagId\0runId\0taskId`, in creation order. */
  tasks: Map<string, TaskInstanceRecord>;
  /** By task key, tries in order. */
  tries: Map<string, TaskTryRecord[]>;
  users: Map<string, UserRecord>;
  /** By `hostname\0pid\0startedAt`. */
  jobs: Map<string, SchedulerJobRecord>;
}

const runId = (k: RunKey) => `${k.dagId}\0${k.runId}`;
const taskId = (k: TaskInstanceKey) => `${k.dagId}\0${k.runId}\0${k.taskId}`;
const copy = <T>(value: T): T => structuredClone(value);

/** The in-memory metadata store (see the module comment). */
export class MemoryStore implements MetadataStore {
  readonly kind = "memory";
  readonly schemaVersion = LATEST_SCHEMA_VERSION;
  private data: Data = {
    dags: new Map(),
    importErrors: new Map(),
    runs: new Map(),
    tasks: new Map(),
    tries: new Map(),
    users: new Map(),
    jobs: new Map(),
  };
  private depth = 0;
  private closed = false;
  private readonly now: () => Date;

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? (() => new Date());
  }

  private live(): Data {
    if (this.closed) throw new StoreInputError("memory store", "is closed");
    return this.data;
  }

  atomically<T>(fn: () => T): T {
    const data = this.live();
    if (this.depth > 0) return fn();
    const snapshot = copy(data);
    this.depth++;
    try {
      return fn();
    } catch (error) {
      this.data = snapshot;
      throw error;
    } finally {
      this.depth--;
    }
  }

  close(): void {
    this.closed = true;
  }

  // --- DAGs ---

  upsertDag(spec: DagSpec, options: { parsedAt: Date; paused?: boolean }): UpsertDagResult {
    checkDate("parsedAt", options.parsedAt);
    const d = this.live();
    const fileloc = spec.fileloc;
    if (fileloc === null)
      throw new StoreInputError(`DAG ${spec.id}`, "its spec has no fileloc", "store DAGs loaded from a file");
    const hash = specHash(spec);
    const before = d.dags.get(spec.id);
    const record: DagRecord = {
      dagId: spec.id,
      fileloc,
      spec: copy(spec),
      hash,
      isPaused: before ? before.isPaused : options.paused !== false,
      isActive: true,
      createdAt: before ? before.createdAt : new Date(options.parsedAt),
      lastParsedAt: new Date(options.parsedAt),
      nextLogicalDate: before?.nextLogicalDate ?? null,
      nextRunAt: before?.nextRunAt ?? null,
    };
    d.dags.set(spec.id, record);
    return {
      dag: copy(record),
      created: !before,
      changed: !before || before.hash !== hash || before.fileloc !== fileloc || !before.isActive,
    };
  }

  getDag(dagId: string): DagRecord | undefined {
    const r = this.live().dags.get(dagId);
    return r ? copy(r) : undefined;
  }

  listDags(options: { includeInactive?: boolean } = {}): DagRecord[] {
    return [...this.live().dags.values()]
      .filter((r) => options.includeInactive || r.isActive)
      .sort((a, b) => (a.dagId < b.dagId ? -1 : a.dagId > b.dagId ? 1 : 0))
      .map(copy);
  }

  private updateDag(dagId: string, change: Partial<DagRecord>): void {
    const d = this.live();
    const r = d.dags.get(dagId);
    if (!r) throw new RecordNotFoundError("dag", dagId);
    d.dags.set(dagId, { ...r, ...change });
  }

  setPaused(dagId: string, paused: boolean): void {
    this.updateDag(dagId, { isPaused: paused });
  }

  deactivateDags(fileloc: string, keep: readonly string[]): string[] {
    const ids = this.listDags()
      .filter((r) => r.fileloc === fileloc && !keep.includes(r.dagId))
      .map((r) => r.dagId);
    for (const id of ids) this.updateDag(id, { isActive: false });
    return ids;
  }

  setNextRun(dagId: string, next: { logicalDate: Date | null; dueAt: Date | null }): void {
    this.updateDag(dagId, {
      nextLogicalDate: next.logicalDate && new Date(next.logicalDate),
      nextRunAt: next.dueAt && new Date(next.dueAt),
    });
  }

  deleteDag(dagId: string): boolean {
    const d = this.live();
    if (!d.dags.delete(dagId)) return false;
    for (const [k, r] of d.runs) if (r.dagId === dagId) d.runs.delete(k);
    for (const [k, r] of d.tasks) if (r.dagId === dagId) d.tasks.delete(k);
    for (const [k, tries] of d.tries) if (tries[0]?.dagId === dagId) d.tries.delete(k);
    return true;
  }

  // --- import errors ---

  setImportError(file: string, message: string, at: Date): void {
    checkDate("import error time", at);
    this.live().importErrors.set(file, { file, message, at: new Date(at) });
  }

  clearImportError(file: string): boolean {
    return this.live().importErrors.delete(file);
  }

  listImportErrors(): ImportErrorRecord[] {
    return [...this.live().importErrors.values()].sort((a, b) => (a.file < b.file ? -1 : 1)).map(copy);
  }

  // --- runs ---

  createRun(run: NewRun, createdAt: Date = this.now()): DagRunRecord {
    const d = this.live();
    const conf = run.conf ?? {};
    checkRunId(run.runId);
    checkConf(`conf of run ${runKeyText(run)}`, conf);
    for (const date of [run.logicalDate, run.dataInterval.start, run.dataInterval.end, createdAt])
      checkDate(`run ${runKeyText(run)}`, date);
    const instances = run.tasks.map((t) => newTaskInstance(run, t, createdAt));
    if (!d.dags.has(run.dagId)) throw new RecordNotFoundError("dag", run.dagId);
    if (d.runs.has(runId(run))) throw new DuplicateRunError(run.dagId, run.runId, "run_id", run.logicalDate);
    if (
      run.runType === "scheduled" &&
      [...d.runs.values()].some(
        (r) =>
          r.dagId === run.dagId &&
          r.runType === "scheduled" &&
          r.logicalDate.getTime() === run.logicalDate.getTime(),
      )
    )
      throw new DuplicateRunError(run.dagId, run.runId, "scheduled_logical_date", run.logicalDate);
    const record: DagRunRecord = {
      dagId: run.dagId,
      runId: run.runId,
      runType: run.runType,
      logicalDate: new Date(run.logicalDate),
      dataInterval: { start: new Date(run.dataInterval.start), end: new Date(run.dataInterval.end) },
      state: run.state ?? "queued",
      conf: copy(conf),
      createdAt: new Date(createdAt),
      startedAt: run.state === "running" ? new Date(createdAt) : null,
      endedAt: null,
    };
    d.runs.set(runId(run), record);
    for (const ti of instances) if (!d.tasks.has(taskId(ti))) d.tasks.set(taskId(ti), ti);
    return copy(record);
  }

  getRun(key: RunKey): DagRunRecord | undefined {
    const r = this.live().runs.get(runId(key));
    return r ? copy(r) : undefined;
  }

  listRuns(filter: RunFilter = {}): DagRunRecord[] {
    const sign = filter.order === "oldest" ? 1 : -1;
    const runs = [...this.live().runs.values()]
      .filter(
        (r) =>
          (filter.dagId === undefined || r.dagId === filter.dagId) &&
          (filter.runType === undefined || r.runType === filter.runType) &&
          (filter.states === undefined || filter.states.includes(r.state)),
      )
      .sort(
        (a, b) =>
          sign * (a.logicalDate.getTime() - b.logicalDate.getTime()) ||
          sign * (a.createdAt.getTime() - b.createdAt.getTime()) ||
          (a.dagId < b.dagId ? -1 : a.dagId > b.dagId ? 1 : 0) ||
          (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0),
      );
    return (filter.limit === undefined ? runs : runs.slice(0, Math.max(0, Math.floor(filter.limit)))).map(
      copy,
    );
  }

  lastLogicalDate(dagId: string, runType: RunType = "scheduled"): Date | null {
    let last: number | null = null;
    for (const r of this.live().runs.values())
      if (r.dagId === dagId && r.runType === runType && (last === null || r.logicalDate.getTime() > last))
        last = r.logicalDate.getTime();
    return last === null ? null : new Date(last);
  }

  setRunState(key: RunKey, from: RunState, to: RunState, at: Date = this.now()): boolean {
    runTransition(from, to);
    const d = this.live();
    const current = d.runs.get(runId(key));
    if (!current) throw new RecordNotFoundError("run", runKeyText(key));
    if (current.state !== from) return false;
    d.runs.set(runId(key), applyRunTransition(current, to, new Date(at)));
    return true;
  }

  setRunStateByHand(key: RunKey, from: RunState, to: RunState): boolean {
    manualRunTransition(from, to);
    const d = this.live();
    const current = d.runs.get(runId(key));
    if (!current) throw new RecordNotFoundError("run", runKeyText(key));
    if (current.state !== from) return false;
    d.runs.set(runId(key), applyManualRunTransition(current, to));
    return true;
  }

  // --- task instances ---

  addTaskInstances(key: RunKey, tasks: readonly NewTaskInstance[]): number {
    const d = this.live();
    const instances = tasks.map((t) => newTaskInstance(key, t, this.now()));
    if (!d.runs.has(runId(key))) throw new RecordNotFoundError("run", runKeyText(key));
    let added = 0;
    for (const ti of instances)
      if (!d.tasks.has(taskId(ti))) {
        d.tasks.set(taskId(ti), ti);
        added++;
      }
    return added;
  }

  getTaskInstance(key: TaskInstanceKey): TaskInstanceRecord | undefined {
    const r = this.live().tasks.get(taskId(key));
    return r ? copy(r) : undefined;
  }

  listTaskInstances(filter: TaskInstanceFilter = {}): TaskInstanceRecord[] {
    const all = [...this.live().tasks.values()].filter(
      (r) =>
        (filter.dagId === undefined || r.dagId === filter.dagId) &&
        (filter.runId === undefined || r.runId === filter.runId) &&
        (filter.runIds === undefined || filter.runIds.includes(r.runId)) &&
        (filter.states === undefined || filter.states.includes(r.state)),
    );
    // Stable sort by (dag, run): creation order within a run, as SQLite's seq.
    return all
      .map((r, i) => ({ r, i }))
      .sort(
        (a, b) =>
          (a.r.dagId < b.r.dagId ? -1 : a.r.dagId > b.r.dagId ? 1 : 0) ||
          (a.r.runId < b.r.runId ? -1 : a.r.runId > b.r.runId ? 1 : 0) ||
          a.i - b.i,
      )
      .map(({ r }) => copy(r));
  }

  setTaskState(
    key: TaskInstanceKey,
    from: TaskState,
    to: TaskState,
    fields: TaskStateFields = {},
    at: Date = this.now(),
  ): boolean {
    transition(from, to);
    return this.writeTaskChange(key, from, (current) =>
      applyTaskTransition(current, to, fields, new Date(at)),
    );
  }

  setTaskStateByHand(
    key: TaskInstanceKey,
    from: TaskState,
    to: TaskState,
    change: ManualChange,
    at: Date = this.now(),
  ): boolean {
    manualTransition(from, to);
    return this.writeTaskChange(key, from, (current) =>
      applyManualTransition(current, to, change, new Date(at)),
    );
  }

  recordTaskHeartbeat(key: TaskInstanceKey, tryNumber: number, at: Date = this.now()): boolean {
    const tasks = this.live().tasks;
    const ti = tasks.get(taskId(key));
    if (ti?.state !== "running" || ti.tryNumber !== tryNumber) return false;
    tasks.set(taskId(key), { ...ti, heartbeatAt: new Date(at) });
    return true;
  }

  private writeTaskChange(
    key: TaskInstanceKey,
    from: TaskState,
    build: (current: TaskInstanceRecord) => TaskChange,
  ): boolean {
    const d = this.live();
    const current = d.tasks.get(taskId(key));
    if (!current) throw new RecordNotFoundError("task instance", taskKeyText(key));
    if (current.state !== from) return false;
    const change = copy(build(current));
    const { record, startedTry, endedTry } = change;
    d.tasks.set(taskId(key), record);
    const tries = d.tries.get(taskId(key)) ?? [];
    if (startedTry) {
      const i = tries.findIndex((t) => t.tryNumber === startedTry.tryNumber);
      if (i >= 0) tries[i] = startedTry;
      else tries.push(startedTry);
    }
    if (endedTry) {
      const i = tries.findIndex((t) => t.tryNumber === endedTry.tryNumber);
      const t = tries[i];
      if (t) tries[i] = { ...t, ...endedTry };
    }
    d.tries.set(taskId(key), tries);
    return true;
  }

  xcoms(key: RunKey): Record<string, Json> {
    const out: Record<string, Json> = {};
    for (const r of this.listTaskInstances(key))
      if (r.returnValue !== undefined) out[r.taskId] = r.returnValue;
    return out;
  }

  listTries(key: TaskInstanceKey): TaskTryRecord[] {
    return (this.live().tries.get(taskId(key)) ?? []).map(copy);
  }

  // --- users ---

  createUser(
    user: { username: string; passwordHash: string; role: UserRole },
    at: Date = this.now(),
  ): UserRecord {
    checkRole(user.role);
    const d = this.live();
    if (d.users.has(user.username)) throw new DuplicateUserError(user.username);
    const record: UserRecord = {
      username: user.username,
      passwordHash: user.passwordHash,
      role: user.role,
      createdAt: new Date(at),
      passwordChangedAt: null,
    };
    d.users.set(user.username, record);
    return copy(record);
  }

  getUser(username: string): UserRecord | undefined {
    const r = this.live().users.get(username);
    return r ? copy(r) : undefined;
  }

  listUsers(): UserRecord[] {
    return [...this.live().users.values()].sort((a, b) => (a.username < b.username ? -1 : 1)).map(copy);
  }

  deleteUser(username: string): boolean {
    return this.live().users.delete(username);
  }

  setUserPassword(username: string, passwordHash: string, at: Date = this.now()): boolean {
    const d = this.live();
    const user = d.users.get(username);
    if (!user) return false;
    d.users.set(username, { ...user, passwordHash, passwordChangedAt: new Date(at) });
    return true;
  }

  // --- scheduler jobs ---

  recordSchedulerHeartbeat(
    job: { hostname: string; pid: number; startedAt: Date; kind?: SchedulerKind },
    at: Date = this.now(),
    ended = false,
  ): void {
    const key = `${job.hostname}\0${job.pid}\0${job.startedAt.getTime()}`;
    const before = this.live().jobs.get(key);
    this.live().jobs.set(key, {
      hostname: job.hostname,
      pid: job.pid,
      startedAt: new Date(job.startedAt),
      latestHeartbeat: new Date(at),
      endedAt: ended ? new Date(at) : null,
      // As SQLite: the kind is the one of the first heartbeat.
      kind: before?.kind ?? job.kind ?? "home",
    });
  }

  claimQueued(key: TaskInstanceKey, expected: string | null, queuedBy: string): boolean {
    const tasks = this.live().tasks;
    const ti = tasks.get(taskId(key));
    if (ti?.state !== "queued" || ti.queuedBy !== expected) return false;
    tasks.set(taskId(key), { ...ti, queuedBy, updatedAt: this.now() });
    return true;
  }

  listSchedulerJobs(limit = 10, kind?: SchedulerKind): SchedulerJobRecord[] {
    return [...this.live().jobs.values()]
      .filter((j) => kind === undefined || j.kind === kind)
      .sort((a, b) => b.latestHeartbeat.getTime() - a.latestHeartbeat.getTime())
      .slice(0, limit)
      .map(copy);
  }
}
