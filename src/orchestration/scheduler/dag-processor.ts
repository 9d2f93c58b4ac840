/**
 * The DAG processor: keeps the store's DAG records in step with the DAGs folder, without ever importing a
 * DAG file in the scheduler's own process (Airflow's rule: the scheduler runs no user code).
 *
 * - **Which files**: `listDagFiles([core] dags_folder)`, listed at start, on every change the folder's
 *   `fs.watch` reports (debounced), and every `[scheduler] dag_dir_list_interval` (a safety net: watching is
 *   not reliable on every file system, e.g. network mounts). A file is parsed when it is new or its size,
 *   mtime or inode changed; an unchanged file is not parsed again (a DAG whose imports changed is re-read
 *   when its own file changes, or at the next scheduler start).
 * - **How**: each file in its own child process (`parse-process.ts`), at most `concurrency` at once, killed
 *   past `[scheduler] dag_file_processor_timeout`. The child sends back the specs' JSON or the import error;
 *   the parent validates the JSON (`fromJSON`) before anything reaches the store. Each result is reported as
 *   soon as its file is done, so a slow file does not hold the others back; and a file still parsing after
 *   `slowMs` gives up its slot (up to `concurrency + SLOW_EXTRA` children), so a file that loops at import
 *   delays nobody while it waits for its timeout.
 * - **What is recorded** (`applyProcessorResults`, called by the scheduler's loop): the DAGs of a file that
 *   loads are upserted (a new DAG starts paused: the store's rule) and its import error cleared; DAGs the file
 *   no longer defines, and DAGs of files that are gone, are deactivated (kept with their history); a file that
 *   fails gets its import error (message and hint), and its DAGs keep their last good spec, as in Airflow
 *   (their tasks then fail when the task process cannot load the file, which says why in the try's log). A
 *   DAG id already defined by another existing file is an import error of the second file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, type FSWatcher, statSync, watch } from "node:fs";
import { availableParallelism } from "node:os";
import type { Environment, WindflowConfig } from "../../config.js";
import { nodeEntryCommand } from "../../util/node-entry.js";
import { dagFolders, listDagFiles } from "../loader.js";
import type { MetadataStore } from "../store/store.js";
import type { DagSpec } from "../types.js";
import { fromJSON } from "../validate.js";
import { type SchedulerLogger, SILENT } from "./log.js";
import type { ParseMessage } from "./parse-process.js";

/** What the processor reports, in the order it happened. */
export type ProcessorResult =
  /** The folder was listed: these are its DAG files now (DAGs of other files are deactivated). */
  | { readonly kind: "listed"; readonly files: readonly string[] }
  /** A file loaded: the DAGs it defines, validated. */
  | {
      readonly kind: "parsed";
      readonly file: string;
      readonly specs: readonly DagSpec[];
      readonly durationMs: number;
    }
  /** A file did not load (syntax, threw, invalid DAG, timeout, crash): why. */
  | { readonly kind: "failed"; readonly file: string; readonly message: string; readonly durationMs: number };

/** Options of `DagProcessor`. */
export interface DagProcessorOptions {
  /** The DAGs folder (`[core] dags_folder`). */
  folder: string;
  /** Folders also read, not watched (windflow's examples with `[core] load_examples`). @default [] */
  extraFolders?: readonly string[];
  /** `[scheduler] dag_file_processor_timeout`, in ms. */
  timeoutMs: number;
  /** `[scheduler] dag_dir_list_interval`, in ms; 0: no periodic listing. */
  listIntervalMs: number;
  /** Files parsed at once. @default 2 */
  concurrency?: number;
  /**
   * A file still parsing after this long gives up its slot to the next file (it keeps running until it ends or
   * times out). @default min(timeoutMs / 4, 5000)
   */
  slowMs?: number;
  /** Watch the folder for changes. @default true */
  watch?: boolean;
  /** The child program before its FILE argument. @default `defaultParseCommand()` */
  command?: readonly string[];
  /** The children's environment. @default process.env */
  env?: Environment;
  /** The children's working folder. @default process.cwd() */
  cwd?: string;
  log?: SchedulerLogger;
  /** Called when results are ready for `take()` (the scheduler wakes up). */
  onResult?: () => void;
}

/** This Node on `parse-process`, through tsx when running from the sources (as `defaultTaskCommand`). */
export function defaultParseCommand(): string[] {
  return nodeEntryCommand(__filename, "parse-process");
}

interface Tracked {
  /** size, mtime and inode when last queued. */
  signature: string;
  parsing: boolean;
  /** Changed again while being parsed: parse once more when done. */
  dirty: boolean;
}

