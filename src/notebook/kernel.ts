/**
 * The TypeScript kernel as the kernelspec starts it: tslab's own kernel (`startKernel` of the project's tslab),
 * with a status that tells the truth (issue 11 §3: "JupyterLab's status says Idle while a training cell runs").
 *
 * tslab handles each Jupyter message as it arrives, without waiting for the one before, and publishes `busy`
 * when a message arrives and `idle` when it is done. JupyterLab shows the last status the kernel published, so:
 * - Run All sends every cell at once: every cell's `busy` comes at the start, the first cell's `idle` comes when it
 *   ends, and the status reads Idle while the second cell (the training, in notebook 02) runs;
 * - a request answered while a cell runs (JupyterLab's kernel_info, a completion, the contextual help) publishes
 *   its own `busy` then `idle`: Idle again, mid-cell.
 * Here, a cell publishes `busy` again when it actually starts, and after any message's `idle` the running cell's
 * `busy` is published again: whenever a cell runs, the last status is `busy`. Every message still gets its own
 * `busy` and `idle` (a client waits for the `idle` of its request before it calls it done), and tslab's queue of
 * cells (one after another, the pending ones dropped after an error) is left as it is.
 */
import { createRequire } from "node:module";

/** The parts of a tslab Jupyter message used here. */
interface TslabMessage {
  readonly header: { readonly msg_id: string; readonly msg_type: string };
  readonly content: unknown;
}

const RUNNING = Symbol("windflow.runningCell");
const PATCHED = Symbol.for("windflow.kernelStatus");

/** What is used of tslab's `ZmqServer` (tslab/dist/jupyter.js). */
interface TslabServer {
  publishStatus(status: "busy" | "idle", parent: TslabMessage): void;
  handleShellMessage(sock: unknown, ...frames: unknown[]): Promise<void>;
  handleExecute(sock: unknown, msg: TslabMessage): Promise<void>;
  [RUNNING]?: TslabMessage | undefined;
  /** zeromq's publisher socket (its `closed` is true once tslab has closed it). */
  iopub?: { readonly closed?: boolean };
}

/** What is used of tslab's `JupyterHandlerImpl`: the body of a cell's execution, run in its turn. */
interface TslabHandler {
  handleExecuteImpl(req: unknown, ...rest: unknown[]): Promise<unknown>;
}

/** tslab's `dist/jupyter.js` module, as far as it is used here. */
export interface TslabJupyterModule {
  readonly ZmqServer: { readonly prototype: object };
  readonly JupyterHandlerImpl: { readonly prototype: object };
}

/**
 * Patches tslab's classes (their prototypes: every server made afterwards, or before) so that the kernel's last
 * status is `busy` whenever a cell runs. Idempotent. Throws, naming it, if tslab's classes are not the ones this was
 * written for (tslab is pinned; a new version must be checked by `tests/kernel-status.test.ts`).
 */
export function makeKernelStatusTruthful(jupyter: TslabJupyterModule): void {
  const server = jupyter.ZmqServer.prototype as TslabServer & { [PATCHED]?: true };
  const handler = jupyter.JupyterHandlerImpl.prototype as TslabHandler;
  if (server[PATCHED]) return;
  for (const [name, fn] of [
    ["ZmqServer.publishStatus", server.publishStatus],
    ["ZmqServer.handleShellMessage", server.handleShellMessage],
    ["ZmqServer.handleExecute", server.handleExecute],
    ["JupyterHandlerImpl.handleExecuteImpl", handler.handleExecuteImpl],
  ] as const)
    if (typeof fn !== "function")
      throw new Error(
        `tslab has no ${name}: the kernel's status patch (src/notebook/kernel.ts) needs updating`,
      );

  // The message a cell's content came with, so that its execution (which gets the content only) can name it.
  const cells = new WeakMap<object, { server: TslabServer; msg: TslabMessage }>();

  const handleExecute = server.handleExecute;
  server.handleExecute = function (this: TslabServer, sock: unknown, msg: TslabMessage) {
    if (typeof msg.content === "object" && msg.content !== null)
      cells.set(msg.content, { server: this, msg });
    return handleExecute.call(this, sock, msg);
  };

  const handleExecuteImpl = handler.handleExecuteImpl;
  handler.handleExecuteImpl = async function (this: TslabHandler, req: unknown, ...rest: unknown[]) {
    const cell = typeof req === "object" && req !== null ? cells.get(req) : undefined;
    if (!cell) return handleExecuteImpl.call(this, req, ...rest);
    cell.server[RUNNING] = cell.msg;
    cell.server.publishStatus("busy", cell.msg);
    try {
      return await handleExecuteImpl.call(this, req, ...rest);
    } finally {
      if (cell.server[RUNNING] === cell.msg) cell.server[RUNNING] = undefined;
    }
  };

  const handleShellMessage = server.handleShellMessage;
  server.handleShellMessage = async function (this: TslabServer, sock: unknown, ...frames: unknown[]) {
    try {
      await handleShellMessage.call(this, sock, ...frames);
    } finally {
      // This message's `idle` is out; a cell still running (or the next one, already started) is not idle.
      const running = this[RUNNING];
      // Not after a shutdown request (tslab closed its sockets while a cell ran: a restart of a stuck cell).
      if (running && this.iopub?.closed !== true) this.publishStatus("busy", running);
    }
  };
  server[PATCHED] = true;
}

/** `kernel.js --config-path CONNECTION_FILE`, as the kernelspec's argv says (tslab's own `kernel` command). */
function main(argv: readonly string[]): void {
  const at = argv.indexOf("--config-path");
  const configPath = at >= 0 ? argv[at + 1] : undefined;
  if (!configPath) {
    process.stderr.write("usage: kernel.js --config-path CONNECTION_FILE (the kernelspec passes it)\n");
    process.exit(2);
  }
  // The project's tslab, from where this file is (dist/notebook/ or src/notebook/).
  const load = createRequire(__filename);
  makeKernelStatusTruthful(load("tslab/dist/jupyter.js") as TslabJupyterModule);
  const { startKernel } = load("tslab/dist/main.js") as {
    startKernel(options: { configPath: string; enableFindLocal: boolean }): void;
  };
  // enableFindLocal false: this very tslab (the one patched), not one found from the kernel's working folder.
  startKernel({ configPath, enableFindLocal: false });
}

if (require.main === module) main(process.argv.slice(2));
