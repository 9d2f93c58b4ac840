/**
 * Runs notebooks headless through a real Jupyter server and kernel, like papermill or nbmake do for Python:
 * the code runs exactly as it does when a trainee presses "Run all" in JupyterLab (same kernel, same type
 * checking, same working folder), so a green run means the notebook works for them.
 *
 * tslab specifics this module is built around (measured with tslab 1.0.22):
 * - the value of a cell's last expression arrives as a `stdout` stream, not as `execute_result`;
 * - a failing cell (type error or exception) answers `execute_reply` with status `error` but no
 *   ename/evalue/traceback: the message is only on `stderr`, so the failure message is taken from there;
 * - for ~200 ms after an error, tslab answers new requests with status `abort`: the run stops at the first
 *   failing cell anyway, and every notebook gets a fresh kernel;
 * - tslab type-checks with rootDir = the kernel's working folder, so the kernel must start in the notebook's
 *   folder (a session whose path is the notebook's, relative to the server's root) for `import ... from
 *   "windflow"` and relative imports to resolve.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { Kernel, KernelMessage, Session, SessionManager } from "@jupyterlab/services";
import { WindflowError } from "../errors.js";

let jupyterServices: typeof import("@jupyterlab/services") | undefined;

/**
 * `@jupyterlab/services`, required when first used (as `tfjs()` in model/tf.ts): importing `windflow` does not
 * load the Jupyter client. Kept after the first call, so the per-message type guards cost no module look-up.
 */
function services(): typeof import("@jupyterlab/services") {
  jupyterServices ??= require("@jupyterlab/services") as typeof import("@jupyterlab/services");
  return jupyterServices;
}

import { writeFileAtomicSync } from "../util/atomic.js";
import { withDeadline } from "../util/deadline.js";
import { findProjectRoot } from "./jupyter-env.js";
import { type JupyterServer, type StartJupyterServerOptions, startJupyterServer } from "./server.js";

// ---------------------------------------------------------------------------------------------------------
// nbformat 4, the subset a runner reads and writes. Unknown fields are kept as they are.

export type MultilineString = string | string[];
export type JsonObject = Record<string, unknown>;

export interface StreamOutput {
  output_type: "stream";
  name: "stdout" | "stderr";
  text: MultilineString;
}
export interface DisplayDataOutput {
  output_type: "display_data";
  data: JsonObject;
  metadata: JsonObject;
}
export interface ExecuteResultOutput {
  output_type: "execute_result";
  execution_count: number | null;
  data: JsonObject;
  metadata: JsonObject;
}
export interface ErrorOutput {
  output_type: "error";
  ename: string;
  evalue: string;
  traceback: string[];
}
export type NotebookOutput = StreamOutput | DisplayDataOutput | ExecuteResultOutput | ErrorOutput;

export interface CodeCell {
  cell_type: "code";
  id?: string;
  source: MultilineString;
  metadata: JsonObject;
  outputs: NotebookOutput[];
  execution_count: number | null;
}
export interface TextCell {
  cell_type: "markdown" | "raw";
  id?: string;
  source: MultilineString;
  metadata: JsonObject;
}
export type NotebookCell = CodeCell | TextCell;

export interface Notebook {
  nbformat: 4;
  nbformat_minor: number;
  metadata: JsonObject;
  cells: NotebookCell[];
}

// ---------------------------------------------------------------------------------------------------------
// Results

/** What happened to one code cell. `not-run`: an earlier cell failed; `empty`: nothing to run. */
export type CellStatus = "ok" | "error" | "timeout" | "not-run" | "empty";

export interface CellResult {
  /** 1-based position among all cells, markdown included: the number a trainee counts in JupyterLab. */
  cellIndex: number;
  /** 1-based position among code cells. */
  codeCell: number;
  status: CellStatus;
  executionCount: number | null;
  durationMs: number;
  outputs: NotebookOutput[];
}

