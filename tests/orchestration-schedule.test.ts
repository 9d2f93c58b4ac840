import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cronMatches, nextCronTick, parseCron, prevCronTick } from "../src/orchestration/cron.js";
import { formatDuration, parseDuration } from "../src/orchestration/duration.js";
import { CronError, DateError, DurationError, FutureLogicalDateError } from "../src/orchestration/errors.js";
import {
  describeSchedule,
  intervalStartingAt,
  manualRun,
  manualRunNow,
  nextDueAt,
  nextRun,
  normalizeSchedule,
  runIdFor,
  runsDue,
} from "../src/orchestration/schedule.js";
import type { ScheduleSpec } from "../src/orchestration/types.js";

const at = (iso: string) => new Date(iso);
const iso = (d: Date) => d.toISOString().replace(".000Z", "Z");
const next = (expr: string, after: string) => iso(nextCronTick(parseCron(expr), at(after)));
const prev = (expr: string, before: string) => iso(prevCronTick(parseCron(expr), at(before)));

describe("durations", () => {
  test("texts and numbers", () => {
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("30s"), 30_000);
    assert.equal(parseDuration("10m"), 600_000);
    assert.equal(parseDuration("4h"), 14_400_000);
    assert.equal(parseDuration("28d"), 28 * 86_400_000);
    assert.equal(parseDuration("2w"), 14 * 86_400_000);
    assert.equal(parseDuration("1h30m"), 5_400_000);
    assert.equal(parseDuration("1h 30m"), 5_400_000);
    assert.equal(parseDuration("1.5s"), 1500);
    assert.equal(parseDuration(0), 0);
    assert.equal(parseDuration(250), 250);
  });
  test("refused, with the text in the message", () => {
    for (const bad of ["", "10", "ten minutes", "5y", "-3s", "1.0005s"])
      assert.throws(
        () => parseDuration(bad),
        (e: unknown) => e instanceof DurationError && e.text === bad,
        bad,
      );
    assert.throws(() => parseDuration(-1), DurationError);
    assert.throws(() => parseDuration(1.5), DurationError);
  });
  test("formatDuration", () => {
    assert.equal(formatDuration(5_400_000), "1h30m");
    assert.equal(formatDuration(120_000), "2m");
    assert.equal(formatDuration(250), "250ms");
    assert.equal(formatDuration(0), "0s");
    assert.equal(parseDuration(formatDuration(987_654_321)), 987_654_321);
  });
});

describe("cron parsing", () => {
  test("fields, ranges, steps, lists, names", () => {
    const c = parseCron("0,30 */6 1-10/3 jan-mar,DEC mon-fri");
    assert.deepEqual([...c.minutes], [0, 30]);
    assert.deepEqual([...c.hours], [0, 6, 12, 18]);
    assert.deepEqual([...c.daysOfMonth], [1, 4, 7, 10]);
    assert.deepEqual([...c.months], [1, 2, 3, 12]);
    assert.deepEqual([...c.daysOfWeek], [1, 2, 3, 4, 5]);
    assert.equal(c.dayOr, true);
    assert.deepEqual([...parseCron("5/20 * * * *").minutes], [5, 25, 45]);
    assert.deepEqual([...parseCron("* * * * 7").daysOfWeek], [0]);
    assert.deepEqual([...parseCron("* * * * 5-7").daysOfWeek].sort(), [0, 5, 6]);
    assert.deepEqual([...parseCron("* * * * */2").daysOfWeek], [0, 2, 4, 6]);
    assert.equal(parseCron("0 0 * * mon").dayOr, false);
    assert.equal(parseCron("0 0 */2 * mon").dayOr, false);
  });
  test("presets", () => {
    assert.equal(next("@hourly", "2026-01-01T10:20:00Z"), "2026-01-01T11:00:00Z");
    assert.equal(next("@daily", "2026-01-01T10:20:00Z"), "2026-01-02T00:00:00Z");
    assert.equal(next("@weekly", "2026-01-01T10:20:00Z"), "2026-01-04T00:00:00Z"); // a Sunday
    assert.equal(next("@monthly", "2026-01-31T10:20:00Z"), "2026-02-01T00:00:00Z");
    assert.equal(next("@yearly", "2026-01-01T00:00:00Z"), "2027-01-01T00:00:00Z");
  });
  const bad: [string, string][] = [
    ["61 * * * *", "minute"],
    ["0 24 * * *", "hour"],
    ["0 0 0 * *", "day of month"],
    ["0 0 32 * *", "day of month"],
    ["0 0 * 13 *", "month"],
    ["0 0 * foo *", "month"],
    ["0 0 * * 8", "day of week"],
    ["0 0 * * sunday", "day of week"],
    ["*/0 * * * *", "minute"],
    ["5-1 * * * *", "minute"],
    ["1,,2 * * * *", "minute"],
    ["0 0 L * *", "day of month"],
    ["0 0 30 2 *", "day of month"],
    ["* * *", "expression"],
    ["* * * * * *", "expression"],
    ["@fortnightly", "preset"],
  ];
  for (const [expr, field] of bad)
    test(`"${expr}" is refused, naming the ${field}`, () =>
      assert.throws(
        () => parseCron(expr),
        (e: unknown) => e instanceof CronError && e.field === field && e.message.includes(`${field}:`),
      ));
});

