/**
 * `windflow scheduler [--once | --until-idle] [--timeout S]` as a function: runs a `Scheduler` in the given
 * mode with SIGTERM / SIGINT stopping it gracefully (the current pass ends, nothing new starts, task
 * processes go on and record their own end); a second signal exits at once. Returns the exit code.
 */
import { loadConfig, type WindflowConfig } from "../../config.js";
import { Scheduler, type SchedulerMode, type SchedulerOptions, type SchedulerReport } from "./scheduler.js";

/** Exit codes of `windflow scheduler`. */
export const SCHEDULER_EXIT_CODES = {
  /** Stopped as asked: `--once` done, idle (`--until-idle`), or a signal. */
  ok: 0,
  /** `--timeout` passed before the scheduler was idle. */
  timeout: 1,
  /** A second signal: exited without waiting for the pass to end. */
  interrupted: 130,
} as const;

/** Options of `schedulerMain`. */
export interface SchedulerMainOptions extends Omit<SchedulerOptions, "config"> {
  mode?: SchedulerMode;
  /** Stop after this long, in ms. */
  timeoutMs?: number;
  /** @default loadConfig() */
  config?: WindflowConfig;
  /** Receives the report when the scheduler stops. */
  onReport?: (report: SchedulerReport) => void;
}

export async function schedulerMain(options: SchedulerMainOptions = {}): Promise<number> {
  const { mode, timeoutMs, config, onReport, ...rest } = options;
  const scheduler = new Scheduler({ config: config ?? loadConfig(), ...rest });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) process.exit(SCHEDULER_EXIT_CODES.interrupted);
    scheduler.stop(`received ${signal}`);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    const report = await scheduler.run({
      ...(mode ? { mode } : {}),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    onReport?.(report);
    return report.stoppedBy === "timeout" ? SCHEDULER_EXIT_CODES.timeout : SCHEDULER_EXIT_CODES.ok;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}