export interface NotebookFailure {
  /** 1-based among all cells. */
  cellIndex: number;
  /** 1-based among code cells. */
  codeCell: number;
  /** `error`: the cell failed (type error or exception); `timeout`; `kernel`: the kernel died or aborted. */
  reason: "error" | "timeout" | "kernel";
  /** The kernel's stderr / error text, with tslab's and Node's internal stack frames removed. */
  message: string;
}

export interface NotebookRunResult {
  /** The notebook's absolute path. */
  path: string;
  ok: boolean;
  /** One entry per code cell, in order. */
  cells: CellResult[];
  failure?: NotebookFailure;
  /** The executed notebook (outputs, execution counts); cells after a failure have no outputs. */
  notebook: Notebook;
  /** Time from asking for a kernel to its first kernel_info reply. */
  kernelStartMs: number;
  durationMs: number;
}

export type CellEvent =
  | { kind: "start"; path: string; cellIndex: number; codeCell: number; codeCells: number; source: string }
  | { kind: "end"; path: string; result: CellResult };

export interface RunNotebookOptions {
  /** A running server's base URL; without it, a server is started for this run and stopped afterwards. */
  serverUrl?: string;
  token?: string;
  /**
   * The server's root folder (sessions' paths are relative to it, which decides the kernel's working
   * folder); default: the project root, which is what `startJupyterServer` uses by default.
   */
  serverRootDir?: string;
  /** Per code cell; default 300 s (nbmake's default). */
  timeoutMs?: number;
  /**
   * How long the server may take to start the kernel (to answer the session request, then for the kernel to answer
   * its first kernel_info request: each a hang guard); default 180 s.
   */
  kernelStartTimeoutMs?: number;
  /** How long the server may take to confirm a kernel's shutdown before the run goes on (a hang guard); default 30 s. */
  shutdownTimeoutMs?: number;
  kernelName?: string;
  onCell?: (event: CellEvent) => void;
  /** Where to write the executed notebook (atomically), failed runs included. */
  outputPath?: string;
  /** The project root, when this run starts its own server. */
  root?: string;
}

const DEFAULT_CELL_TIMEOUT_MS = 300_000;

// ---------------------------------------------------------------------------------------------------------
// Reading and writing notebooks