describe("cron matching in UTC", () => {
  test("next and previous ticks", () => {
    assert.equal(next("0 */4 * * *", "2026-01-01T01:00:00Z"), "2026-01-01T04:00:00Z");
    assert.equal(next("0 */4 * * *", "2026-01-01T04:00:00Z"), "2026-01-01T08:00:00Z"); // strictly after
    assert.equal(next("0 */4 * * *", "2026-01-01T20:30:00Z"), "2026-01-02T00:00:00Z");
    assert.equal(next("*/2 * * * *", "2026-01-01T00:00:30Z"), "2026-01-01T00:02:00Z");
    assert.equal(prev("0 */4 * * *", "2026-01-01T04:00:00Z"), "2026-01-01T00:00:00Z"); // strictly before
    assert.equal(prev("0 */4 * * *", "2026-01-01T04:00:01Z"), "2026-01-01T04:00:00Z");
    assert.equal(prev("@monthly", "2026-03-01T00:00:00Z"), "2026-02-01T00:00:00Z");
  });
  test("month ends and leap days", () => {
    assert.equal(next("0 0 31 * *", "2026-01-31T00:00:00Z"), "2026-03-31T00:00:00Z");
    assert.equal(next("0 0 31 * *", "2026-03-31T00:00:00Z"), "2026-05-31T00:00:00Z");
    assert.equal(next("0 0 29 2 *", "2026-01-01T00:00:00Z"), "2028-02-29T00:00:00Z");
    assert.equal(prev("0 0 29 2 *", "2028-01-01T00:00:00Z"), "2024-02-29T00:00:00Z");
    assert.equal(next("59 23 * * *", "2026-12-31T23:59:00Z"), "2027-01-01T23:59:00Z");
    assert.equal(next("0 12 28-31 2 *", "2027-02-28T12:00:00Z"), "2028-02-28T12:00:00Z");
  });
  test("day of month OR day of week when both are restricted, AND when one starts with *", () => {
    // 2026-01-01 is a Thursday. "13th or a Friday": Friday the 2nd comes first.
    assert.equal(next("0 0 13 * fri", "2026-01-01T00:00:00Z"), "2026-01-02T00:00:00Z");
    assert.equal(next("0 0 13 * fri", "2026-01-10T00:00:00Z"), "2026-01-13T00:00:00Z");
    // "every other day that is a Friday": */2 keeps AND.
    assert.equal(next("0 0 */2 * fri", "2026-01-01T00:00:00Z"), "2026-01-09T00:00:00Z");
    assert.equal(next("0 9 * * mon-fri", "2026-01-02T09:00:00Z"), "2026-01-05T09:00:00Z");
  });
  test("next and prev agree with minute-by-minute matching over eight days", () => {
    for (const expr of ["*/7 3-5 * * *", "15,45 */5 * * 0,6", "0 0-23/3 2-3 * *", "30 1 * * sun-tue"]) {
      const cron = parseCron(expr);
      const start = Date.UTC(2026, 0, 1);
      const ticks: number[] = [];
      for (let t = start; t < start + 8 * 86_400_000; t += 60_000)
        if (cronMatches(cron, new Date(t))) ticks.push(t);
      assert.ok(ticks.length > 2, expr);
      let t = nextCronTick(cron, new Date(start - 1)).getTime();
      for (const want of ticks) {
        assert.equal(t, want, expr);
        t = nextCronTick(cron, new Date(t)).getTime();
      }
      for (let i = ticks.length - 1; i > 0; i--)
        assert.equal(prevCronTick(cron, new Date(ticks[i] as number)).getTime(), ticks[i - 1], expr);
    }
  });
});

