import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  formatParisIso,
  formatValue,
  lastSundayAt1Utc,
  parisOffsetMinutes,
  pitchAngle,
  powerCurve,
  weibullQuantile,
  writeValue,
} from "../src/data/physics.js";
import { Ar1, Rng } from "../src/data/random.js";
import { COLUMNS, COURSE_DATASET, SENSOR_COLUMNS, TURBINES, VARIABLES } from "../src/data/schema.js";
import { planSynthetic, REAL_FILE_FACTS, synthesizeCsv, synthesizeDataset } from "../src/data/synthetic.js";
import { WindflowError } from "../src/errors.js";

const dir = mkdtempSync(join(tmpdir(), "windflow-synthetic-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A parsed synthetic CSV: header, raw fields per row, numeric sensor columns (NaN = empty). */
interface Parsed {
  header: string[];
  rows: string[][];
  num: (row: string[], column: string) => number;
}

function parse(text: string): Parsed {
  assert.ok(text.endsWith("\n"), "the file ends with a newline");
  assert.ok(!text.includes("\r"), "line ends are \\n");
  const lines = text.slice(0, -1).split("\n");
  const header = (lines[0] ?? "").split(";");
  const index = new Map(header.map((c, i) => [c, i]));
  const rows = lines.slice(1).map((line) => line.split(";"));
  const num = (row: string[], column: string) => {
    const i = index.get(column);
    assert.ok(i !== undefined, `no column ${column}`);
    const field = row[i] ?? "";
    return field === "" ? Number.NaN : Number(field);
  };
  return { header, rows, num };
}

// One month of January, all turbines: enough wind range for the physics checks (about 17,000 rows).
const month = parse(synthesizeCsv({ start: "2017-01-01T00:00:00+01:00", days: 30 }));
const withTarget = month.rows.filter((r) => !Number.isNaN(month.num(r, "Ba_avg")));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? Number.NaN;
}

describe("physics helpers", () => {
  test("Europe/Paris offset switches on the last Sundays of March and October at 01:00 UTC", () => {
    assert.equal(lastSundayAt1Utc(2017, 2), Date.UTC(2017, 2, 26, 1));
    assert.equal(lastSundayAt1Utc(2017, 9), Date.UTC(2017, 9, 29, 1));
    assert.equal(lastSundayAt1Utc(2020, 2), Date.UTC(2020, 2, 29, 1));
    const spring = Date.UTC(2017, 2, 26, 1);
    assert.equal(parisOffsetMinutes(spring - 1), 60);
    assert.equal(parisOffsetMinutes(spring), 120);
    const autumn = Date.UTC(2017, 9, 29, 1);
    assert.equal(parisOffsetMinutes(autumn - 1), 120);
    assert.equal(parisOffsetMinutes(autumn), 60);
    // Local wall clock jumps from 01:50+01:00 to 03:00+02:00, and 02:50+02:00 is followed by 02:00+01:00.
    assert.equal(formatParisIso(spring - 600_000), "2017-03-26T01:50:00+01:00");
    assert.equal(formatParisIso(spring), "2017-03-26T03:00:00+02:00");
    assert.equal(formatParisIso(autumn - 600_000), "2017-10-29T02:50:00+02:00");
    assert.equal(formatParisIso(autumn), "2017-10-29T02:00:00+01:00");
    assert.equal(formatParisIso(Date.parse(COURSE_DATASET.start)), COURSE_DATASET.start);
    assert.equal(formatParisIso(Date.parse("2017-07-01T10:00:00Z")), "2017-07-01T12:00:00+02:00");
  });

  test("values print like the real file (float32, 8 significant digits, at least one decimal)", () => {
    assert.equal(formatValue(44.99), "44.990002");
    assert.equal(formatValue(-1), "-1.0");
    assert.equal(formatValue(1370.16), "1370.16");
    assert.equal(formatValue(2278.94), "2278.9399");
    assert.equal(formatValue(5.3), "5.3000002");
    assert.equal(formatValue(0), "0.0");
    assert.equal(formatValue(-0.001), "0.0");
    assert.equal(formatValue(Number.NaN), "");
    // The byte writer used for the file gives the same text.
    const buf = new Uint8Array(32);
    const rng = new Rng(3, "format");
    for (let i = 0; i < 20_000; i++) {
      const x = i < 10_000 ? (i - 2000) / 100 : rng.between(-500, 15_000);
      const end = writeValue(buf, 0, x);
      assert.equal(Buffer.from(buf.subarray(0, end)).toString("latin1"), formatValue(x), `value ${x}`);
    }
  });

  test("power curve and pitch of the MM82", () => {
    assert.equal(powerCurve(2.5), 0);
    assert.equal(powerCurve(25), 0, "cut-out");
    assert.equal(powerCurve(16), 2050);
    for (let v = 3; v < 16; v += 0.1)
      assert.ok(powerCurve(v + 0.1) >= powerCurve(v), `P increases at ${v} m/s`);
    for (const v of [5, 6, 7, 8, 9]) assert.equal(pitchAngle(v), -1);
    assert.ok(pitchAngle(12) > 1 && pitchAngle(13) > 2.5 && pitchAngle(20) > 10);
  });

  test("seeded generator: reproducible streams, sane distributions", () => {
    const a = new Rng(42, "x");
    const b = new Rng(42, "x");
    const c = new Rng(42, "y");
    const sa = Array.from({ length: 5 }, () => a.nextUint32());
    assert.deepEqual(
      sa,
      Array.from({ length: 5 }, () => b.nextUint32()),
    );
    assert.notDeepEqual(
      sa,
      Array.from({ length: 5 }, () => c.nextUint32()),
    );
    const rng = new Rng(1, "stats");
    const n = 50_000;
    let sum = 0;
    let sumSq = 0;
    let wsum = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      sum += z;
      sumSq += z * z;
      wsum += rng.weibull(2, 7);
    }
    assert.ok(Math.abs(sum / n) < 0.02);
    assert.ok(Math.abs(sumSq / n - 1) < 0.03);
    assert.ok(Math.abs(wsum / n - 7 * 0.8862) < 0.06, "Weibull(2, 7) mean = 7 * Gamma(1.5)");
    // AR(1): lag-1 autocorrelation is rho.
    const ar = new Ar1(new Rng(2, "ar"), 10);
    let prev = ar.value;
    let cross = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const x = ar.next();
      cross += x * prev;
      sq += x * x;
      prev = x;
    }
    assert.ok(Math.abs(cross / sq - Math.exp(-1 / 10)) < 0.02);
    assert.ok(weibullQuantile(0, 2, 7) > 5.7 && weibullQuantile(0, 2, 7) < 5.9, "median = c * ln(2)^(1/k)");
  });
});

