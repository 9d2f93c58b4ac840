/**
 * Schedules and data intervals, pure and in UTC (there is no daylight-saving time in UTC, so a daily run is
 * always 24 h apart).
 *
 * Semantics (Airflow's): a schedule cuts time into data intervals `[start, end)`. For a cron schedule the
 * intervals run from one firing time to the next, the first starting at the first firing time at or after
 * the DAG's start date; for a fixed interval (`every: "2m"`) they are anchored at the start date:
 * `[start + k * every, start + (k + 1) * every)`. The scheduled run for an interval has logical date =
 * `start` and is created once `end` has passed (the interval's data is complete).
 *
 * Catch-up (`runsDue`): with `catchup: true`, every complete interval after the last scheduled run's (or
 * from the start date on) is due, oldest first; with `catchup: false`, only the latest complete interval,
 * and only if it is newer than the last scheduled run. Manual runs do not count as "last".
 *
 * Manual runs (`manualRun`): logical date = the trigger time (to the second) unless one is given, data
 * interval `[logical date, logical date]`, and the `YYYYmmdd-HHMMSS` stamp their dated files will use.
 */
import { timestamp } from "../util/timestamp.js";
import { type Cron, nextCronTick, parseCron, prevCronTick } from "./cron.js";
import { type Duration, formatDuration, parseDuration } from "./duration.js";
import { DateError, DurationError, FutureLogicalDateError } from "./errors.js";
import type { DagSpec, DataInterval, ScheduleSpec } from "./types.js";

/**
 * A schedule as an author writes it: a preset (`"@daily"`), a cron expression (`"0 *\/4 * * *"`), a
 * duration (`"2m"`, or `{ every: "28d" }` / `{ every: 120_000 }`), or null for manual runs only.
 */
export type ScheduleInput = string | { readonly every: Duration } | { readonly cron: string } | null;

/** Smallest fixed interval: run ids and dated files are stamped to the second. */
export const MIN_INTERVAL_MS = 1000;

/**
 * The stored form of a schedule. Throws a `CronError` (naming the field) or a `DurationError`.
 * A string with a space or starting with `@` is cron; other strings are durations.
 */
export function normalizeSchedule(input: ScheduleInput): ScheduleSpec {
  if (input === null) return null;
  if (typeof input === "string") {
    const text = input.trim();
    if (text.startsWith("@") || /\s/.test(text)) return cronSchedule(text);
    return intervalSchedule(text);
  }
  if ("cron" in input) return cronSchedule(input.cron.trim());
  return intervalSchedule(input.every);
}

function cronSchedule(expression: string): ScheduleSpec {
  parseCron(expression);
  return { cron: expression };
}

function intervalSchedule(every: Duration): ScheduleSpec {
  const ms = parseDuration(every);
  if (ms < MIN_INTERVAL_MS)
    throw new DurationError(String(every), `a schedule interval must be at least ${MIN_INTERVAL_MS} ms`);
  return { every: typeof every === "string" ? every.trim() : formatDuration(ms) };
}

/** Human text: `cron 0 *\/4 * * *`, `@weekly`, `every 2m`, `manual only`. */
export function describeSchedule(schedule: ScheduleSpec): string {
  if (schedule === null) return "manual only";
  if ("cron" in schedule) return schedule.cron.startsWith("@") ? schedule.cron : `cron ${schedule.cron}`;
  return `every ${schedule.every}`;
}

/** Where a schedule's intervals start and end; the two implementations below. */
interface Timetable {
  /** The first interval start at or after `t`. */
  firstAtOrAfter(t: number): number;
  /** The first interval start strictly after `t`. */
  nextAfter(t: number): number;
  /** The last interval boundary at or before `t`, if any. */
  lastAtOrBefore(t: number): number | undefined;
  /** The boundary before `t`. */
  prevBefore(t: number): number | undefined;
}