describe("schedules", () => {
  test("normalizeSchedule keeps what the author wrote", () => {
    assert.deepEqual(normalizeSchedule("@weekly"), { cron: "@weekly" });
    assert.deepEqual(normalizeSchedule(" 0 */4 * * * "), { cron: "0 */4 * * *" });
    assert.deepEqual(normalizeSchedule({ cron: "*/2 * * * *" }), { cron: "*/2 * * * *" });
    assert.deepEqual(normalizeSchedule("2m"), { every: "2m" });
    assert.deepEqual(normalizeSchedule({ every: "28d" }), { every: "28d" });
    assert.deepEqual(normalizeSchedule({ every: 120_000 }), { every: "2m" });
    assert.equal(normalizeSchedule(null), null);
    assert.throws(
      () => normalizeSchedule("0 25 * * *"),
      (e: unknown) => e instanceof CronError && e.field === "hour",
    );
    assert.throws(() => normalizeSchedule("weekly"), DurationError);
    assert.throws(() => normalizeSchedule({ every: "500ms" }), DurationError);
  });
  test("describeSchedule", () => {
    assert.equal(describeSchedule({ cron: "@daily" }), "@daily");
    assert.equal(describeSchedule({ cron: "0 * * * *" }), "cron 0 * * * *");
    assert.equal(describeSchedule({ every: "2m" }), "every 2m");
    assert.equal(describeSchedule(null), "manual only");
  });
});

const dagWith = (schedule: ScheduleSpec, startDate: string, catchup: boolean) => ({
  schedule,
  startDate,
  catchup,
});
const starts = (list: { start: Date }[]) => list.map((i) => iso(i.start));