describe("synthetic dataset: schema and layout", () => {
  test("138 columns in the schema's order, every row complete, dates on the 10-minute grid", () => {
    assert.deepEqual(month.header, [...COLUMNS]);
    const dateRe = /^\d{4}-\d{2}-\d{2}T\d{2}:[0-5]0:00\+0[12]:00$/;
    for (const row of month.rows) {
      assert.equal(row.length, 138);
      assert.ok(TURBINES.includes(row[0] as (typeof TURBINES)[number]));
      assert.match(row[1] ?? "", dateRe);
      for (const c of SENSOR_COLUMNS) {
        const v = month.num(row, c);
        assert.ok(Number.isNaN(v) || Number.isFinite(v), `${c} = ${v}`);
      }
    }
    // January: winter time only, and the first record is the course file's first timestamp.
    assert.ok(month.rows.every((r) => (r[1] ?? "").endsWith("+01:00")));
    assert.ok(month.rows.some((r) => r[1] === COURSE_DATASET.start));
  });

  test("row counts per turbine: the range inclusive, one day duplicated for three turbines", () => {
    const records = 30 * 144 + 1;
    const counts = new Map<string, number>();
    for (const r of month.rows) counts.set(r[0] ?? "", (counts.get(r[0] ?? "") ?? 0) + 1);
    assert.equal(counts.get("R80790"), records);
    for (const t of ["R80711", "R80721", "R80736"]) assert.equal(counts.get(t), records + 144);
    // The duplicated rows are identical copies.
    const lines = new Set<string>();
    let duplicates = 0;
    for (const r of month.rows) {
      const line = r.join(";");
      if (lines.has(line)) duplicates++;
      lines.add(line);
    }
    assert.equal(duplicates, 3 * 144);
    const small = parse(synthesizeCsv({ days: 2, turbines: ["R80790", "R80711"], duplicateDay: false }));
    assert.equal(small.rows.length, 2 * (2 * 144 + 1));
  });

  test("the default range reproduces the course file's row counts and missing-value counts", () => {
    const plan = planSynthetic();
    assert.equal(plan.records, REAL_FILE_FACTS.records);
    assert.equal(plan.rows, COURSE_DATASET.rows);
    assert.deepEqual(
      plan.turbines.map((t) => t.rows),
      [54_433, 54_433, 54_433, 54_289],
    );
    const sum = (f: (t: (typeof plan.turbines)[number]) => number) =>
      plan.turbines.reduce((s, t) => s + f(t), 0);
    const ones = (a: Uint8Array) => a.reduce((s, x) => s + x, 0);
    assert.equal(
      sum((t) => ones(t.targetGap)),
      REAL_FILE_FACTS.targetMissing,
    );
    assert.equal(
      sum((t) => ones(t.qGap)),
      REAL_FILE_FACTS.qMissing,
    );
    assert.equal(
      sum((t) => ones(t.rmGap)),
      REAL_FILE_FACTS.rmMissing,
    );
    assert.equal(
      sum((t) => ones(t.rsGap)),
      REAL_FILE_FACTS.rsMissing,
    );
    for (const t of plan.turbines) {
      for (let i = 0; i < plan.records; i++) {
        if (t.qGap[i] || t.rmGap[i] || t.rsGap[i])
          assert.equal(t.targetGap[i], 0, "sensor gaps are in rows with a target");
      }
    }
  });

  test("rows are not sorted by date", () => {
    const times = month.rows.map((r) => Date.parse(r[1] ?? ""));
    let descents = 0;
    for (let i = 1; i < times.length; i++) if ((times[i] ?? 0) < (times[i - 1] ?? 0)) descents++;
    assert.ok(descents > 50, `only ${descents} descents`);
  });

  test("same seed, same bytes; another seed, another file; written atomically with progress", async () => {
    const options = { seed: 7, days: 2 };
    const a = synthesizeCsv(options);
    assert.equal(synthesizeCsv(options), a);
    assert.notEqual(synthesizeCsv({ seed: 8, days: 2 }), a);
    const progress: [number, number][] = [];
    const dest = join(dir, "small.csv");
    const result = await synthesizeDataset(dest, { ...options, onProgress: (d, t) => progress.push([d, t]) });
    assert.equal(readFileSync(dest, "latin1"), a);
    assert.equal(result.rows, a.split("\n").length - 2);
    assert.equal(result.seed, 7);
    assert.deepEqual(progress.at(-1), [result.rows, result.rows]);
    assert.deepEqual(readdirSync(dir), ["small.csv"], "no temporary file left");
    // A failure mid-way leaves nothing at the destination.
    const failed = join(dir, "failed.csv");
    await assert.rejects(
      synthesizeDataset(failed, {
        days: 20,
        onProgress: (d) => {
          if (d > 0) throw new Error("interrupted");
        },
      }),
      /interrupted/,
    );
    assert.equal(existsSync(failed), false);
    assert.deepEqual(readdirSync(dir), ["small.csv"]);
  });

  test("bad options are WindflowErrors", () => {
    assert.throws(() => planSynthetic({ start: "yesterday" }), WindflowError);
    assert.throws(() => planSynthetic({ start: "2017-01-01T00:05:00+01:00" }), WindflowError);
    assert.throws(
      () => planSynthetic({ start: "2017-02-01T00:00:00+01:00", end: "2017-01-01T00:00:00+01:00" }),
      WindflowError,
    );
    assert.throws(() => planSynthetic({ days: 1, end: "2017-02-01T00:00:00+01:00" }), WindflowError);
    assert.throws(() => planSynthetic({ turbines: ["R99999" as (typeof TURBINES)[number]] }), WindflowError);
    assert.throws(() => planSynthetic({ seed: 1.5 }), WindflowError);
  });
});