const crons = new Map<string, Cron>();
function cachedCron(expression: string): Cron {
  let cron = crons.get(expression);
  if (!cron) {
    cron = parseCron(expression);
    crons.set(expression, cron);
  }
  return cron;
}

function timetable(schedule: NonNullable<ScheduleSpec>, startMs: number): Timetable {
  if ("cron" in schedule) {
    const cron = cachedCron(schedule.cron);
    return {
      firstAtOrAfter: (t) => nextCronTick(cron, new Date(t - 1)).getTime(),
      nextAfter: (t) => nextCronTick(cron, new Date(t)).getTime(),
      lastAtOrBefore: (t) => prevCronTick(cron, new Date(t + 1)).getTime(),
      prevBefore: (t) => prevCronTick(cron, new Date(t)).getTime(),
    };
  }
  const every = parseDuration(schedule.every);
  // k-th boundary: startMs + k * every, k >= 0.
  return {
    firstAtOrAfter: (t) => (t <= startMs ? startMs : startMs + Math.ceil((t - startMs) / every) * every),
    nextAfter: (t) => (t < startMs ? startMs : startMs + (Math.floor((t - startMs) / every) + 1) * every),
    lastAtOrBefore: (t) => (t < startMs ? undefined : startMs + Math.floor((t - startMs) / every) * every),
    prevBefore: (t) => (t <= startMs ? undefined : startMs + (Math.ceil((t - startMs) / every) - 1) * every),
  };
}

type ScheduledDag = Pick<DagSpec, "schedule" | "startDate" | "catchup">;

/** The data interval of the scheduled run whose logical date is `start` (which must be a boundary). */
export function intervalStartingAt(spec: Pick<DagSpec, "schedule" | "startDate">, start: Date): DataInterval {
  if (spec.schedule === null) return { start, end: start };
  const tt = timetable(spec.schedule, Date.parse(spec.startDate));
  return { start, end: new Date(tt.nextAfter(start.getTime())) };
}

/**
 * The first scheduled run whose logical date is strictly after `after` (or the first one of the DAG when
 * `after` is null): its data interval; it is created at `end`. Null for a DAG without schedule.
 */
export function nextRun(
  spec: Pick<DagSpec, "schedule" | "startDate">,
  after: Date | null,
): DataInterval | null {
  if (spec.schedule === null) return null;
  const startMs = Date.parse(spec.startDate);
  const tt = timetable(spec.schedule, startMs);
  const first = tt.firstAtOrAfter(startMs);
  const start = after === null ? first : Math.max(first, tt.nextAfter(after.getTime()));
  return { start: new Date(start), end: new Date(tt.nextAfter(start)) };
}

/** Options of `runsDue`. */
export interface RunsDueOptions {
  /**
   * At most this many intervals, the oldest first; the scheduler gets the next ones on its next pass
   * (a catch-up over years of a 2-minute schedule is a million runs).
   * @default 1000
   */
  limit?: number;
}

/**
 * The data intervals whose scheduled runs are due at `now` and not created yet, oldest first, given the
 * logical date of the DAG's last scheduled run (null if none). Catch-up semantics in the module comment.
 */
export function runsDue(
  spec: ScheduledDag,
  now: Date,
  lastLogicalDate: Date | null,
  options: RunsDueOptions = {},
): DataInterval[] {
  const limit = options.limit ?? 1000;
  if (spec.schedule === null || limit <= 0) return [];
  const startMs = Date.parse(spec.startDate);
  const tt = timetable(spec.schedule, startMs);
  const first = tt.firstAtOrAfter(startMs);
  // The latest complete interval ends at the last boundary <= now and starts at the boundary before.
  const lastEnd = tt.lastAtOrBefore(now.getTime());
  const latest = lastEnd === undefined ? undefined : tt.prevBefore(lastEnd);
  if (latest === undefined || latest < first) return [];
  const last = lastLogicalDate?.getTime();
  if (!spec.catchup) {
    if (last !== undefined && latest <= last) return [];
    return [{ start: new Date(latest), end: new Date(lastEnd as number) }];
  }
  const out: DataInterval[] = [];
  let start = last === undefined ? first : Math.max(first, tt.nextAfter(last));
  while (start <= latest && out.length < limit) {
    const end = tt.nextAfter(start);
    out.push({ start: new Date(start), end: new Date(end) });
    start = end;
  }
  return out;
}