describe("data intervals and catch-up", () => {
  const daily = dagWith({ cron: "@daily" }, "2026-01-01T00:00:00.000Z", true);

  test("catchup: every missed interval since the start date, logical date = interval start", () => {
    const due = runsDue(daily, at("2026-01-10T12:00:00Z"), null);
    assert.equal(due.length, 9);
    assert.equal(iso(due[0]?.start as Date), "2026-01-01T00:00:00Z");
    assert.equal(iso(due[0]?.end as Date), "2026-01-02T00:00:00Z");
    assert.equal(iso(due[8]?.start as Date), "2026-01-09T00:00:00Z");
    assert.equal(iso(due[8]?.end as Date), "2026-01-10T00:00:00Z");
  });
  test("catchup: since the last scheduled run; an interval is due once its end has passed", () => {
    assert.deepEqual(starts(runsDue(daily, at("2026-01-10T12:00:00Z"), at("2026-01-05T00:00:00Z"))), [
      "2026-01-06T00:00:00Z",
      "2026-01-07T00:00:00Z",
      "2026-01-08T00:00:00Z",
      "2026-01-09T00:00:00Z",
    ]);
    assert.equal(runsDue(daily, at("2026-01-09T23:59:59Z"), at("2026-01-08T00:00:00Z")).length, 0);
    assert.equal(runsDue(daily, at("2026-01-10T00:00:00Z"), at("2026-01-08T00:00:00Z")).length, 1);
    assert.equal(runsDue(daily, at("2026-01-10T12:00:00Z"), at("2026-01-09T00:00:00Z")).length, 0);
    assert.equal(runsDue(daily, at("2026-01-01T23:00:00Z"), null).length, 0); // the first interval is not over
    assert.equal(runsDue(daily, at("2025-06-01T00:00:00Z"), null).length, 0); // before the start date
  });
  test("catchup: limit takes the oldest first", () => {
    assert.deepEqual(starts(runsDue(daily, at("2026-01-10T12:00:00Z"), null, { limit: 2 })), [
      "2026-01-01T00:00:00Z",
      "2026-01-02T00:00:00Z",
    ]);
    const everyTwo = dagWith({ every: "2m" }, "2017-01-01T00:00:00Z", true);
    assert.equal(runsDue(everyTwo, at("2026-01-01T00:00:00Z"), null).length, 1000);
  });
  test("no catchup: only the latest complete interval, if newer than the last run", () => {
    const latest = dagWith({ cron: "@daily" }, "2026-01-01T00:00:00.000Z", false);
    assert.deepEqual(starts(runsDue(latest, at("2026-01-10T12:00:00Z"), null)), ["2026-01-09T00:00:00Z"]);
    assert.deepEqual(starts(runsDue(latest, at("2026-01-10T12:00:00Z"), at("2026-01-03T00:00:00Z"))), [
      "2026-01-09T00:00:00Z",
    ]);
    assert.deepEqual(runsDue(latest, at("2026-01-10T12:00:00Z"), at("2026-01-09T00:00:00Z")), []);
    // The predict DAG: every 2 minutes, no catch-up, started years ago.
    const predict = dagWith({ every: "2m" }, "2020-01-01T00:00:00Z", false);
    const due = runsDue(predict, at("2026-11-25T17:31:05Z"), null);
    assert.deepEqual(
      due.map((i) => [iso(i.start), iso(i.end)]),
      [["2026-11-25T17:28:00Z", "2026-11-25T17:30:00Z"]],
    );
  });
  test("fixed intervals are anchored at the start date", () => {
    const train = dagWith({ every: "28d" }, "2026-01-01T06:00:00.000Z", true);
    assert.deepEqual(starts(runsDue(train, at("2026-03-01T00:00:00Z"), null)), [
      "2026-01-01T06:00:00Z",
      "2026-01-29T06:00:00Z",
    ]);
    const odd = dagWith({ every: "2m" }, "2026-01-01T00:00:30Z", true);
    assert.deepEqual(starts(runsDue(odd, at("2026-01-01T00:06:29Z"), null)), [
      "2026-01-01T00:00:30Z",
      "2026-01-01T00:02:30Z",
    ]);
    // A last run off the grid (the schedule changed): the next interval starts on the grid after it.
    assert.deepEqual(starts(runsDue(odd, at("2026-01-01T00:08:30Z"), at("2026-01-01T00:03:00Z"))), [
      "2026-01-01T00:04:30Z",
      "2026-01-01T00:06:30Z",
    ]);
  });
  test("cron intervals start at the first tick at or after a start date off the grid", () => {
    const monthly = dagWith({ cron: "@monthly" }, "2026-01-15T00:00:00Z", true);
    assert.deepEqual(
      runsDue(monthly, at("2026-05-01T00:00:00Z"), null).map((i) => [iso(i.start), iso(i.end)]),
      [
        ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"],
        ["2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"],
        ["2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"],
      ],
    );
    const monthEnds = dagWith({ cron: "0 0 31 * *" }, "2026-01-01T00:00:00Z", true);
    assert.deepEqual(starts(runsDue(monthEnds, at("2026-08-01T00:00:00Z"), null)), [
      "2026-01-31T00:00:00Z",
      "2026-03-31T00:00:00Z",
      "2026-05-31T00:00:00Z",
    ]);
  });
  test("UTC has no DST: daily intervals are 24 h across the March and October changes", () => {
    const d = dagWith({ cron: "0 1 * * *" }, "2026-03-20T00:00:00Z", true);
    for (const i of runsDue(d, at("2026-11-01T00:00:00Z"), null))
      assert.equal(i.end.getTime() - i.start.getTime(), 86_400_000);
  });
  test("a DAG without schedule has no scheduled runs", () => {
    const manual = dagWith(null, "2026-01-01T00:00:00Z", true);
    assert.deepEqual(runsDue(manual, at("2027-01-01T00:00:00Z"), null), []);
    assert.equal(nextRun(manual, null), null);
    assert.equal(nextDueAt(manual, at("2027-01-01T00:00:00Z"), null), null);
  });
  test("nextRun and nextDueAt", () => {
    const four = dagWith({ cron: "0 */4 * * *" }, "2026-01-01T00:00:00Z", false);
    const first = nextRun(four, null);
    assert.deepEqual(
      [iso(first?.start as Date), iso(first?.end as Date)],
      ["2026-01-01T00:00:00Z", "2026-01-01T04:00:00Z"],
    );
    const after = nextRun(four, at("2026-01-01T04:00:00Z"));
    assert.equal(iso(after?.start as Date), "2026-01-01T08:00:00Z");
    assert.equal(
      iso(nextDueAt(four, at("2026-01-01T09:00:00Z"), at("2026-01-01T04:00:00Z")) as Date),
      "2026-01-01T12:00:00Z",
    );
    const now = at("2026-01-01T09:00:00Z");
    assert.equal(nextDueAt(four, now, null), now); // [04:00, 08:00) is due
    const future = dagWith({ every: "1h" }, "2030-01-01T00:00:00Z", true);
    assert.equal(iso(nextDueAt(future, now, null) as Date), "2030-01-01T01:00:00Z");
    assert.deepEqual([intervalStartingAt(four, at("2026-01-01T08:00:00Z")).end].map(iso), [
      "2026-01-01T12:00:00Z",
    ]);
  });
});

