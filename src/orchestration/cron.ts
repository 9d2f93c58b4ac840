/**
 * Cron expressions, parsed and matched in UTC (pure; no timers here).
 *
 * Five fields, `minute hour day-of-month month day-of-week`, with Vixie cron's syntax: `*`, values, ranges
 * `a-b`, steps `*\/n`, `a-b/n` and `a/n` (from a to the field's maximum), lists `a,b-c`, names for months
 * (`jan`-`dec`) and days (`sun`-`sat`, and `7` for Sunday), and the presets `@hourly @daily @midnight
 * @weekly @monthly @yearly @annually`. Not supported: seconds, `L`, `W`, `#`, `?`.
 *
 * Day rule (Vixie cron, also croniter's and hence Airflow's): when both day fields are restricted (neither
 * starts with `*`), a day matches if *either* matches (`0 0 1 * mon` is "the 1st, and every Monday"); when
 * one of them starts with `*`, both must match.
 *
 * Why our own module rather than a dependency: the project needs 5-field UTC matching only, and this keeps
 * the error messages naming the field at fault. `croner` (Node >= 18) would be the choice for more.
 */
import { CronError } from "./errors.js";

/** Presets and the cron expression each stands for. */
export const CRON_PRESETS: Readonly<Record<string, string>> = {
  "@hourly": "0 * * * *",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *",
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
};

/** A parsed cron expression: the allowed values of each field. */
export interface Cron {
  /** As written (a preset stays a preset). */
  readonly expression: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  /** 1-12. */
  readonly months: ReadonlySet<number>;
  /** 0-6, Sunday = 0. */
  readonly daysOfWeek: ReadonlySet<number>;
  /** Whether both day fields are restricted, so that a day matches if either does. */
  readonly dayOr: boolean;
}

interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Offset of names[0]. */
  namesFrom?: number;
}

const FIELDS: readonly FieldRule[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    namesFrom: 1,
  },
  {
    name: "day of week",
    min: 0,
    max: 7,
    names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    namesFrom: 0,
  },
];

/** Parses a cron expression or preset. Throws a `CronError` naming the field at fault. */
export function parseCron(expression: string): Cron {
  const text = expression.trim();
  let body = text;
  if (text.startsWith("@")) {
    const preset = CRON_PRESETS[text.toLowerCase()];
    if (preset === undefined)
      throw new CronError(
        expression,
        "preset",
        `unknown preset (known: ${Object.keys(CRON_PRESETS).join(" ")})`,
      );
    body = preset;
  }
  const parts = body.split(/\s+/);
  if (parts.length !== 5)
    throw new CronError(
      expression,
      "expression",
      `has ${parts.length} field${parts.length === 1 ? "" : "s"}, expected 5 (minute hour day-of-month month day-of-week)`,
    );
  const sets = parts.map((part, i) => parseField(expression, part, FIELDS[i] as FieldRule));
  const dow = sets[4] as Set<number>;
  if (dow.delete(7)) dow.add(0);
  const cron: Cron = {
    expression,
    minutes: sets[0] as Set<number>,
    hours: sets[1] as Set<number>,
    daysOfMonth: sets[2] as Set<number>,
    months: sets[3] as Set<number>,
    daysOfWeek: dow,
    dayOr: !(parts[2] as string).startsWith("*") && !(parts[4] as string).startsWith("*"),
  };
  if (searchForward(cron, Date.UTC(2000, 0, 1)) === undefined)
    throw new CronError(expression, "day of month", "no date ever matches (such as the 30th of February)");
  return cron;
}