const STDERR_TAIL = 4000;
/** After a parse child exits without its report: how long the report may still arrive (see parse). */
const EXIT_GRACE_MS = 10_000;
/** Children past `slowMs` allowed beyond the concurrency (a bound, should many files hang at once). */
const SLOW_EXTRA = 4;

/** Parses DAG files in child processes and reports what changed (see the module comment). */
export class DagProcessor {
  private readonly options: DagProcessorOptions;
  private readonly log: SchedulerLogger;
  private readonly command: readonly string[];
  private readonly files = new Map<string, Tracked>();
  private readonly queue: string[] = [];
  private readonly children = new Map<string, ChildProcess>();
  /** Children running past `slowMs`: they no longer hold a slot. */
  private readonly slow = new Set<string>();
  private results: ProcessorResult[] = [];
  private idleWaiters: (() => void)[] = [];
  private watcher: FSWatcher | undefined;
  private interval: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: DagProcessorOptions) {
    this.options = options;
    this.log = options.log ?? SILENT;
    this.command = options.command ?? defaultParseCommand();
  }

  /** Lists the folder now, then on changes and every `listIntervalMs`. */
  start(): void {
    this.scan();
    if (this.options.listIntervalMs > 0)
      this.interval = setInterval(() => this.scan(), this.options.listIntervalMs).unref();
  }

  /** Parses or children running or waiting. */
  get busy(): boolean {
    return this.queue.length > 0 || this.children.size > 0;
  }

  /** Resolves once no parse is waiting or running. */
  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The results since the last call, oldest first. */
  take(): ProcessorResult[] {
    return this.results.splice(0);
  }

  /**
   * Lists the folder: queues new and changed files, forgets the files that are gone (stopping their parse),
   * and reports the listing.
   */
  scan(): void {
    if (this.closed) return;
    this.ensureWatching();
    const listed = [this.options.folder, ...(this.options.extraFolders ?? [])].flatMap(listDagFiles);
    const present = new Set(listed);
    for (const file of [...this.files.keys()]) {
      if (present.has(file)) continue;
      this.files.delete(file);
      const child = this.children.get(file);
      if (child) killGroup(child, "SIGKILL");
      this.slow.delete(file);
      const queued = this.queue.indexOf(file);
      if (queued >= 0) this.queue.splice(queued, 1);
      this.log.info(`DAG file gone: ${file}`);
    }
    for (const file of listed) {
      let signature: string;
      try {
        const s = statSync(file);
        signature = `${s.size}:${s.mtimeMs}:${s.ino}`;
      } catch {
        continue; // removed between the listing and the stat: the next scan sees it gone
      }
      const tracked = this.files.get(file);
      if (tracked?.signature === signature) continue;
      if (tracked) this.log.info(`DAG file changed: ${file}`);
      this.files.set(file, {
        signature,
        parsing: tracked?.parsing ?? false,
        dirty: tracked?.parsing ?? false,
      });
      if (!tracked?.parsing && !this.queue.includes(file)) this.queue.push(file);
    }
    this.results.push({ kind: "listed", files: listed });
    this.pump();
    this.options.onResult?.();
  }

  /** Stops watching and kills the children still parsing. */
  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.interval);
    clearTimeout(this.debounce);
    for (const child of this.children.values()) killGroup(child, "SIGKILL");
    this.children.clear();
    this.slow.clear();
    this.queue.splice(0);
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private ensureWatching(): void {
    if (this.watcher || this.options.watch === false || !existsSync(this.options.folder)) return;
    try {
      this.watcher = watch(this.options.folder, { persistent: false }, () => {
        // Editors write a file in several steps (truncate, write, rename): list once they are done.
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => this.scan(), 100).unref();
      });
      this.watcher.on("error", () => {
        // The folder was removed: the periodic listing takes over and watches it again when it is back.
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (error) {
      this.log.warn(
        `cannot watch ${this.options.folder} (${(error as Error).message}): listing it every interval`,
      );
    }
  }

  private pump(): void {
    const max = Math.max(1, this.options.concurrency ?? 2);
    while (
      !this.closed &&
      this.children.size - this.slow.size < max &&
      this.children.size < max + SLOW_EXTRA &&
      this.queue.length > 0
    ) {
      const file = this.queue.shift() as string;
      const tracked = this.files.get(file);
      if (!tracked) continue;
      tracked.parsing = true;
      tracked.dirty = false;
      this.parse(file);
    }
    if (!this.busy) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private parse(file: string): void {
    const began = performance.now();
    const [program, ...args] = this.command;
    let message: ParseMessage | undefined;
    let stderr = "";
    let done = false;
    const child = spawn(program as string, [...args, file], {
      cwd: this.options.cwd ?? process.cwd(),
      env: this.options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      // Its own process group: a DAG file that starts processes at import time loses them all on a timeout.
      detached: true,
    });
    this.children.set(file, child);
    child.stdout?.resume();
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_TAIL);
    });
    let exited: (() => void) | undefined;
    child.on("message", (m) => {
      message = m as ParseMessage;
      exited?.(); // the report came in after the exit (see below)
    });
    const timer = setTimeout(() => {
      if (done) return;
      this.log.warn(`DAG file ${file}: parsing past ${this.options.timeoutMs} ms: killing its processor`);
      killGroup(child, "SIGKILL");
      finish({
        ok: false,
        file,
        message: `${file}: parsing took longer than [scheduler] dag_file_processor_timeout (${this.options.timeoutMs} ms): stopped`,
        hint: "the top level of a DAG file must only declare the DAG: move slow work (reading data, the network) into tasks",
      });
    }, this.options.timeoutMs);
    const slowTimer = setTimeout(
      () => {
        if (done || this.children.get(file) !== child) return;
        this.slow.add(file);
        this.log.debug(`DAG file ${file}: still parsing: its slot goes to the next file`);
        this.pump();
      },
      this.options.slowMs ?? Math.min(this.options.timeoutMs / 4, 5000),
    );
    const finish = (m: ParseMessage) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(slowTimer);
      if (this.children.get(file) === child) {
        this.children.delete(file);
        this.slow.delete(file);
      }
      this.finished(file, m, performance.now() - began);
    };
    child.once("error", (error) =>
      finish({
        ok: false,
        file,
        message: `${file}: could not start the DAG file processor: ${error.message}`,
      }),
    );
    child.once("exit", (code, signal) => {
      if (message) return finish(message);
      // Node may emit 'exit' before the last IPC message of the child is read (a busy machine: seen in a stress
      // run as "exited with code 0 before reporting" for a good file): the report is awaited until the IPC
      // channel closes ('disconnect', after what it carried is read), or EXIT_GRACE_MS at most (a process the
      // DAG file started may hold the channel open).
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const fail = () => {
        clearTimeout(grace);
        if (message) return finish(message);
        const tail = stderr.trim().split("\n").slice(-5).join("\n");
        finish({
          ok: false,
          file,
          message: `${file}: the DAG file processor ${how} before reporting${tail ? `:\n${tail}` : ""}`,
          hint: "a DAG file that exits the process or crashes Node at import time cannot be loaded",
        });
      };
      const grace = setTimeout(fail, EXIT_GRACE_MS);
      exited = fail;
      if (child.connected) child.once("disconnect", fail);
      else setImmediate(fail);
    });
  }

  private finished(file: string, message: ParseMessage, durationMs: number): void {
    const tracked = this.files.get(file);
    if (this.closed || !tracked) {
      this.pump(); // gone meanwhile: its result means nothing
      return;
    }
    tracked.parsing = false;
    if (tracked.dirty) {
      tracked.dirty = false;
      this.queue.push(file);
    } else {
      this.results.push(toResult(file, message, durationMs));
      this.log.debug(`DAG file ${file} parsed in ${Math.round(durationMs)} ms`);
    }
    this.pump();
    this.options.onResult?.();
  }
}

