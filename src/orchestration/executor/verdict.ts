/**
 * Pure: what a scheduler or an executor makes of a task instance recorded as `running` (moved out of the
 * scheduler's decisions so that executors may use it: docs/adr/0009-layers.md).
 */
import type { TaskInstanceRecord } from "../store/store.js";

/**
 * What to make of a `running` task instance: its process is watched by this scheduler's executor
 * (`watched`: its end will be reported), runs on this machine but is not watched (`adopt`: a scheduler
 * restarted, or a person ran `tasks run`), is gone without recording the end of its try (`lost`: a zombie),
 * or runs on another machine (`elsewhere`: its pid means nothing here; left alone while its heartbeat, or its
 * start, is within `[scheduler] zombie_threshold`, then `lost`).
 */
export type RunningVerdict = "watched" | "adopt" | "lost" | "elsewhere";

export function runningVerdict(
  ti: Pick<TaskInstanceRecord, "pid" | "hostname"> &
    Partial<Pick<TaskInstanceRecord, "heartbeatAt" | "startedAt">>,
  here: {
    readonly hostname: string;
    readonly watched: boolean;
    readonly alive: (pid: number) => boolean;
    /** With `zombieThresholdMs`: a try on another machine without news for that long is lost. */
    readonly now?: Date;
    readonly zombieThresholdMs?: number;
  },
): RunningVerdict {
  if (here.watched) return "watched";
  if (ti.hostname !== null && ti.hostname !== here.hostname) {
    const news = ti.heartbeatAt ?? ti.startedAt ?? null;
    if (here.now && here.zombieThresholdMs !== undefined && news !== null)
      if (here.now.getTime() - news.getTime() > here.zombieThresholdMs) return "lost";
    return "elsewhere";
  }
  if (ti.pid === null) return "lost";
  return here.alive(ti.pid) ? "adopt" : "lost";
}