function parseField(expression: string, text: string, rule: FieldRule): Set<number> {
  const fail = (detail: string): never => {
    throw new CronError(expression, rule.name, detail);
  };
  const value = (token: string): number => {
    const lower = token.toLowerCase();
    const named = rule.names?.indexOf(lower) ?? -1;
    if (named >= 0) return named + (rule.namesFrom ?? 0);
    if (!/^\d+$/.test(token))
      return fail(
        `"${token}" is not a number${rule.names ? ` nor a name (${rule.names[0]}, ${rule.names[1]}...)` : ""}`,
      );
    const n = Number(token);
    if (n < rule.min || n > rule.max) fail(`${n} is out of range ${rule.min}-${rule.max}`);
    return n;
  };
  const out = new Set<number>();
  for (const item of text.split(",")) {
    if (item === "") fail(`empty item in "${text}"`);
    const [range, stepText, extra] = item.split("/");
    if (extra !== undefined) fail(`"${item}" has two steps`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1)
        fail(`step "${stepText}" must be a whole number >= 1`);
      step = Number(stepText);
    }
    // `*` and `a/n` in the day of week stop at Saturday, so that 7 (Sunday again) is not added twice.
    const top = rule.name === "day of week" ? 6 : rule.max;
    let lo: number;
    let hi: number;
    if (range === "*") {
      lo = rule.min;
      hi = top;
    } else {
      const bounds = (range as string).split("-");
      if (bounds.length > 2 || bounds.some((b) => b === "")) fail(`"${range}" is not a value or a range a-b`);
      lo = value(bounds[0] as string);
      hi = bounds.length === 2 ? value(bounds[1] as string) : stepText === undefined ? lo : top;
      if (lo > hi) fail(`range ${range} goes backwards (${lo} > ${hi})`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Whether a day (UTC) matches the day fields. */
function dayMatches(cron: Cron, d: Date): boolean {
  const dom = cron.daysOfMonth.has(d.getUTCDate());
  const dow = cron.daysOfWeek.has(d.getUTCDay());
  return cron.dayOr ? dom || dow : dom && dow;
}

/** Whether the cron fires at this instant's minute (seconds are ignored). */
export function cronMatches(cron: Cron, at: Date): boolean {
  return (
    cron.months.has(at.getUTCMonth() + 1) &&
    dayMatches(cron, at) &&
    cron.hours.has(at.getUTCHours()) &&
    cron.minutes.has(at.getUTCMinutes())
  );
}

const MINUTE = 60_000;
/** A whole Gregorian cycle: if nothing matches within it, nothing ever will. */
const SEARCH_SPAN = 401 * 366 * 86_400_000;

/** First firing minute at or after `from` (ms, on a minute boundary), or undefined if none in 400 years. */
function searchForward(cron: Cron, from: number): number | undefined {
  const limit = from + SEARCH_SPAN;
  let t = from;
  while (t <= limit) {
    const d = new Date(t);
    const y = d.getUTCFullYear();
    const mo = d.getUTCMonth();
    if (!cron.months.has(mo + 1)) {
      t = Date.UTC(y, mo + 1, 1);
    } else if (!dayMatches(cron, d)) {
      t = Date.UTC(y, mo, d.getUTCDate() + 1);
    } else if (!cron.hours.has(d.getUTCHours())) {
      t = Date.UTC(y, mo, d.getUTCDate(), d.getUTCHours() + 1);
    } else if (!cron.minutes.has(d.getUTCMinutes())) {
      t += MINUTE;
    } else {
      return t;
    }
  }
  return undefined;
}

/** Last firing minute at or before `from` (ms, on a minute boundary), or undefined if none in 400 years. */
function searchBackward(cron: Cron, from: number): number | undefined {
  const limit = from - SEARCH_SPAN;
  let t = from;
  while (t >= limit) {
    const d = new Date(t);
    const y = d.getUTCFullYear();
    const mo = d.getUTCMonth();
    if (!cron.months.has(mo + 1)) {
      t = Date.UTC(y, mo, 1) - MINUTE;
    } else if (!dayMatches(cron, d)) {
      t = Date.UTC(y, mo, d.getUTCDate()) - MINUTE;
    } else if (!cron.hours.has(d.getUTCHours())) {
      t = Date.UTC(y, mo, d.getUTCDate(), d.getUTCHours()) - MINUTE;
    } else if (!cron.minutes.has(d.getUTCMinutes())) {
      t -= MINUTE;
    } else {
      return t;
    }
  }
  return undefined;
}

/** The first time the cron fires strictly after `after`. */
export function nextCronTick(cron: Cron, after: Date): Date {
  const from = Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE;
  const t = searchForward(cron, from);
  if (t === undefined) throw new CronError(cron.expression, "day of month", "no date ever matches");
  return new Date(t);
}

/** The last time the cron fires strictly before `before`. */
export function prevCronTick(cron: Cron, before: Date): Date {
  let from = Math.floor(before.getTime() / MINUTE) * MINUTE;
  if (from >= before.getTime()) from -= MINUTE;
  const t = searchBackward(cron, from);
  if (t === undefined) throw new CronError(cron.expression, "day of month", "no date ever matches");
  return new Date(t);
}