/** The child's message as a result, its specs validated (a spec that does not validate fails the file). */
function toResult(file: string, message: ParseMessage, durationMs: number): ProcessorResult {
  if (!message.ok) {
    const text = message.hint ? `${message.message}\nhint: ${message.hint}` : message.message;
    return { kind: "failed", file, message: text, durationMs };
  }
  try {
    return { kind: "parsed", file, specs: message.specs.map((json) => fromJSON(json)), durationMs };
  } catch (error) {
    return { kind: "failed", file, message: `${file}: ${(error as Error).message}`, durationMs };
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // gone
    }
  }
}

/** What applying results changed in the store. */
export interface ApplySummary {
  /** DAGs recorded for the first time (paused). */
  readonly added: string[];
  /** DAGs whose spec or file changed (or that came back). */
  readonly changed: string[];
  readonly deactivated: string[];
  /** Files with a new import error. */
  readonly errors: { readonly file: string; readonly message: string }[];
  /** Files whose import error was cleared. */
  readonly cleared: string[];
}

/** Records processor results in the store (see the module comment); logs each change. */
export function applyProcessorResults(
  store: MetadataStore,
  results: readonly ProcessorResult[],
  now: Date,
  log: SchedulerLogger = SILENT,
): ApplySummary {
  const summary: ApplySummary = { added: [], changed: [], deactivated: [], errors: [], cleared: [] };
  for (const result of results) {
    if (result.kind === "listed") {
      const present = new Set(result.files);
      for (const dag of store.listDags()) {
        if (present.has(dag.fileloc)) continue;
        for (const id of store.deactivateDags(dag.fileloc, [])) {
          summary.deactivated.push(id);
          log.info(`DAG ${id} deactivated: its file ${dag.fileloc} is gone`);
        }
      }
      for (const error of store.listImportErrors())
        if (!present.has(error.file) && store.clearImportError(error.file)) summary.cleared.push(error.file);
      continue;
    }
    if (result.kind === "failed") {
      store.setImportError(result.file, result.message, now);
      summary.errors.push({ file: result.file, message: result.message });
      log.error(`import error in ${result.file}: ${result.message}`);
      continue;
    }
    const kept: string[] = [];
    const conflicts: string[] = [];
    for (const spec of result.specs) {
      const existing = store.getDag(spec.id);
      if (existing?.isActive && existing.fileloc !== result.file && existsSync(existing.fileloc)) {
        conflicts.push(`DAG id "${spec.id}" is defined in ${existing.fileloc} already`);
        continue;
      }
      const { created, changed } = store.upsertDag(spec, { parsedAt: now });
      kept.push(spec.id);
      if (created) {
        summary.added.push(spec.id);
        log.info(`DAG ${spec.id} added from ${result.file} (paused: \`windflow dags unpause ${spec.id}\`)`);
      } else if (changed) {
        summary.changed.push(spec.id);
        log.info(`DAG ${spec.id} updated from ${result.file}`);
      }
    }
    for (const id of store.deactivateDags(result.file, kept)) {
      summary.deactivated.push(id);
      log.info(`DAG ${id} deactivated: ${result.file} no longer defines it`);
    }
    if (conflicts.length > 0) {
      const message = `${result.file}: ${conflicts.join("; ")}`;
      store.setImportError(result.file, `${message}\nhint: give each DAG its own id`, now);
      summary.errors.push({ file: result.file, message });
      log.error(`import error in ${result.file}: ${message}`);
    } else if (store.clearImportError(result.file)) {
      summary.cleared.push(result.file);
      log.info(`import error cleared: ${result.file}`);
    }
  }
  return summary;
}

