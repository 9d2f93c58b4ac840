/** `YYYYmmdd-HHMMSS` stamps of UTC instants: dated file names (io/dated.ts) and run ids (the engine). */

/** `YYYYmmdd-HHMMSS` of a UTC instant (the course's `%Y%m%d-%H%M%S`). */
export function timestamp(date: Date = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
}

/** Parses `YYYYmmdd-HHMMSS` (with an optional `_n` suffix) back to its UTC instant; undefined if it is not one. */
export function parseTimestamp(name: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})(?:_\d+)?$/.exec(name);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const date = new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
  return timestamp(date) === name.slice(0, 15) ? date : undefined;
}
