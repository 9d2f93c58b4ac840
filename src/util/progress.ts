/**
 * Progress for long work (downloads, generation, training epochs, notebook runs).
 * On a terminal: a cli-progress bar on stderr. Elsewhere (CI logs, pipes): one line every 10 %, so logs
 * stay readable instead of filling with carriage returns.
 */
import type { SingleBar as SingleBarType } from "cli-progress";

export interface Progress {
  /** Sets the amount done (and the total when it becomes known). */
  update(done: number, total?: number): void;
  /** Ends the bar; safe to call twice. */
  stop(): void;
}

export interface ProgressOptions {
  /** How to show an amount: bytes are shown in MB. @default "items" */
  unit?: "bytes" | "items" | string;
  stream?: NodeJS.WriteStream;
}

const MB = 1024 * 1024;

export function progress(label: string, total: number | undefined, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const unit = options.unit ?? "items";
  const fmt = (n: number) =>
    unit === "bytes" ? `${(n / MB).toFixed(1)} MB` : `${Math.round(n).toLocaleString("en-US")} ${unit}`;
  let knownTotal = total;
  let stopped = false;
  if (stream.isTTY) {
    const { SingleBar } = require("cli-progress") as { SingleBar: typeof SingleBarType }; // on a terminal only
    const bar = new SingleBar({
      format: `${label} [{bar}] {percentage}% | {doneText} / {totalText} | {eta_formatted} left`,
      stream,
      hideCursor: true,
      etaBuffer: 50,
    });
    bar.start(knownTotal ?? 1, 0, { doneText: fmt(0), totalText: knownTotal ? fmt(knownTotal) : "?" });
    return {
      update(done, newTotal) {
        if (newTotal !== undefined && newTotal !== knownTotal) {
          knownTotal = newTotal;
          bar.setTotal(newTotal);
        }
        bar.update(done, { doneText: fmt(done), totalText: knownTotal ? fmt(knownTotal) : "?" });
      },
      stop() {
        if (!stopped) bar.stop();
        stopped = true;
      },
    };
  }
  let lastDecile = -1;
  let lastDone = 0;
  const started = Date.now();
  return {
    update(done, newTotal) {
      if (newTotal !== undefined) knownTotal = newTotal;
      lastDone = done;
      if (!knownTotal) return;
      const decile = Math.floor((done / knownTotal) * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        stream.write(`${label}: ${decile * 10}% (${fmt(done)} / ${fmt(knownTotal)})\n`);
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (lastDecile < 10)
        stream.write(`${label}: ${fmt(lastDone)} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    },
  };
}