/** Options of `parseDagFolder`. */
export interface ParseFolderOptions {
  log?: SchedulerLogger;
  /** The child program (see `DagProcessorOptions.command`). */
  command?: readonly string[];
  /** Stop as soon as a result satisfies this (the children still parsing are killed). */
  stopWhen?: (result: ProcessorResult) => boolean;
  /** Files parsed at once. @default the machine's cores */
  concurrency?: number;
}

/**
 * Parses every configured DAG file once, each in a child process bounded by `[scheduler]
 * dag_file_processor_timeout`, as the scheduler does: a file that exits the process, crashes or loops at import
 * is a failed result naming it, never the caller's end. The results, listing first.
 */
export async function parseDagFolder(
  config: Pick<WindflowConfig, "core" | "scheduler" | "env" | "home" | "root">,
  options: ParseFolderOptions = {},
): Promise<ProcessorResult[]> {
  const results: ProcessorResult[] = [];
  let stop: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const processor: DagProcessor = new DagProcessor({
    folder: config.core.dags_folder,
    extraFolders: dagFolders(config).slice(1),
    timeoutMs: config.scheduler.dag_file_processor_timeout,
    listIntervalMs: 0,
    watch: false,
    concurrency: options.concurrency ?? Math.max(2, availableParallelism()),
    env: { ...config.env, WINDFLOW_HOME: config.home },
    cwd: config.root,
    onResult: () => {
      for (const r of processor.take()) {
        results.push(r);
        if (options.stopWhen?.(r)) stop?.();
      }
    },
    ...(options.log ? { log: options.log } : {}),
    ...(options.command ? { command: options.command } : {}),
  });
  try {
    processor.scan();
    await Promise.race([processor.whenIdle(), stopped]);
    results.push(...processor.take());
    return results;
  } finally {
    processor.close();
  }
}

/**
 * Parses every file of the DAGs folder once (`parseDagFolder`) and records the result: what `windflow dags
 * trigger` / `pause` do when the DAG is not in the store yet, and what tests use.
 */
export async function syncDagFolder(
  config: Pick<WindflowConfig, "core" | "scheduler" | "env" | "home" | "root">,
  store: MetadataStore,
  options: { log?: SchedulerLogger; now?: () => Date; command?: readonly string[] } = {},
): Promise<ApplySummary> {
  const results = await parseDagFolder(config, {
    ...(options.log ? { log: options.log } : {}),
    ...(options.command ? { command: options.command } : {}),
  });
  return applyProcessorResults(store, results, (options.now ?? (() => new Date()))(), options.log);
}