/**
 * When the scheduler should next look at this DAG: `now` if a run is due, else the end of the next
 * interval (the time its run becomes due); null for a DAG without schedule.
 */
export function nextDueAt(spec: ScheduledDag, now: Date, lastLogicalDate: Date | null): Date | null {
  if (spec.schedule === null) return null;
  if (runsDue(spec, now, lastLogicalDate, { limit: 1 }).length > 0) return now;
  const startMs = Date.parse(spec.startDate);
  const tt = timetable(spec.schedule, startMs);
  // The interval that contains `now` (or the first one, if the DAG starts later) is the next to complete.
  const current = Math.max(tt.firstAtOrAfter(startMs), tt.lastAtOrBefore(now.getTime()) ?? startMs);
  return new Date(tt.nextAfter(current));
}

/** How a run came to be; the prefix of its run id. */
export type RunType = "scheduled" | "manual";

/** `scheduled__20260101-000000`, `manual__20261125-173005`: the kind and the logical date's stamp. */
export function runIdFor(type: RunType, logicalDate: Date): string {
  return `${type}__${timestamp(logicalDate)}`;
}

/** What a manual trigger creates. */
export interface ManualRun {
  readonly runId: string;
  readonly logicalDate: Date;
  /** `YYYYmmdd-HHMMSS` (UTC) of the logical date: the name the run's dated files will use. */
  readonly stamp: string;
  /** `[logicalDate, logicalDate]`: a manual run is for an instant, not a period. */
  readonly dataInterval: DataInterval;
}

/**
 * A manual trigger at `now`: logical date = `logicalDate` if given, else `now` truncated to the second (so
 * that the date shown and the dated file names agree: `2026-11-25T17:30:05Z` <-> `20261125-173005`).
 */
export function manualRun(now: Date = new Date(), logicalDate?: Date | string): ManualRun {
  let date: Date;
  if (logicalDate === undefined) date = new Date(Math.floor(now.getTime() / 1000) * 1000);
  else {
    date = typeof logicalDate === "string" ? new Date(logicalDate) : logicalDate;
    if (Number.isNaN(date.getTime())) throw new DateError(String(logicalDate), "logical date");
  }
  return {
    runId: runIdFor("manual", date),
    logicalDate: date,
    stamp: timestamp(date),
    dataInterval: { start: date, end: date },
  };
}

/**
 * `manualRun` for a run to be created now (a trigger, its preview): a logical date given must not be after `now`
 * (a `FutureLogicalDateError`). The second `now` is truncated to (a trigger with no date) counts as now.
 */
export function manualRunNow(now: Date, logicalDate?: Date | string): ManualRun {
  const run = manualRun(now, logicalDate);
  if (run.logicalDate.getTime() > now.getTime()) throw new FutureLogicalDateError(run.logicalDate, now);
  return run;
}

/**
 * The next `count` scheduled runs of a DAG that has none yet, seen at `now`, each created on time: the run
 * due now (with catch-up, the oldest due), or the first to come due, then the intervals that follow. What
 * `dags export --to airflow` must reproduce (tests/airflow-real.test.ts compares it with Airflow's).
 */
export function upcomingRuns(spec: ScheduledDag, now: Date, count: number): DataInterval[] {
  if (spec.schedule === null || count <= 0) return [];
  const first = runsDue(spec, now, null, { limit: 1 })[0] ?? nextRun(spec, null);
  if (!first) return [];
  const out: DataInterval[] = [first];
  while (out.length < count) {
    const next = nextRun(spec, (out[out.length - 1] as DataInterval).start);
    if (!next) break;
    out.push(next);
  }
  return out;
}