/** Reads and validates an nbformat 4 notebook; every problem names the file and the fix. */
export function readNotebook(path: string): Notebook {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new WindflowError(`cannot read notebook ${path}: ${(error as Error).message}`, {
      hint: "Check the path; notebooks live in the project's notebooks/ folder.",
      cause: error,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new WindflowError(`${path} is not a notebook: invalid JSON (${(error as Error).message})`, {
      hint: "Open it in JupyterLab and save it again, or restore it with git.",
      cause: error,
    });
  }
  return parseNotebook(raw, path);
}

/** Validates the shape of an already-parsed notebook (see `readNotebook`). */
export function parseNotebook(raw: unknown, file: string): Notebook {
  const bad = (detail: string): WindflowError =>
    new WindflowError(`${file} is not a valid nbformat 4 notebook: ${detail}`, {
      hint: "Open it in JupyterLab and save it again (File > Save Notebook), or restore it with git.",
    });
  if (!isObject(raw)) throw bad("the top level is not a JSON object");
  if (raw.nbformat !== 4) throw bad(`nbformat is ${JSON.stringify(raw.nbformat)}, expected 4`);
  const minor = raw.nbformat_minor;
  if (typeof minor !== "number") throw bad("nbformat_minor is missing");
  const metadata = raw.metadata ?? {};
  if (!isObject(metadata)) throw bad("metadata is not an object");
  if (!Array.isArray(raw.cells)) throw bad("cells is not an array");
  const cells = raw.cells.map((cell: unknown, i): NotebookCell => {
    const where = `cell ${i + 1}`;
    if (!isObject(cell)) throw bad(`${where} is not an object`);
    const source = cell.source;
    if (
      !(typeof source === "string" || (Array.isArray(source) && source.every((s) => typeof s === "string")))
    ) {
      throw bad(`${where}: source must be a string or a list of strings`);
    }
    const cellMetadata = cell.metadata ?? {};
    if (!isObject(cellMetadata)) throw bad(`${where}: metadata is not an object`);
    const type = cell.cell_type;
    if (type === "markdown" || type === "raw") {
      return { ...cell, cell_type: type, source, metadata: cellMetadata };
    }
    if (type !== "code")
      throw bad(`${where}: cell_type ${JSON.stringify(type)} is not code, markdown or raw`);
    const outputs = cell.outputs ?? [];
    if (!Array.isArray(outputs)) throw bad(`${where}: outputs is not a list`);
    const count = cell.execution_count ?? null;
    if (count !== null && typeof count !== "number") throw bad(`${where}: execution_count is not a number`);
    // Outputs are only carried over, never read: a shallow check is enough.
    if (!outputs.every((o: unknown) => isObject(o) && typeof o.output_type === "string")) {
      throw bad(`${where}: an output has no output_type`);
    }
    return {
      ...cell,
      cell_type: "code",
      source,
      metadata: cellMetadata,
      outputs: outputs as NotebookOutput[],
      execution_count: count,
    };
  });
  return { ...raw, nbformat: 4, nbformat_minor: minor, metadata, cells };
}

/** Writes a notebook atomically, formatted like Jupyter does (1-space indent, trailing newline). */
export function writeNotebook(path: string, notebook: Notebook): void {
  writeFileAtomicSync(path, `${JSON.stringify(notebook, null, 1)}\n`);
}

export function cellSource(cell: NotebookCell): string {
  return typeof cell.source === "string" ? cell.source : cell.source.join("");
}

// ---------------------------------------------------------------------------------------------------------
// Running

/**
 * Runs one notebook on a fresh kernel and returns what happened; a failing cell is a result (`ok: false`),
 * not an exception. Exceptions are for set-up problems: unreadable notebook, no server, no kernel.
 */
export async function runNotebook(
  path: string,
  options: RunNotebookOptions = {},
): Promise<NotebookRunResult> {
  const started = Date.now();
  const absPath = resolve(path);
  const notebook = structuredClone(readNotebook(absPath));
  const timeoutMs = options.timeoutMs ?? DEFAULT_CELL_TIMEOUT_MS;
  const result = await withKernel(absPath, options, async ({ kernel, death, info, kernelStartMs }) => {
    notebook.metadata.language_info = info.language_info;
    const { cells, failure } = await executeCells(notebook, kernel, death, absPath, timeoutMs, options);
    return {
      path: absPath,
      ok: failure === undefined,
      cells,
      ...(failure === undefined ? {} : { failure }),
      notebook,
      kernelStartMs,
      durationMs: Date.now() - started,
    };
  });
  if (options.outputPath !== undefined) writeNotebook(options.outputPath, notebook);
  return result;
}

/**
 * Starts a server (unless given one), a kernel for code living at `path`, runs `1 + 1` and returns what the
 * kernel printed: the end-to-end check `windflow doctor` uses.
 */
export async function probeKernel(root: string, options: RunNotebookOptions = {}): Promise<string> {
  return withKernel(
    join(resolve(root), "doctor-probe.ipynb"),
    { root, ...options },
    async ({ kernel, death }) => {
      const run = await executeCell(kernel, "1 + 1", death, options.timeoutMs ?? 120_000);
      if (run.failure !== undefined) {
        throw new WindflowError(`the tslab kernel could not run \`1 + 1\`: ${run.failure.message}`, {
          hint: "Run `make install`, then `windflow doctor` again.",
        });
      }
      return run.outputs.map((o) => (o.output_type === "stream" ? joinText(o.text) : "")).join("");
    },
  );
}

interface KernelContext {
  kernel: Kernel.IKernelConnection;
  death: Promise<"died">;
  info: KernelMessage.IInfoReply;
  kernelStartMs: number;
}

/**
 * Runs `fn` with a fresh kernel whose working folder is `path`'s folder, and always shuts the kernel down
 * (and the server, when this call started one) afterwards, whatever `fn` does.
 */
async function withKernel<T>(
  path: string,
  options: RunNotebookOptions,
  fn: (context: KernelContext) => Promise<T>,
): Promise<T> {
  if (options.serverUrl === undefined) {
    const server = await startJupyterServer(options.root === undefined ? {} : { root: options.root });
    try {
      return await withKernel(path, withServer(options, server), fn);
    } finally {
      await server.stop();
    }
  }
  const serverRootDir = resolve(options.serverRootDir ?? options.root ?? findProjectRoot());
  const relDir = relative(serverRootDir, dirname(path));
  if (relDir.startsWith("..") || isAbsolute(relDir)) {
    throw new WindflowError(`${path} is outside the Jupyter server's root folder ${serverRootDir}`, {
      hint: "Put the notebook inside the project (tslab resolves `windflow` from the project's node_modules).",
    });
  }
  const kernelName = options.kernelName ?? "tslab";
  // Required here, not at the top: @jupyterlab/services takes 0.1-0.6 s to load, and every `windflow` import
  // paid it (a DAG file's task, the DAG processor).
  const { KernelManager, ServerConnection, SessionManager } = services();
  // Every request of this run can be abandoned once the run is over: a request the server never answers (waited for
  // up to a guard below) must not keep the caller's process alive.
  const requests = new AbortController();
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: options.serverUrl,
    ...(options.token === undefined ? {} : { token: options.token }),
    fetch: (input: RequestInfo | URL, init?: RequestInit) =>
      fetch(input, {
        ...init,
        signal: init?.signal ? AbortSignal.any([init.signal, requests.signal]) : requests.signal,
      }),
  });
  const unmute = muteServicesDebug();
  const kernelManager = new KernelManager({ serverSettings });
  const sessionManager = new SessionManager({ serverSettings, kernelManager });
  const release = (): void => {
    sessionManager.dispose();
    kernelManager.dispose();
    requests.abort();
    unmute();
  };
  let session: Session.ISessionConnection | undefined;
  let death: ReturnType<typeof watchDeath> | undefined;
  let lateStart: Promise<Session.ISessionConnection> | undefined;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  try {
    const kernelStarted = Date.now();
    const startTimeoutMs = options.kernelStartTimeoutMs ?? 180_000;
    // The server answers the session request once it has started the kernel's process: bounded by the same guard
    // as the kernel's first answer, so that a server that never answers is an error naming the step, not a hang.
    const starting = startSession(sessionManager, relDir, path, kernelName);
    const started = await withDeadline(starting, startTimeoutMs);
    if (started === "timeout") {
      // The error below is what the caller needs now; the kernel a late answer brings is shut down after it.
      lateStart = starting;
      throw new WindflowError(
        `the Jupyter server did not answer the request for a ${kernelName} kernel for ${path} within ${startTimeoutMs} ms`,
        {
          hint: `Check that the server at ${options.serverUrl} is up and not overloaded (its own output says what it is doing); \`windflow doctor\` starts a kernel end to end.`,
        },
      );
    }
    session = started;
    const kernel = session.kernel;
    if (kernel === null) {
      throw new WindflowError(`the server started no kernel for ${path}`, {
        hint: "Check the server log; `make install` repairs the kernelspec and the .venv.",
      });
    }
    death = watchDeath(kernel);
    const info = await raceWith(kernel.info, death.promise, startTimeoutMs);
    if (info === "timeout" || info === "died") {
      throw new WindflowError(
        `the ${kernelName} kernel for ${path} ${info === "died" ? "died while starting" : `did not answer its first kernel_info request within ${startTimeoutMs} ms`}`,
        { hint: "Run `npm install` (tslab and zeromq) and check .jupyter/data/kernels/tslab/kernel.json." },
      );
    }
    return await fn({ kernel, death: death.promise, info, kernelStartMs: Date.now() - kernelStarted });
  } finally {
    death?.dispose();
    await shutdownQuietly(session, shutdownTimeoutMs);
    if (lateStart === undefined) release();
    else void shutdownLate(lateStart, shutdownTimeoutMs).finally(release);
  }
}

