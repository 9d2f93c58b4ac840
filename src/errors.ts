/**
 * Typed errors. Every error a user can cause names what to fix: the file, the line, the column,
 * the DAG. `hint` is the sentence that tells how to fix it; the CLI prints it under the message.
 */

export class WindflowError extends Error {
  /** What the user should do about it, one sentence. */
  readonly hint: string | undefined;
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }

  /**
   * How `console.log`, `console.error` and `util.inspect` print it: the sentence, the hint and the cause, without
   * windflow's stack frames. A notebook cell that fails is printed so by tslab, and the frames (windflow's compiled
   * files, tslab's, Node's vm) tell a trainee nothing; `stack` keeps them, for the task logs. (The symbol is Node's
   * `util.inspect.custom`, by its global name: this module has no import.)
   */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const cause = this.cause instanceof Error ? this.cause.message : this.cause;
    return [
      `${this.name}: ${this.message}`,
      ...(this.hint ? [`  hint: ${this.hint}`] : []),
      ...(cause === undefined ? [] : [`  cause: ${String(cause)}`]),
    ].join("\n");
  }
}

/** A data file does not follow the dataset schema. `line` is 1-based, counting the header as line 1. */
export class SchemaError extends WindflowError {
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly where: { line?: number; column?: string } = {},
    hint?: string,
  ) {
    const at = [
      where.line === undefined ? "" : `line ${where.line}`,
      where.column ? `column ${where.column}` : "",
    ]
      .filter(Boolean)
      .join(", ");
    super(`${file}${at ? ` (${at})` : ""}: ${detail}`, hint === undefined ? {} : { hint });
  }
}

/** A download failed or did not verify; nothing was left at the destination. */
export class DownloadError extends WindflowError {
  constructor(
    readonly url: string,
    detail: string,
    hint?: string,
    cause?: unknown,
  ) {
    super(`download of ${url} failed: ${detail}`, { ...(hint === undefined ? {} : { hint }), cause });
  }
}
