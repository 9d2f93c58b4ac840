/**
 * The program of a DAG file processor child: `node parse-process.js FILE` imports one DAG file (running its
 * top-level code, which the scheduler never does itself) and sends back, over the IPC channel its parent
 * opened, either the serialised specs of the DAGs it defines (`toJSON`) or the import error. Then it exits,
 * whatever the file left running (timers, sockets): a process per file keeps a broken or hanging file from
 * harming anything else, and the parent kills it past `[scheduler] dag_file_processor_timeout`.
 */
import { settleFileWrites } from "../../util/exit.js";
import { loadDagFile } from "../loader.js";
import { toJSON } from "../validate.js";

/** What a child sends to its parent. */
export type ParseMessage =
  | { readonly ok: true; readonly file: string; readonly specs: readonly string[] }
  | { readonly ok: false; readonly file: string; readonly message: string; readonly hint?: string };

/** Parses `file` into a message (never throws). */
export function parseDagFileMessage(file: string): ParseMessage {
  try {
    return { ok: true, file, specs: loadDagFile(file).map((d) => toJSON(d.spec)) };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    const hint = (e as { hint?: unknown }).hint;
    return { ok: false, file, message: e.message, ...(typeof hint === "string" ? { hint } : {}) };
  }
}

if (require.main === module) {
  const file = process.argv[2];
  const message: ParseMessage = file
    ? parseDagFileMessage(file)
    : { ok: false, file: "", message: "usage: parse-process FILE" };
  // The file's compiled code reaches tsx's cache before the exit: the task processes then load it from there.
  const exit = () => settleFileWrites().then(() => process.exit(message.ok ? 0 : 1));
  if (process.send) process.send(message, () => void exit());
  else {
    process.stdout.write(`${JSON.stringify(message)}\n`);
    void exit();
  }
}