/**
 * The session a start request brings after its guard (the caller has its error already): waited for, bounded, and
 * shut down, with the managers that made it alive until then (disposing them would fail the late start's own
 * bookkeeping, and the session's id with it).
 */
async function shutdownLate(starting: Promise<Session.ISessionConnection>, timeoutMs: number): Promise<void> {
  const late = await withDeadline(
    starting.catch(() => undefined),
    timeoutMs,
  );
  if (late !== "timeout") await shutdownQuietly(late, timeoutMs);
}

export interface RunNotebooksOptions extends Omit<RunNotebookOptions, "outputPath"> {
  /** Options for the server started when no `serverUrl` is given. */
  server?: StartJupyterServerOptions;
  /** Stop after the first notebook that fails; default false (run them all, like a test runner). */
  bail?: boolean;
  /** Where to write each executed notebook (atomically); return `undefined` to write none. */
  outputFor?: (path: string) => string | undefined;
}

/**
 * Runs notebooks one after the other, each on a fresh kernel, on one server: started here (and stopped in a
 * `finally`) unless `serverUrl` is given. A failing notebook is a result, not an exception.
 */
export async function runNotebooks(
  paths: readonly string[],
  options: RunNotebooksOptions = {},
): Promise<NotebookRunResult[]> {
  const { server: serverOptions, bail, outputFor, ...runOptions } = options;
  if (runOptions.serverUrl === undefined) {
    const server = await startJupyterServer({
      ...serverOptions,
      ...(runOptions.root === undefined ? {} : { root: runOptions.root }),
    });
    try {
      return await runNotebooks(paths, { ...options, ...withServer(runOptions, server) });
    } finally {
      await server.stop();
    }
  }
  const results: NotebookRunResult[] = [];
  for (const path of paths) {
    const outputPath = outputFor?.(path);
    const result = await runNotebook(
      path,
      outputPath === undefined ? runOptions : { ...runOptions, outputPath },
    );
    results.push(result);
    if (bail && !result.ok) break;
  }
  return results;
}