describe("synthetic dataset: missing values", () => {
  test("rows without a target are entirely empty; Pas and the Wa_c/Na_c spreads are always empty", () => {
    const empty = month.rows.filter((r) => Number.isNaN(month.num(r, "Ba_avg")));
    assert.ok(empty.length > 0, "some rows have no target");
    for (const r of empty) assert.ok(r.slice(2).every((f) => f === ""));
    for (const r of month.rows) {
      for (const c of [
        "Pas_avg",
        "Pas_min",
        "Pas_max",
        "Pas_std",
        "Wa_c_min",
        "Wa_c_std",
        "Na_c_max",
        "Na_c_std",
      ]) {
        assert.ok(Number.isNaN(month.num(r, c)), c);
      }
    }
  });

  test("each row reports either Va or Va1/Va2, Va first; Wa_c/Na_c averages at the end of the range", () => {
    const byTime = [...withTarget].sort((a, b) => Date.parse(a[1] ?? "") - Date.parse(b[1] ?? ""));
    let lastVa = 0;
    let firstVa12 = Number.POSITIVE_INFINITY;
    for (const r of byTime) {
      const va = !Number.isNaN(month.num(r, "Va_avg"));
      const va1 = !Number.isNaN(month.num(r, "Va1_avg"));
      const va2 = !Number.isNaN(month.num(r, "Va2_std"));
      assert.equal(va1, va2);
      assert.notEqual(va, va1, "exactly one of Va, Va1/Va2");
      const t = Date.parse(r[1] ?? "");
      if (va) lastVa = Math.max(lastVa, t);
      else firstVa12 = Math.min(firstVa12, t);
      assert.equal(Number.isNaN(month.num(r, "Wa_c_avg")), Number.isNaN(month.num(r, "Na_c_avg")));
    }
    const vaShare =
      withTarget.filter((r) => !Number.isNaN(month.num(r, "Va_avg"))).length / withTarget.length;
    assert.ok(Math.abs(vaShare - 77_132 / 215_636) < 0.01, `Va share ${vaShare}`);
    assert.ok(firstVa12 - lastVa < 2 * 86_400_000, "the switch happens once, at about the same time for all");
    const wac = withTarget.filter((r) => !Number.isNaN(month.num(r, "Wa_c_avg")));
    assert.ok(Math.abs(wac.length / withTarget.length - 33_931 / 215_636) < 0.01);
    const wacStart = Math.min(...wac.map((r) => Date.parse(r[1] ?? "")));
    assert.ok(wacStart > Date.parse("2017-01-24T00:00:00+01:00"), "Wa_c is reported at the end");
  });

  test("Q, Rm and Rs gaps come as runs of all four statistics", () => {
    for (const v of ["Q", "Rm", "Rs"]) {
      const missing = withTarget.filter((r) => Number.isNaN(month.num(r, `${v}_avg`)));
      assert.ok(missing.length > 0, `${v} has gaps`);
      for (const r of missing) {
        for (const s of ["min", "max", "std"]) assert.ok(Number.isNaN(month.num(r, `${v}_${s}`)));
      }
    }
  });
});