describe("manual runs", () => {
  test("logical date = trigger time to the second, and the stamp dated files use", () => {
    const run = manualRun(at("2026-11-25T17:30:05.789Z"));
    assert.equal(run.logicalDate.toISOString(), "2026-11-25T17:30:05.000Z");
    assert.equal(run.stamp, "20261125-173005");
    assert.equal(run.runId, "manual__20261125-173005");
    assert.deepEqual(run.dataInterval, { start: run.logicalDate, end: run.logicalDate });
  });
  test("a given logical date is kept", () => {
    const run = manualRun(at("2026-11-25T17:30:05Z"), "2026-01-01T00:00:00Z");
    assert.equal(run.stamp, "20260101-000000");
    assert.throws(() => manualRun(new Date(), "yesterday"), DateError);
  });
  test("a run created now is never dated in the future: a later logical date is refused, naming it and now", () => {
    const now = at("2026-11-25T17:30:05.789Z");
    assert.equal(manualRunNow(now).stamp, "20261125-173005", "no date: now, to the second");
    assert.equal(
      manualRunNow(now, "2026-11-25T17:30:05.789Z").logicalDate.getTime(),
      now.getTime(),
      "now itself",
    );
    assert.equal(manualRunNow(now, "2026-01-01T00:00:00Z").stamp, "20260101-000000", "the past");
    assert.throws(
      () => manualRunNow(now, "2026-11-25T17:30:06Z"),
      (e: unknown) =>
        e instanceof FutureLogicalDateError &&
        e.message ===
          "a run cannot be dated in the future: logical date 2026-11-25T17:30:06.000Z is after now (2026-11-25T17:30:05.789Z)" &&
        /leave the logical date out/.test(e.hint ?? ""),
    );
    assert.throws(() => manualRunNow(now, "tomorrow"), DateError);
  });
  test("run ids", () => {
    assert.equal(runIdFor("scheduled", at("2026-01-01T00:00:00Z")), "scheduled__20260101-000000");
  });
});
