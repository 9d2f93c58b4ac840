/**
 * Durations as people write them: `"500ms"`, `"30s"`, `"10m"`, `"4h"`, `"28d"`, `"2w"`, `"1h30m"`, or a
 * number of milliseconds. Used for retry delays, timeouts and fixed-interval schedules.
 */
import { DurationError } from "./errors.js";

/** A duration: milliseconds, or a text such as `"30s"` or `"1h30m"`. */
export type Duration = number | string;

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** Milliseconds of a duration. Throws a `DurationError` for a negative, fractional-ms or unreadable one. */
export function parseDuration(duration: Duration): number {
  if (typeof duration === "number") {
    if (!Number.isInteger(duration) || duration < 0)
      throw new DurationError(String(duration), "must be a whole, non-negative number of milliseconds");
    return duration;
  }
  const text = duration.trim();
  if (text === "") throw new DurationError(duration, "is empty");
  const part = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const m = part.exec(text);
    if (!m) throw new DurationError(duration, `cannot read "${text.slice(at)}" (units: ms, s, m, h, d, w)`);
    total += Number(m[1]) * UNIT_MS[m[2] as Unit];
    at = part.lastIndex;
    while (text[at] === " ") at++;
  }
  if (!Number.isInteger(total)) throw new DurationError(duration, "is not a whole number of milliseconds");
  return total;
}

/** A short text for a duration in ms: `"1h30m"`, `"28d"`, `"250ms"`, `"0s"`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = ms;
  let out = "";
  for (const unit of ["w", "d", "h", "m", "s", "ms"] as const) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * UNIT_MS[unit];
    }
  }
  return out;
}