describe("synthetic dataset: physics", () => {
  const rows = withTarget;
  const col = (c: string) => rows.map((r) => month.num(r, c));
  const ws = col("Ws_avg");
  const p = col("P_avg");
  const ba = col("Ba_avg");
  const producing = (i: number) => (ba[i] ?? 90) < 30 && (p[i] ?? 0) > 0;
  const bin = (lo: number, hi: number, keep: (i: number) => boolean = () => true) =>
    rows.map((_, i) => i).filter((i) => (ws[i] ?? 0) >= lo && (ws[i] ?? 0) < hi && keep(i));

  test("power rises with wind speed, stays within rating, is about 0 below cut-in", () => {
    let previous = Number.NEGATIVE_INFINITY;
    for (let v = 4; v <= 12; v++) {
      const idx = bin(v - 0.5, v + 0.5, producing);
      assert.ok(idx.length >= 20, `bin ${v}: ${idx.length} rows`);
      const m = median(idx.map((i) => p[i] ?? 0));
      assert.ok(m > previous, `median P at ${v} m/s (${m}) above the previous bin (${previous})`);
      previous = m;
    }
    // The real 2014 sample's bin means: 7 m/s 580 kW, 10 m/s 1366 kW.
    const at7 = median(bin(6.5, 7.5, producing).map((i) => p[i] ?? 0));
    assert.ok(at7 > 500 && at7 < 650, `P at 7 m/s ${at7}`);
    for (const r of rows) {
      assert.ok(month.num(r, "P_avg") <= 2050 * 1.02);
      assert.ok(month.num(r, "P_max") <= 2050 * 1.02);
    }
    const calm = bin(0, 2.5);
    assert.ok(calm.length > 20);
    for (const i of calm) assert.ok(Math.abs(p[i] ?? 0) < 10, `P ${p[i]} at ${ws[i]} m/s`);
  });

  test("pitch near -1 deg from 5 to 9 m/s, rising above rated wind, 44.99 idling, about 90 when stopped", () => {
    const mid = bin(5, 9, producing).map((i) => ba[i] ?? 0);
    assert.ok(mid.length > 1000);
    const m = median(mid);
    assert.ok(m >= -1 && m <= -0.95, `median pitch 5-9 m/s ${m}`);
    const high = bin(12.5, 30, producing).map((i) => ba[i] ?? 0);
    assert.ok(high.length > 20 && median(high) > 1.5, `median pitch above 12.5 m/s ${median(high)}`);
    assert.ok(
      ba.some((b) => Math.abs(b - 44.99) < 1e-4),
      "idle rows at 44.99",
    );
    assert.ok(
      ba.some((b) => b > 89 && b < 91.5),
      "stopped rows near 90",
    );
    assert.ok(ba.every((b) => b >= -1 && b < 100));
  });

  test("S^2 = P^2 + Q^2 and Cosphi = |P|/S on the averages; Ds = Rs x 105; components warmer than outside", () => {
    for (const r of rows) {
      const [pp, q, s, cos] = ["P_avg", "Q_avg", "S_avg", "Cosphi_avg"].map((c) =>
        month.num(r, c),
      ) as number[];
      if (Number.isNaN(q as number)) continue;
      assert.ok(
        Math.abs(Math.hypot(pp as number, q as number) - (s as number)) <= 0.011,
        `S ${s} P ${pp} Q ${q}`,
      );
      const expected = (s as number) > 0 ? Math.abs(pp as number) / (s as number) : 1;
      assert.ok(Math.abs(expected - (cos as number)) <= 0.006, `Cosphi ${cos} expected ${expected}`);
      const rs = month.num(r, "Rs_avg");
      const ds = month.num(r, "Ds_avg");
      if (rs > 9) assert.ok(Math.abs(ds / rs - 105.1) < 1.5, `Ds/Rs ${ds / rs}`);
      if ((pp as number) > 1000) assert.ok(month.num(r, "Gost_avg") > month.num(r, "Ot_avg") + 10);
    }
  });

  test("min <= avg <= max and std >= 0 for every variable (directions: within the wrapped arc)", () => {
    for (const r of rows) {
      for (const v of VARIABLES) {
        const [avg, min, max, std] = ["avg", "min", "max", "std"].map((s) =>
          month.num(r, `${v}_${s}`),
        ) as number[];
        if (Number.isNaN(avg as number) || Number.isNaN(min as number)) continue;
        assert.ok((std as number) >= 0, `${v}_std`);
        if (v === "Wa" || v === "Ya") {
          const below = ((avg as number) - (min as number) + 360) % 360;
          const above = ((max as number) - (avg as number) + 360) % 360;
          assert.ok(below <= 180 && above <= 180, `${v}: ${min} ${avg} ${max}`);
          for (const x of [avg, min, max] as number[]) assert.ok(x >= 0 && x < 360);
        } else {
          assert.ok(
            (min as number) <= (avg as number) && (avg as number) <= (max as number),
            `${v}: ${min} ${avg} ${max}`,
          );
        }
      }
    }
  });
});