function withServer(options: RunNotebookOptions, server: JupyterServer): RunNotebookOptions {
  return { ...options, serverUrl: server.url, token: server.token, serverRootDir: server.rootDir };
}

/**
 * Jupyter reuses an existing session when one has the same path: with the plain notebook path, a run
 * against a JupyterLab where the trainee has that notebook open would execute in, then shut down, the
 * trainee's kernel. A unique path in the same folder gives a fresh kernel with the same working folder
 * (the server starts kernels in the path's parent folder).
 */
async function startSession(
  sessionManager: SessionManager,
  relDir: string,
  absPath: string,
  kernelName: string,
): Promise<Session.ISessionConnection> {
  const dir = relDir.split(sep).filter(Boolean).join("/");
  const unique = `${basename(absPath)}.windflow-run-${randomBytes(4).toString("hex")}`;
  try {
    return await sessionManager.startNew({
      path: dir ? `${dir}/${unique}` : unique,
      name: basename(absPath),
      type: "notebook",
      kernel: { name: kernelName },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new WindflowError(`could not start a ${kernelName} kernel for ${absPath}: ${message}`, {
      hint:
        kernelName === "tslab"
          ? "Start the server with startJupyterServer (it writes the tslab kernelspec), or run `make install`."
          : `Install the ${kernelName} kernelspec into the project's .jupyter/data/kernels.`,
      cause: error,
    });
  }
}

async function executeCells(
  notebook: Notebook,
  kernel: Kernel.IKernelConnection,
  death: Promise<"died">,
  path: string,
  timeoutMs: number,
  options: RunNotebookOptions,
): Promise<{ cells: CellResult[]; failure?: NotebookFailure }> {
  const codeCells = notebook.cells.filter((c) => c.cell_type === "code").length;
  const cells: CellResult[] = [];
  let failure: NotebookFailure | undefined;
  let codeCell = 0;
  for (const [i, cell] of notebook.cells.entries()) {
    if (cell.cell_type !== "code") continue;
    codeCell += 1;
    const cellIndex = i + 1;
    const code = cellSource(cell);
    const base = { cellIndex, codeCell };
    if (failure !== undefined || code.trim() === "") {
      // Stale outputs of cells that did not run would be mistaken for this run's.
      cell.outputs = [];
      cell.execution_count = null;
      cells.push({
        ...base,
        status: failure ? "not-run" : "empty",
        executionCount: null,
        durationMs: 0,
        outputs: [],
      });
      continue;
    }
    options.onCell?.({ kind: "start", path, cellIndex, codeCell, codeCells, source: code });
    const started = Date.now();
    const run = await executeCell(kernel, code, death, timeoutMs);
    cell.outputs = run.outputs;
    cell.execution_count = run.executionCount;
    const result: CellResult = {
      ...base,
      status: run.status,
      executionCount: run.executionCount,
      durationMs: Date.now() - started,
      outputs: run.outputs,
    };
    cells.push(result);
    options.onCell?.({ kind: "end", path, result });
    if (run.failure !== undefined) failure = { ...base, ...run.failure };
  }
  return failure === undefined ? { cells } : { cells, failure };
}

interface CellRun {
  status: "ok" | "error" | "timeout";
  executionCount: number | null;
  outputs: NotebookOutput[];
  failure?: { reason: NotebookFailure["reason"]; message: string };
}

async function executeCell(
  kernel: Kernel.IKernelConnection,
  code: string,
  death: Promise<"died">,
  timeoutMs: number,
): Promise<CellRun> {
  const collector = new OutputCollector();
  const future = kernel.requestExecute({
    code,
    silent: false,
    store_history: true,
    allow_stdin: false,
    stop_on_error: true,
  });
  future.onIOPub = (msg) => collector.add(msg);
  // `done` rejects when the kernel restarts under the request (its futures are cancelled).
  const done = future.done.then(
    (reply) => reply,
    () => "died" as const,
  );
  const outcome = await raceWith(done, death, timeoutMs);
  if (outcome === "timeout") {
    // tslab runs cells with breakOnSigint: an interrupt stops even a busy loop; keep its stderr.
    await kernel.interrupt().catch(() => undefined);
    await raceWith(done, death, 5_000);
    future.dispose();
    return {
      status: "timeout",
      executionCount: null,
      outputs: collector.outputs,
      failure: {
        reason: "timeout",
        message: `the cell did not finish within ${timeoutMs} ms and was interrupted${suffix(collector.errorText())}`,
      },
    };
  }
  if (outcome === "died") {
    future.dispose();
    return {
      status: "error",
      executionCount: null,
      outputs: collector.outputs,
      failure: {
        reason: "kernel",
        message: `the kernel died while running the cell (a process.exit() or a native crash?)${suffix(collector.errorText())}`,
      },
    };
  }
  const content = outcome.content;
  const executionCount = "execution_count" in content ? content.execution_count : null;
  collector.setExecutionCount(executionCount);
  if (content.status === "ok") return { status: "ok", executionCount, outputs: collector.outputs };
  if (content.status === "error") {
    const replyText = content.ename ? `${content.ename}: ${content.evalue}` : "";
    const message =
      collector.errorText() || cleanMessage(replyText) || "the kernel reported an error without a message";
    return {
      status: "error",
      executionCount,
      outputs: collector.outputs,
      failure: { reason: "error", message },
    };
  }
  return {
    status: "error",
    executionCount,
    outputs: collector.outputs,
    failure: {
      reason: "kernel",
      message: `the kernel aborted the cell (status ${content.status}): an earlier request failed`,
    },
  };
}

function suffix(text: string): string {
  return text ? `:\n${text}` : "";
}

/**
 * Builds nbformat outputs from iopub messages the way JupyterLab's output area does: consecutive stream
 * chunks of the same name are merged, `clear_output` (with `wait`) and `update_display_data` are honoured.
 */
class OutputCollector {
  readonly outputs: NotebookOutput[] = [];
  private clearPending = false;
  private readonly displays = new Map<string, Array<DisplayDataOutput | ExecuteResultOutput>>();

  add(msg: KernelMessage.IIOPubMessage): void {
    if (services().KernelMessage.isClearOutputMsg(msg)) {
      if (msg.content.wait) this.clearPending = true;
      else this.clear();
      return;
    }
    if (services().KernelMessage.isUpdateDisplayDataMsg(msg)) {
      for (const output of this.displays.get(msg.content.transient.display_id) ?? []) {
        output.data = { ...msg.content.data };
        output.metadata = { ...msg.content.metadata };
      }
      return;
    }
    const output = toOutput(msg);
    if (output === undefined) return;
    if (this.clearPending) {
      this.clear();
      this.clearPending = false;
    }
    const last = this.outputs.at(-1);
    if (output.output_type === "stream" && last?.output_type === "stream" && last.name === output.name) {
      last.text = joinText(last.text) + joinText(output.text);
      return;
    }
    this.outputs.push(output);
    const displayId = displayIdOf(msg);
    if (
      displayId !== undefined &&
      (output.output_type === "display_data" || output.output_type === "execute_result")
    ) {
      this.displays.set(displayId, [...(this.displays.get(displayId) ?? []), output]);
    }
  }

  setExecutionCount(count: number | null): void {
    for (const output of this.outputs) {
      if (output.output_type === "execute_result") output.execution_count ??= count;
    }
  }

  /** The failure text: stderr plus any error output, cleaned of kernel-internal stack frames. */
  errorText(): string {
    const parts: string[] = [];
    for (const output of this.outputs) {
      if (output.output_type === "stream" && output.name === "stderr") parts.push(joinText(output.text));
      if (output.output_type === "error") {
        parts.push(
          output.traceback.length > 0 ? output.traceback.join("\n") : `${output.ename}: ${output.evalue}`,
        );
      }
    }
    return cleanMessage(parts.join("\n"));
  }

  private clear(): void {
    this.outputs.length = 0;
    this.displays.clear();
  }
}

function toOutput(msg: KernelMessage.IIOPubMessage): NotebookOutput | undefined {
  if (services().KernelMessage.isStreamMsg(msg)) {
    return { output_type: "stream", name: msg.content.name, text: msg.content.text };
  }
  if (services().KernelMessage.isDisplayDataMsg(msg)) {
    return {
      output_type: "display_data",
      data: { ...msg.content.data },
      metadata: { ...msg.content.metadata },
    };
  }
  if (services().KernelMessage.isExecuteResultMsg(msg)) {
    return {
      output_type: "execute_result",
      execution_count: msg.content.execution_count,
      data: { ...msg.content.data },
      metadata: { ...msg.content.metadata },
    };
  }
  if (services().KernelMessage.isErrorMsg(msg)) {
    return {
      output_type: "error",
      ename: msg.content.ename,
      evalue: msg.content.evalue,
      traceback: [...msg.content.traceback],
    };
  }
  return undefined;
}

function displayIdOf(msg: KernelMessage.IIOPubMessage): string | undefined {
  if (services().KernelMessage.isDisplayDataMsg(msg) || services().KernelMessage.isExecuteResultMsg(msg)) {
    return msg.content.transient?.display_id;
  }
  return undefined;
}

function joinText(text: MultilineString): string {
  return typeof text === "string" ? text : text.join("");
}

/**
 * Drops ANSI colours and the stack frames that belong to tslab, Node's vm and the transpiled cell
 * (`evalmachine.<anonymous>` line numbers are those of tslab's JavaScript output, not of the trainee's
 * TypeScript): they are the same for every cell and push the useful lines out of sight. Frames in the
 * trainee's own modules (e.g. `dist/...`) stay.
 */
export function cleanMessage(text: string): string {
  const internal = /^\s+at .*(node:vm|node:internal|evalmachine\.<anonymous>|[\\/]tslab[\\/]dist[\\/])/;
  const kept: string[] = [];
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC.
  for (const line of text.replace(/\u001b\[[0-9;]*m/g, "").split("\n")) {
    if (!internal.test(line)) kept.push(line);
    // Node prints an error's extra properties as ` {` at the end of its last frame: keep the brace.
    else if (line.trimEnd().endsWith(" {")) kept.push("{");
  }
  return kept.join("\n").trim();
}

/** Resolves with "died" when the kernel dies or the server restarts it (the cell's state is lost either way). */
function watchDeath(kernel: Kernel.IKernelConnection): { promise: Promise<"died">; dispose(): void } {
  let onStatus: ((sender: Kernel.IKernelConnection, status: KernelMessage.Status) => void) | undefined;
  const promise = new Promise<"died">((resolveDeath) => {
    onStatus = (_sender, status) => {
      if (status === "dead" || status === "autorestarting" || status === "restarting") resolveDeath("died");
    };
    kernel.statusChanged.connect(onStatus);
  });
  return {
    promise,
    dispose: () => {
      if (onStatus) kernel.statusChanged.disconnect(onStatus);
    },
  };
}

/** `promise`'s value, "died" if the kernel dies first, or "timeout" after `timeoutMs`. */
function raceWith<T>(
  promise: Promise<T>,
  death: Promise<"died">,
  timeoutMs: number,
): Promise<T | "died" | "timeout"> {
  return withDeadline(Promise.race([promise, death]), timeoutMs);
}

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

/** Shuts the session's kernel down; a failure here must not hide the run's result or error. */
async function shutdownQuietly(
  session: Session.ISessionConnection | undefined,
  timeoutMs: number,
): Promise<void> {
  if (session === undefined) return;
  try {
    if (session.kernel) await settleAfterRestart(session.kernel, Math.min(15_000, timeoutMs));
    // Bounded: the server gives a kernel that ignores its shutdown request 5 s before it kills it, then waits 5 s
    // more at most. Once in about 30 runs of tests/notebook.test.ts (once in CI), the server's answer to this
    // request took over 60 s: the run's result is known by then, so say so and go on (a kernel the server still
    // runs goes when the server is stopped).
    const stopped = await withDeadline(session.shutdown(), timeoutMs);
    if (stopped === "timeout")
      process.stderr.write(
        `windflow: the Jupyter server did not confirm within ${timeoutMs} ms that it shut down kernel ${session.kernel?.id ?? "?"}; going on\n`,
      );
  } catch {
    // The server may already be gone (it was stopped, or it crashed): its kernels went with it.
  } finally {
    session.dispose();
  }
}

/**
 * When a kernel dies, the server restarts it and @jupyterlab/services reconnects from a promise nobody
 * awaits: disposing the connection before that reconnect settles rejects it, an unhandled rejection that
 * kills this process (measured with services 7.6.6). Deleting the session while the server is still
 * restarting the kernel also fails (jupyter_client 500s with InvalidStateError). So wait, bounded, until the
 * replacement kernel is connected (or the server gave up on it) before shutting it down.
 */
async function settleAfterRestart(kernel: Kernel.IKernelConnection, timeoutMs: number): Promise<void> {
  const settled = (): boolean =>
    kernel.isDisposed ||
    kernel.status === "dead" ||
    (kernel.connectionStatus === "connected" && (kernel.status === "idle" || kernel.status === "busy"));
  if (settled()) return;
  await new Promise<void>((resolveSettled) => {
    const check = (): void => {
      if (settled()) done();
    };
    const timer = setTimeout(() => done(), timeoutMs);
    function done(): void {
      clearTimeout(timer);
      kernel.statusChanged.disconnect(check);
      kernel.connectionStatusChanged.disconnect(check);
      resolveSettled();
    }
    kernel.statusChanged.connect(check);
    kernel.connectionStatusChanged.connect(check);
  });
}

/**
 * @jupyterlab/services logs "Starting WebSocket: ws://..." with console.debug, which Node prints on stdout,
 * where it would end up in a CLI's output. Mute it while runs are in flight (counted, so concurrent runs do
 * not restore it too early), and only it.
 */
let muted = 0;
let savedDebug: typeof console.debug | undefined;
function muteServicesDebug(): () => void {
  if (muted === 0) {
    savedDebug = console.debug;
    console.debug = () => {};
  }
  muted += 1;
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    muted -= 1;
    if (muted === 0 && savedDebug !== undefined) console.debug = savedDebug;
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
