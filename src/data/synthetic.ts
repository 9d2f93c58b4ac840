/**
 * A deterministic synthetic stand-in for the course file `la-haute-borne-data-2017-2020.csv` (ENGIE open data,
 * four Senvion MM82 turbines at La Haute Borne, Meuse), for machines that cannot download it.
 *
 * It has the real file's schema (138 columns, `;`, ISO dates with the Europe/Paris offset), row counts, row
 * disorder and missing-value patterns, and its values come from physics rather than noise:
 * - weather: a farm-wide latent Gaussian (a slow synoptic AR(1) plus a fast one, matching the real 10-minute
 *   wind autocorrelation 0.95 / 0.84 / 0.53 at lags 10 min / 1 h / 6 h) mapped to Weibull quantiles whose
 *   scale follows a seasonal and a daily cycle (annual k about 2.3); each turbine adds a small deviation.
 *   Outdoor temperature has season, day and synoptic anomalies (Meuse: about 10 C mean). Wind direction
 *   switches between regimes, prevailing south-west.
 * - each 10-minute record is simulated as 10 one-minute sub-steps (turbulence, start-ups, stops, yaw moves),
 *   then aggregated into `_avg/_min/_max/_std` like the SCADA does: the statistics are mutually consistent and
 *   a record where the turbine starts mid-interval averages 45 deg and -1 deg pitch, as the real ones do.
 * - turbine: MM82 power curve, pitch, rotor / generator speed, torque, reactive and apparent power, grid,
 *   yaw tracking, vanes, and component temperatures that lag the load (physics.ts).
 * - operation: stops (faults, maintenance, long outages) with blades feathered at 90 deg, a few % of the time,
 *   so that the target `Ba_avg` has the real mean (12.02) and median (-0.97).
 *
 * Facts reproduced exactly for the default range (README of ../shared/data/la-haute-borne): 217,588 rows;
 * 54,433 rows for R80711/R80721/R80736 (one day of records duplicated) and 54,289 for R80790; `Ba_avg` present
 * in 215,636 rows; among those, `Va_*` null in 138,504 and `Va1_*`/`Va2_*` in 77,132 (Va reported first, then
 * Va1/Va2), `Wa_c_avg`/`Na_c_avg` null in 181,705 (reported at the end of the period), `Q_*` 3,330, `Rm_*` 3,551,
 * `Rs_*` 2,832 (runs of consecutive records, like communication outages); `Pas_*` and `Wa_c`/`Na_c`
 * min/max/std entirely empty. Shorter ranges get the same patterns in proportion.
 *
 * Angle convention: `Wa` and `Ya` (absolute directions) are wrapped into [0, 360) for every statistic, so their
 * `_min`/`_max` may be numerically above/below `_avg` when the interval crosses north, as in the real file
 * (`Wa_avg` 22.77, `Wa_min` 336.81, `Wa_max` 72.49). Every other variable has `_min <= _avg <= _max`.
 */
import { open } from "node:fs/promises";
import { resolve } from "node:path";
import { WindflowError } from "../errors.js";
import { writeAtomically } from "../util/atomic.js";
import {
  angleDiff,
  apparentPower,
  CUT_IN_LOW_MS,
  CUT_IN_MS,
  CUT_OUT_MS,
  CUT_OUT_RESTART_MS,
  dayOfYear,
  densityWindFactor,
  FEATHER_PITCH_DEG,
  formatParisIso,
  GEAR_RATIO,
  IDLE_PITCH_DEG,
  idleRotorSpeed,
  parisOffsetMinutes,
  pitchAngle,
  powerCurve,
  powerFactor,
  RATED_POWER_KW,
  rotorSpeed,
  round2,
  shaftTorque,
  solarHour,
  weibullQuantile,
  wrap360,
  writeValue,
} from "./physics.js";
import { Ar1, Rng } from "./random.js";
import {
  COLUMNS,
  COURSE_DATASET,
  SEPARATOR,
  TURBINES,
  type Turbine,
  VARIABLES,
  type Variable,
} from "./schema.js";

/** Called 29.6 million times: a local binding, not a property of the imported module (tsx makes those getters). */
const writeValueFast = writeValue;

export const DEFAULT_SEED = 42;
/** SCADA records are 10-minute aggregates. */
export const STEP_MS = 600_000;
const DAY_MS = 86_400_000;
/** One-minute sub-steps per record. */
const SUBSTEPS = 10;
const NV = VARIABLES.length;
/** Sensor columns per row: 34 variables x (avg, min, max, std). */
const NCOL = NV * 4;

/** Facts of the real course file that the default configuration reproduces exactly. */
export const REAL_FILE_FACTS = {
  /** 10-minute records from 2017-01-01T00:00+01:00 to 2018-01-13T00:00+01:00 inclusive. */
  records: 54_289,
  rows: 217_588,
  /** These three have 144 more rows than R80790: one duplicated day. */
  duplicatedTurbines: ["R80711", "R80721", "R80736"] as readonly Turbine[],
  duplicatedRecords: 144,
  /** 217,588 - 215,636 rows without a target. */
  targetMissing: 1_952,
  /** Among the rows with a target: rows reporting `Va` (the others report `Va1`/`Va2`). */
  vaPresent: 77_132,
  /** Among the rows with a target: rows reporting `Wa_c_avg` and `Na_c_avg` (217,588 - 1,952 - 181,705). */
  wacPresent: 33_931,
  qMissing: 3_330,
  rmMissing: 3_551,
  rsMissing: 2_832,
} as const;

export interface SyntheticOptions {
  /** Seed of every random draw: the same seed gives the same bytes. @default 42 */
  seed?: number;
  /** First timestamp (ISO 8601 with offset, or a Date), on a 10-minute boundary. @default 2017-01-01T00:00:00+01:00 */
  start?: string | Date;
  /** Last timestamp, inclusive like the course file's range. @default 2018-01-13T00:00:00+01:00 */
  end?: string | Date;
  /** Instead of `end`: the range covers `days` days after `start`, inclusive (`days * 144 + 1` records). */
  days?: number;
  /** Which turbines, in any order. @default all four */
  turbines?: readonly Turbine[];
  /**
   * Repeat one day of records (144 rows, identical copies) of R80711, R80721 and R80736, as in the real file.
   * For ranges shorter than 3 days, `floor(records / 3)` records are repeated. @default true
   */
  duplicateDay?: boolean;
  /** Called after each chunk of rows is produced, and once at the end. */
  onProgress?: (rowsDone: number, rowsTotal: number) => void;
}

/** Where each turbine's records are missing, duplicated, or report which vane columns. Record indices. */
export interface TurbinePlan {
  name: Turbine;
  /** Data rows in the file for this turbine (records + duplicated records). */
  rows: number;
  /** Records `[from, to)` appear twice in the file, or null. */
  duplicate: { from: number; to: number } | null;
  /** 1 where the whole record is empty (no target). */
  targetGap: Uint8Array;
  /** 1 where `Q_*`, `Rm_*`, `Rs_*` are empty. */
  qGap: Uint8Array;
  rmGap: Uint8Array;
  rsGap: Uint8Array;
  /** Records before this index report `Va_*`, later ones `Va1_*`/`Va2_*`. */
  vaUntil: number;
  /** Records from this index on report `Wa_c_avg`/`Na_c_avg`. */
  wacFrom: number;
}

export interface SyntheticPlan {
  seed: number;
  /** First timestamp, UTC milliseconds. */
  startMs: number;
  /** 10-minute records per turbine (before duplication). */
  records: number;
  turbines: TurbinePlan[];
  /** Data rows in the file (the header excluded). */
  rows: number;
}

function toMs(value: string | Date, what: string): number {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new WindflowError(`synthetic dataset: ${what} ${String(value)} is not a date`, {
      hint: "give an ISO 8601 date with its offset, e.g. 2017-01-01T00:00:00+01:00",
    });
  }
  if (ms % STEP_MS !== 0) {
    throw new WindflowError(`synthetic dataset: ${what} ${String(value)} is not on a 10-minute boundary`, {
      hint: "records are 10-minute aggregates: use a time like 2017-01-01T00:10:00+01:00",
    });
  }
  return ms;
}

/** Splits `total` into `parts` integers differing by at most one, the larger ones first. */
function splitEvenly(total: number, parts: number, index: number): number {
  const base = Math.floor(total / parts);
  return base + (index < total - base * parts ? 1 : 0);
}

/**
 * Marks `budget` entries of `eligible` (record indices, ascending) in `mask`, as runs of consecutive eligible
 * records whose lengths are exponential with mean `meanRun`. The runs never overlap and the count is exact:
 * lengths are drawn until they cover the budget (the last one trimmed), then the free records are spread
 * between them at random (random cut points), like outages scattered over the period.
 */
function placeRuns(rng: Rng, eligible: Int32Array, budget: number, meanRun: number, mask: Uint8Array): void {
  const want = Math.min(Math.max(0, Math.round(budget)), eligible.length);
  if (want === 0) return;
  const runs: number[] = [];
  let covered = 0;
  while (covered < want) {
    const len = Math.min(want - covered, 1 + Math.floor(rng.exponential(meanRun)));
    runs.push(len);
    covered += len;
  }
  const free = eligible.length - want;
  const cuts: number[] = [];
  for (let i = 0; i < runs.length; i++) cuts.push(rng.int(free + 1));
  cuts.sort((a, b) => a - b);
  let position = 0;
  let previousCut = 0;
  for (let r = 0; r < runs.length; r++) {
    const cut = cuts[r] ?? 0;
    position += cut - previousCut;
    previousCut = cut;
    const len = runs[r] ?? 0;
    for (let i = 0; i < len; i++) mask[eligible[position + i] ?? 0] = 1;
    position += len;
  }
}

/** Indices `i` in `[0, n)` with `keep(i)`. */
function indicesWhere(n: number, keep: (i: number) => boolean): Int32Array {
  const out = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) if (keep(i)) out[k++] = i;
  return out.slice(0, k);
}

/**
 * Decides, before generating anything, the range, the rows of each turbine and where values are missing.
 * Budgets are the real file's counts, split evenly between the turbines and scaled by the share of the real
 * range that is generated, so the default reproduces them exactly.
 */
export function planSynthetic(options: SyntheticOptions = {}): SyntheticPlan {
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(seed)) {
    throw new WindflowError(`synthetic dataset: seed ${String(seed)} is not an integer`, {
      hint: "use e.g. 42",
    });
  }
  const startMs = toMs(options.start ?? COURSE_DATASET.start, "start");
  let endMs: number;
  if (options.days !== undefined) {
    if (options.end !== undefined) {
      throw new WindflowError("synthetic dataset: both `end` and `days` given", { hint: "give one of them" });
    }
    if (!(options.days > 0) || !Number.isFinite(options.days)) {
      throw new WindflowError(`synthetic dataset: days must be positive, got ${options.days}`);
    }
    endMs = startMs + Math.round((options.days * DAY_MS) / STEP_MS) * STEP_MS;
  } else {
    endMs = toMs(options.end ?? COURSE_DATASET.end, "end");
  }
  if (endMs < startMs) {
    throw new WindflowError("synthetic dataset: end is before start", { hint: "swap them" });
  }
  const records = (endMs - startMs) / STEP_MS + 1;
  const names = options.turbines ?? TURBINES;
  if (names.length === 0) throw new WindflowError("synthetic dataset: no turbine selected");
  for (const name of names) {
    if (!TURBINES.includes(name)) {
      throw new WindflowError(`synthetic dataset: unknown turbine ${String(name)}`, {
        hint: `choose among ${TURBINES.join(", ")}`,
      });
    }
  }
  if (new Set(names).size !== names.length)
    throw new WindflowError("synthetic dataset: a turbine is listed twice");

  const scale = records / REAL_FILE_FACTS.records;
  const budget = (total: number, turbineIndex: number) =>
    Math.round(splitEvenly(total, TURBINES.length, turbineIndex) * scale);

  // The duplicated day: the same one for every turbine that has it (as a re-ingested day would be), between
  // 45 % and 75 % of the range, so it falls after the Va -> Va1/Va2 switch (36 %) and before the Wa_c period (84 %),
  // which keeps their counts exact; starting at a local midnight when the range allows it.
  let duplicate: { from: number; to: number } | null = null;
  const dupLength = Math.min(REAL_FILE_FACTS.duplicatedRecords, Math.floor(records / 3));
  if ((options.duplicateDay ?? true) && dupLength > 0) {
    const rng = new Rng(seed, "duplicate");
    const lo = Math.floor(records * 0.45);
    const hi = Math.max(lo, Math.floor(records * 0.75) - dupLength);
    let from = lo + rng.int(hi - lo + 1);
    for (let i = from; i + dupLength <= records && i < from + 144; i++) {
      const t = startMs + i * STEP_MS;
      if ((t + parisOffsetMinutes(t) * 60_000) % DAY_MS === 0) {
        from = i;
        break;
      }
    }
    from = Math.min(from, records - dupLength);
    duplicate = { from, to: from + dupLength };
  }

  const turbines = names.map((name): TurbinePlan => {
    const ti = TURBINES.indexOf(name);
    const rng = new Rng(seed, "plan", name);
    const dup = REAL_FILE_FACTS.duplicatedTurbines.includes(name) ? duplicate : null;
    const outsideDup = (i: number) => dup === null || i < dup.from || i >= dup.to;
    const targetGap = new Uint8Array(records);
    placeRuns(
      rng,
      indicesWhere(records, outsideDup),
      budget(REAL_FILE_FACTS.targetMissing, ti),
      18,
      targetGap,
    );
    const withTarget = indicesWhere(records, (i) => targetGap[i] === 0 && outsideDup(i));
    const qGap = new Uint8Array(records);
    const rmGap = new Uint8Array(records);
    const rsGap = new Uint8Array(records);
    placeRuns(rng, withTarget, budget(REAL_FILE_FACTS.qMissing, ti), 30, qGap);
    placeRuns(rng, withTarget, budget(REAL_FILE_FACTS.rmMissing, ti), 30, rmGap);
    placeRuns(rng, withTarget, budget(REAL_FILE_FACTS.rsMissing, ti), 30, rsGap);

    // Va is reported until the count of records with a target reaches the budget, then Va1/Va2.
    const vaBudget = budget(REAL_FILE_FACTS.vaPresent, ti);
    let vaUntil = records;
    let seen = 0;
    if (vaBudget === 0) vaUntil = 0;
    else {
      for (let i = 0; i < records; i++) {
        if (targetGap[i] === 0 && ++seen === vaBudget) {
          vaUntil = i + 1;
          break;
        }
      }
    }
    // Wa_c_avg / Na_c_avg are reported by the last `wacBudget` records with a target.
    const wacBudget = budget(REAL_FILE_FACTS.wacPresent, ti);
    let wacFrom = records;
    seen = 0;
    if (wacBudget > 0) {
      wacFrom = 0;
      for (let i = records - 1; i >= 0; i--) {
        if (targetGap[i] === 0 && ++seen === wacBudget) {
          wacFrom = i;
          break;
        }
      }
    }
    return {
      name,
      rows: records + (dup ? dup.to - dup.from : 0),
      duplicate: dup,
      targetGap,
      qGap,
      rmGap,
      rsGap,
      vaUntil,
      wacFrom,
    };
  });
  return { seed, startMs, records, turbines, rows: turbines.reduce((sum, t) => sum + t.rows, 0) };
}

// -----------------------------------------------------------------------------------------------------------------
// The simulation.

const vi = (v: Variable): number => VARIABLES.indexOf(v);
const BA = vi("Ba");
const RT = vi("Rt");
const DCS = vi("DCs");
const CM = vi("Cm");
const P = vi("P");
const Q = vi("Q");
const S = vi("S");
const COSPHI = vi("Cosphi");
const DS = vi("Ds");
const YA = vi("Ya");
const WS1 = vi("Ws1");
const WS2 = vi("Ws2");
const WS = vi("Ws");
const WA = vi("Wa");
const VA1 = vi("Va1");
const VA2 = vi("Va2");
const VA = vi("Va");
const OT = vi("Ot");
const NF = vi("Nf");
const NU = vi("Nu");
const RS = vi("Rs");
const RM = vi("Rm");
const PAS = vi("Pas");
const WA_C = vi("Wa_c");
const NA_C = vi("Na_c");

/**
 * How each variable's sub-step extremes become the record's `_min`/`_max`: the SCADA takes extremes of 1-second
 * samples, which reach further than extremes of 10 one-minute sub-steps (real `Ws_max - Ws_avg` is about 2.5-3
 * times `Ws_std`, 10 sub-steps give about 1.5), so the spread is widened by `gamma` and clamped to [lo, hi].
 */
interface Spread {
  gamma: number;
  lo: number;
  hi: number;
}
const SPREAD: Spread[] = VARIABLES.map(() => ({ gamma: 1.15, lo: -1e9, hi: 1e9 }));
function spread(v: number, gamma: number, lo = -1e9, hi = 1e9): void {
  SPREAD[v] = { gamma, lo, hi };
}
spread(BA, 1.3, -1, 95);
for (const v of [WS, WS1, WS2]) spread(v, 1.8, 0, 60);
spread(P, 1.7, -12, RATED_POWER_KW + 35);
spread(Q, 1.7, -50, 900);
spread(S, 1.7, 0, 2300);
spread(COSPHI, 1.2, 0, 1);
spread(RS, 1.5, 0, 18.5);
spread(DS, 1.5, 0, 1950);
spread(DCS, 1.5, 0, 1950);
spread(RM, 1.7, -500, 15_000);
spread(CM, 1.7, -500, 15_000);
spread(VA, 1.8, -180, 180);
spread(VA1, 1.8, -180, 180);
spread(VA2, 1.8, -180, 180);
spread(WA, 1.8);
spread(YA, 1);
spread(NF, 1.6);
spread(NU, 1.6);
/** Slow sensors read at a fixed resolution (temperatures): extremes are actual readings, not widened. */
const SENSOR_SPREAD: Spread = { gamma: 1, lo: -1e9, hi: 1e9 };
SPREAD[OT] = SENSOR_SPREAD;

/**
 * Component temperatures: T = lagged outdoor + (offset when stopped .. when running, following a 4-hour lag of
 * the running state) + gain x lagged load. Calibrated on the real rows: in January (outdoor 5 C, low power)
 * gearbox bearings 37-58 C, generator stator 32-65 C, nacelle 20-25 C, hub 12-14 C; after a long stop (outdoor
 * 0.1 C) stator 18.7, gearbox inlet 18.4, nacelle 7.6, hub 8. `step` is the sensor's resolution: the real hub
 * temperature is read in whole degrees (Rt_min 12.0, Rt_max 13.0, Rt_avg 12.65), the others by 0.05 or 0.1.
 */
const TEMPERATURES: {
  v: number;
  stop: number;
  run: number;
  gain: number;
  fast: boolean;
  noise: number;
  step: number;
}[] = [
  { v: RT, stop: 4, run: 7, gain: 4, fast: false, noise: 0.4, step: 1 },
  { v: vi("Db1t"), stop: 7, run: 22, gain: 26, fast: false, noise: 0.2, step: 0.05 },
  { v: vi("Db2t"), stop: 6, run: 20, gain: 26, fast: false, noise: 0.2, step: 0.05 },
  { v: vi("Dst"), stop: 15, run: 28, gain: 58, fast: true, noise: 0.5, step: 0.05 },
  { v: vi("Gb1t"), stop: 22, run: 32, gain: 22, fast: true, noise: 0.2, step: 0.05 },
  { v: vi("Gb2t"), stop: 18, run: 30, gain: 24, fast: true, noise: 0.3, step: 0.05 },
  { v: vi("Git"), stop: 15, run: 33, gain: 15, fast: true, noise: 0.2, step: 0.05 },
  { v: vi("Gost"), stop: 14, run: 32, gain: 15, fast: false, noise: 0.12, step: 0.05 },
  { v: vi("Yt"), stop: 6, run: 13, gain: 9, fast: false, noise: 0.15, step: 0.1 },
  { v: vi("Rbt"), stop: 6, run: 13, gain: 9, fast: false, noise: 0.06, step: 0.05 },
];

for (const spec of TEMPERATURES) SPREAD[spec.v] = SENSOR_SPREAD;

/**
 * Weibull law of the 10-minute nacelle wind speed at a given time of year and day. The seasonal and daily cycles
 * of the scale widen the annual distribution to an effective k of about 2.3 (mean 6.3 m/s). Calibrated on the
 * target: the real file's median (-0.97) needs more than half of the records between 4.2 and 9.4 m/s, where the
 * blades rest at fine pitch, which a k of 2 (more calm and more storm) does not give; the scale then sets the
 * share of idling records (pitch 44.99) that, with the stops, gives the mean (12.02).
 */
const WIND_SCALE = 7.35;
const WEIBULL_K = 2.4;
/** Wind-direction regimes (deg) and their shares: prevailing south-west, then south, north-east, north-west. */
const DIRECTION_REGIMES = [
  { mean: 222, share: 0.48 },
  { mean: 175, share: 0.2 },
  { mean: 45, share: 0.22 },
  { mean: 300, share: 0.1 },
];

/** Farm-wide weather and grid, advanced once per 10-minute step. */
class FarmWeather {
  private readonly rng: Rng;
  private readonly slow: Ar1;
  private readonly fast: Ar1;
  private readonly tempAnomaly: Ar1;
  private readonly dirAnomaly: Ar1;
  private readonly freq: Ar1;
  private readonly volt: Ar1;
  private regimeMean: number;
  private dirMean: number;
  /** Latent standard normal driving the wind speed. */
  z = 0;
  /** Weibull scale of the 10-minute wind at this time (m/s). */
  scale = WIND_SCALE;
  /** Outdoor temperature (C). */
  ot = 10;
  /** Wind direction (deg). */
  dir = 220;
  /** Turbulence factor: convective days are gustier than stable nights. */
  turbulence = 1;
  nf = 50;
  nu = 700;

  constructor(seed: number) {
    this.rng = new Rng(seed, "farm");
    // Slow synoptic (36 h) and fast (1 h) components, 75/25: lag correlations 0.95 (10 min), 0.81 (1 h),
    // 0.63 (6 h) against the real 2014 sample's 0.95, 0.84, 0.53.
    this.slow = new Ar1(this.rng, 216);
    this.fast = new Ar1(this.rng, 6);
    this.tempAnomaly = new Ar1(this.rng, 432);
    this.dirAnomaly = new Ar1(this.rng, 72);
    this.freq = new Ar1(this.rng, 3);
    this.volt = new Ar1(this.rng, 36);
    this.regimeMean = this.drawRegime();
    this.dirMean = this.regimeMean;
  }

  private drawRegime(): number {
    let u = this.rng.uniform();
    for (const regime of DIRECTION_REGIMES) {
      u -= regime.share;
      if (u <= 0) return regime.mean;
    }
    return DIRECTION_REGIMES[0]?.mean ?? 220;
  }

  advance(t: number): void {
    const season = Math.cos((2 * Math.PI * (dayOfYear(t) - 20)) / 365.25); // 1 in mid-January
    const hour = solarHour(t);
    this.z = Math.sqrt(0.75) * this.slow.next() + Math.sqrt(0.25) * this.fast.next();
    // Windier in winter (+15 %), and at hub height slightly windier at night than in the afternoon.
    this.scale = WIND_SCALE * (1 + 0.15 * season) * (1 + 0.05 * Math.cos((2 * Math.PI * (hour - 23)) / 24));
    // Meuse: about 2.5 C in January, 18.5 C in July; daily range larger in summer and in calm weather.
    const calm = 1 - 0.35 * Math.tanh(Math.max(0, this.z));
    const daily = (3.6 - 1.4 * season) * calm;
    this.ot =
      11.2 - 8 * season + daily * Math.cos((2 * Math.PI * (hour - 15)) / 24) + 3 * this.tempAnomaly.next();
    this.turbulence = 1 + 0.2 * Math.cos((2 * Math.PI * (hour - 14)) / 24);
    // Direction: weather regimes lasting about 3 days, reached over a few hours, with a 12-hour wander.
    if (this.rng.chance(1 / 432)) this.regimeMean = this.drawRegime();
    this.dirMean = wrap360(this.dirMean + 0.03 * angleDiff(this.regimeMean, this.dirMean));
    this.dir = wrap360(this.dirMean + 30 * this.dirAnomaly.next());
    this.nf = 50 + 0.015 * this.freq.next();
    this.nu = 700.5 + 2 * this.volt.next();
  }
}

enum Mode {
  Run = 0,
  Idle = 1,
  Stop = 2,
}

const lag = (tauSteps: number) => 1 - Math.exp(-1 / tauSteps);
const LAG_FAST = lag(4); // 40 minutes
const LAG_SLOW = lag(12); // 2 hours
const LAG_RUNNING = lag(24); // 4 hours
const LAG_OUTDOOR = lag(6); // 1 hour

/**
 * Share of the time a turbine is stopped with its blades feathered (faults, maintenance, outages). With the
 * wind climate above it gives the target the real file's mean (12.02) while the producing records keep its
 * median (-0.97): each % of stops adds about 0.9 deg to the mean.
 */
const STOP_SHARE = 0.062;

/** Stop episodes of one turbine, in one-minute sub-steps: `[start[e], end[e])`, with the feathered pitch. */
interface StopPlan {
  start: Int32Array;
  end: Int32Array;
  feather: Float64Array;
}

/**
 * Plans the stops of a turbine over `substeps` minutes so that they cover exactly `STOP_SHARE` of them: an
 * availability fixed in advance rather than left to chance, so the target's mean does not swing with the
 * draws of a few long outages. Episodes: faults (70 %, log-normal around 2.5 hours, 20 minutes to a day),
 * maintenance (25 %, 4 to 9 hours) and long outages waiting for parts (5 %, 1 to 3 days), scattered at random.
 */
function planStops(rng: Rng, substeps: number): StopPlan {
  const budget = Math.round(STOP_SHARE * substeps);
  const lengths: number[] = [];
  let covered = 0;
  while (covered < budget) {
    const kind = rng.uniform();
    const minutes =
      kind < 0.7
        ? Math.min(1440, Math.max(20, rng.logNormal(150, 1)))
        : kind < 0.95
          ? rng.between(240, 540)
          : rng.between(1440, 4320);
    const len = Math.min(budget - covered, Math.round(minutes));
    lengths.push(len);
    covered += len;
  }
  const free = substeps - budget;
  const cuts = lengths.map(() => rng.int(free + 1)).sort((a, b) => a - b);
  const start = new Int32Array(lengths.length);
  const end = new Int32Array(lengths.length);
  const feather = new Float64Array(lengths.length);
  let position = 0;
  let previousCut = 0;
  lengths.forEach((len, e) => {
    const cut = cuts[e] ?? 0;
    position += cut - previousCut;
    previousCut = cut;
    start[e] = position;
    end[e] = position + len;
    // Real stopped rows read 90.019997 and the like: the feathered position differs a little per episode.
    feather[e] = FEATHER_PITCH_DEG + round2(0.03 * rng.normal());
    position += len;
  });
  return { start, end, feather };
}

/** One turbine: its deviations from the farm, its operating state, yaw, and thermal state. */
class TurbineSim {
  private readonly rng: Rng;
  private readonly deviation: Ar1;
  private readonly dirDeviation: Ar1;
  private readonly reactive: Ar1;
  private readonly thermal: Ar1;
  private readonly windFactor: number;
  private readonly anemometerSkew: number;
  private readonly vaneBias: number;
  private readonly vane1Offset: number;
  private readonly vane2Offset: number;
  private readonly otOffset: number;
  private readonly nuOffset: number;
  private readonly tempOffsets: number[];
  private mode: Mode = Mode.Idle;
  private storm = false;
  private readonly stops: StopPlan;
  /** Index of the next stop episode that has not ended yet. */
  private nextStop = 0;
  /** Global index of the current one-minute sub-step. */
  private clock = 0;
  private rs = 0;
  private pitch: number = IDLE_PITCH_DEG;
  private filteredWind = 0;
  /** Consecutive one-minute sub-steps with the filtered wind above cut-in. */
  private aboveCutIn = 0;
  private yaw: number;
  private previousDir = Number.NaN;
  private loadFast = 0.2;
  private loadSlow = 0.2;
  private running = 1;
  private outdoor = Number.NaN;
  private readonly sub = new Float64Array(NV * SUBSTEPS);

  constructor(seed: number, name: Turbine, records: number) {
    this.rng = new Rng(seed, "turbine", name);
    this.stops = planStops(new Rng(seed, "stops", name), records * SUBSTEPS);
    const rng = this.rng;
    this.deviation = new Ar1(rng, 3);
    this.dirDeviation = new Ar1(rng, 36);
    this.reactive = new Ar1(rng, 72);
    this.thermal = new Ar1(rng, 36);
    this.windFactor = 1 + 0.02 * rng.normal();
    // Real rows: Ws2 reads 0.1-0.45 m/s above Ws1.
    this.anemometerSkew = 0.035 + 0.01 * rng.normal();
    this.vaneBias = 1.5 * rng.normal();
    this.vane1Offset = 2 * rng.normal();
    this.vane2Offset = 2 * rng.normal();
    this.otOffset = 0.3 * rng.normal();
    this.nuOffset = 1.5 * rng.normal();
    this.tempOffsets = TEMPERATURES.map(() => 1.5 * rng.normal());
    this.yaw = rng.between(0, 360);
  }

  /** Simulates the next record and writes its 136 sensor values (rounded, NaN = empty) at `out[offset...]`. */
  step(farm: FarmWeather, out: Float32Array, offset: number): void {
    const rng = this.rng;
    const sub = this.sub;
    const z = Math.sqrt(0.96) * farm.z + Math.sqrt(0.04) * this.deviation.next();
    const wind = this.windFactor * weibullQuantile(z, WEIBULL_K, farm.scale);
    const ot = farm.ot + this.otOffset;
    if (Number.isNaN(this.outdoor)) this.outdoor = ot;
    // Rotor-effective wind: density-corrected, and not exactly what the nacelle anemometer sees.
    const effective = wind * densityWindFactor(ot) * (1 + 0.025 * rng.normal());
    const sigmaU = (0.06 * wind + 0.25) * farm.turbulence * Math.exp(0.2 * rng.normal());
    const dir = wrap360(farm.dir + 3 * this.dirDeviation.value);
    this.dirDeviation.next();
    const sigmaDir = (5 + 30 / (wind + 2)) * Math.exp(0.2 * rng.normal());
    const previousDir = Number.isNaN(this.previousDir) ? dir : this.previousDir;
    const dirStep = angleDiff(dir, previousDir) / SUBSTEPS;
    this.previousDir = dir;
    const qBase = Math.max(0, 12 + 7 * this.reactive.next());
    const yawStart = this.yaw;
    const vaneNoise = 3 * rng.normal();
    const skew = this.anemometerSkew;

    if (wind > CUT_OUT_MS) this.storm = true;
    else if (wind < CUT_OUT_RESTART_MS) this.storm = false;

    // Most records keep the blades exactly at fine pitch (the real January 2014 sample: 41 % of the rows have
    // Ba_avg = -1.0, 58 % are at or below -0.98); in the others the controller nudges them by a few hundredths.
    const nudge = rng.chance(0.45) ? rng.exponential(0.012) : 0;
    let runShare = 0;
    for (let j = 0; j < SUBSTEPS; j++) {
      const g = rng.normal();
      const u = Math.max(0, wind + sigmaU * g);
      const ue = Math.max(0, effective + 0.55 * sigmaU * g);
      this.filteredWind += 0.5 * (ue - this.filteredWind);
      const stops = this.stops;
      const now = this.clock++;
      while (this.nextStop < stops.start.length && stops.end[this.nextStop]! <= now) this.nextStop++;
      const inStop = this.nextStop < stops.start.length && stops.start[this.nextStop]! <= now;
      const stopped = this.storm || inStop;
      const before = this.mode;
      if (stopped) this.mode = Mode.Stop;
      else if (this.mode === Mode.Stop) this.mode = Mode.Idle;
      this.aboveCutIn = this.filteredWind > CUT_IN_MS ? this.aboveCutIn + 1 : 0;
      // Start after 3 minutes above cut-in, stop below the lower threshold: in the real 2014 sample the
      // turbines idle in 77 % of the records of the 3 m/s bin and produce in 96 % of those of the 4 m/s bin.
      if (this.mode === Mode.Idle && this.aboveCutIn >= 3) this.mode = Mode.Run;
      else if (this.mode === Mode.Run && this.filteredWind < CUT_IN_LOW_MS) this.mode = Mode.Idle;

      let ba: number;
      let p: number;
      let rsTarget: number;
      let q: number;
      if (this.mode === Mode.Run) {
        // Pitch mostly rests at fine pitch; now and then the controller nudges it by a few hundredths.
        ba = pitchAngle(ue) + nudge * Math.abs(rng.normal());
        p = Math.min(RATED_POWER_KW + 8, powerCurve(ue) * (1 + 0.01 * rng.normal()));
        rsTarget = rotorSpeed(ue);
        q = qBase + 0.045 * p + 1.5 * rng.normal();
        runShare++;
      } else if (this.mode === Mode.Idle) {
        ba = IDLE_PITCH_DEG;
        p = -(0.7 + 0.4 * Math.abs(rng.normal()));
        rsTarget = idleRotorSpeed(u);
        q = 0.05 * rng.normal();
      } else {
        ba = inStop ? stops.feather[this.nextStop]! : FEATHER_PITCH_DEG;
        p = -(1.6 + 0.8 * Math.abs(rng.normal()));
        rsTarget = 0;
        q = 0.05 * rng.normal();
      }
      if (this.mode !== before) {
        // The blades travel during this minute: its average lies between the two positions.
        const f = rng.uniform();
        ba = this.pitch + (ba - this.pitch) * f;
        if (this.mode === Mode.Run) p *= f;
      }
      this.pitch = ba;
      this.rs += (this.mode === Mode.Run ? 0.6 : 0.4) * (rsTarget - this.rs);
      const rs = Math.max(0, this.rs + (this.mode === Mode.Run ? 0.08 * rng.normal() : 0));
      const ds = rs * GEAR_RATIO * (1 + 0.0005 * rng.normal());
      const dcs = Math.max(0, ds + 1.5 + 0.3 * rng.normal());
      const rm = Math.max(-400, shaftTorque(p, ds));
      const cm = this.mode === Mode.Run ? 1.04 * rm + 260 + 15 * rng.normal() : -6 + 0.1 * rng.normal();
      const s = apparentPower(p, q);

      // Yaw: the nacelle follows the slow direction once the misalignment passes 10 deg, at 0.5 deg/s.
      const slowDir = previousDir + dirStep * (j + 1);
      const err = angleDiff(slowDir, this.yaw);
      if (this.mode !== Mode.Stop && wind > 2.5 && Math.abs(err) > 10) {
        this.yaw = wrap360(this.yaw + Math.sign(err) * Math.min(Math.abs(err), 30));
      }
      const dwa = sigmaDir * rng.normal();
      const va = angleDiff(dir + dwa, this.yaw) + this.vaneBias + vaneNoise;

      sub[BA * SUBSTEPS + j] = ba;
      sub[P * SUBSTEPS + j] = p;
      sub[Q * SUBSTEPS + j] = q;
      sub[S * SUBSTEPS + j] = s;
      sub[COSPHI * SUBSTEPS + j] = powerFactor(p, s);
      sub[RS * SUBSTEPS + j] = rs;
      sub[DS * SUBSTEPS + j] = ds;
      sub[DCS * SUBSTEPS + j] = dcs;
      sub[RM * SUBSTEPS + j] = rm;
      sub[CM * SUBSTEPS + j] = cm;
      const ws1 = Math.max(0, u * (1 - skew) + 0.05 * rng.normal());
      const ws2 = Math.max(0, u * (1 + skew) + 0.05 * rng.normal());
      sub[WS1 * SUBSTEPS + j] = ws1;
      sub[WS2 * SUBSTEPS + j] = ws2;
      sub[WS * SUBSTEPS + j] = (ws1 + ws2) / 2;
      sub[WA * SUBSTEPS + j] = dwa; // relative to `dir`
      sub[YA * SUBSTEPS + j] = angleDiff(this.yaw, yawStart); // relative to `yawStart`
      sub[VA * SUBSTEPS + j] = va;
      sub[VA1 * SUBSTEPS + j] = va + this.vane1Offset + 0.8 * rng.normal();
      sub[VA2 * SUBSTEPS + j] = va + this.vane2Offset + 0.8 * rng.normal();
      sub[NF * SUBSTEPS + j] = farm.nf + 0.01 * rng.normal();
      sub[NU * SUBSTEPS + j] = farm.nu + this.nuOffset + 0.002 * p + 0.4 * rng.normal();
      sub[OT * SUBSTEPS + j] = quantize(ot + 0.05 * rng.normal(), 0.05);
    }

    // Thermal state: lags of the load, of the running state and of the outdoor temperature.
    let pSum = 0;
    for (let j = 0; j < SUBSTEPS; j++) pSum += sub[P * SUBSTEPS + j]!;
    const load = Math.min(1, Math.max(0, pSum / SUBSTEPS / RATED_POWER_KW));
    const spinning = runShare / SUBSTEPS;
    this.loadFast += LAG_FAST * (load - this.loadFast);
    this.loadSlow += LAG_SLOW * (load - this.loadSlow);
    this.running += LAG_RUNNING * (spinning - this.running);
    this.outdoor += LAG_OUTDOOR * (ot - this.outdoor);
    const anomaly = this.thermal.next();
    for (let n = 0; n < TEMPERATURES.length; n++) {
      const spec = TEMPERATURES[n]!;
      const level =
        this.outdoor +
        spec.stop +
        (spec.run - spec.stop) * this.running +
        spec.gain * (spec.fast ? this.loadFast : this.loadSlow) +
        this.tempOffsets[n]! +
        0.8 * anomaly;
      for (let j = 0; j < SUBSTEPS; j++) {
        sub[spec.v * SUBSTEPS + j] = quantize(level + spec.noise * rng.normal(), spec.step);
      }
    }

    // Aggregate the sub-steps into the record's statistics.
    for (let v = 0; v < NV; v++) {
      if (v === WA || v === YA || v === PAS || v === WA_C || v === NA_C) continue;
      aggregate(sub, v, SPREAD[v]!, out, offset + v * 4);
    }
    aggregateAngle(sub, WA, dir, SPREAD[WA]!, out, offset + WA * 4);
    aggregateAngle(sub, YA, yawStart, SPREAD[YA]!, out, offset + YA * 4);
    // Wa_c and Na_c are the direction and nacelle angle shifted by a 15-deg calibration (real rows: Wa 22.77 ->
    // Wa_c 37.77, Ya 18.75 -> Na_c 33.75); only their averages are ever reported.
    out[offset + WA_C * 4] = roundAngle(out[offset + WA * 4]! + 15);
    out[offset + NA_C * 4] = roundAngle(out[offset + YA * 4]! + 15);
    for (let s = 1; s < 4; s++) {
      out[offset + WA_C * 4 + s] = Number.NaN;
      out[offset + NA_C * 4 + s] = Number.NaN;
    }
    for (let s = 0; s < 4; s++) out[offset + PAS * 4 + s] = Number.NaN;
    // S and Cosphi averages follow the averaged P and Q exactly: S^2 = P^2 + Q^2, Cosphi = |P| / S.
    const pAvg = out[offset + P * 4]!;
    const qAvg = out[offset + Q * 4]!;
    const sAvg = round2(apparentPower(pAvg, qAvg));
    setAverage(out, offset + S * 4, sAvg);
    setAverage(out, offset + COSPHI * 4, round2(powerFactor(pAvg, sAvg)));
  }
}

function quantize(x: number, step: number): number {
  return Math.round(x / step) * step;
}

function roundAngle(deg: number): number {
  const r = round2(wrap360(deg));
  return r >= 360 ? r - 360 : r;
}

/** Replaces a record's average and widens its min/max to keep min <= avg <= max. */
function setAverage(out: Float32Array, o: number, avg: number): void {
  out[o] = avg;
  if (out[o + 1]! > avg) out[o + 1] = avg;
  if (out[o + 2]! < avg) out[o + 2] = avg;
}

function stats(sub: Float64Array, v: number): [mean: number, min: number, max: number, std: number] {
  let sum = 0;
  let sumSq = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  const base = v * SUBSTEPS;
  for (let j = 0; j < SUBSTEPS; j++) {
    const x = sub[base + j]!;
    sum += x;
    sumSq += x * x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = sum / SUBSTEPS;
  const variance = Math.max(0, sumSq / SUBSTEPS - mean * mean);
  // Constant sub-steps (an idle pitch of 44.99) must give a std of exactly 0, not float dust.
  const std = max - min < 1e-9 ? 0 : Math.sqrt(variance);
  return [mean, min, max, std];
}

function aggregate(sub: Float64Array, v: number, spec: Spread, out: Float32Array, o: number): void {
  const [mean, min, max, std] = stats(sub, v);
  const lo = Math.min(mean, Math.max(spec.lo, mean - spec.gamma * (mean - min)));
  const hi = Math.max(mean, Math.min(spec.hi, mean + spec.gamma * (max - mean)));
  out[o] = round2(mean);
  out[o + 1] = round2(lo);
  out[o + 2] = round2(hi);
  out[o + 3] = round2(std);
}

/** Angles relative to `reference`: avg, min and max are wrapped into [0, 360) (see the module comment). */
function aggregateAngle(
  sub: Float64Array,
  v: number,
  reference: number,
  spec: Spread,
  out: Float32Array,
  o: number,
) {
  const [mean, min, max, std] = stats(sub, v);
  out[o] = roundAngle(reference + mean);
  out[o + 1] = roundAngle(reference + mean - spec.gamma * (mean - min));
  out[o + 2] = roundAngle(reference + mean + spec.gamma * (max - mean));
  out[o + 3] = round2(std);
}

/** Blanks what the plan says is missing in record `i` of a turbine. */
function applyPlan(plan: TurbinePlan, i: number, out: Float32Array, offset: number): void {
  if (plan.targetGap[i] === 1) {
    out.fill(Number.NaN, offset, offset + NCOL);
    return;
  }
  const blank = (v: number) => out.fill(Number.NaN, offset + v * 4, offset + v * 4 + 4);
  if (i < plan.vaUntil) {
    blank(VA1);
    blank(VA2);
  } else blank(VA);
  if (i < plan.wacFrom) {
    out[offset + WA_C * 4] = Number.NaN;
    out[offset + NA_C * 4] = Number.NaN;
  }
  if (plan.qGap[i] === 1) blank(Q);
  if (plan.rmGap[i] === 1) blank(RM);
  if (plan.rsGap[i] === 1) blank(RS);
}

// -----------------------------------------------------------------------------------------------------------------
// Output.

/** Records generated before their rows are shuffled and written: one week (bounded memory, ~4 MB chunks). */
const WINDOW_RECORDS = 1008;
/** Rows are written in shuffled blocks of up to 6 hours of one turbine: the real file is not sorted either. */
const BLOCK_RECORDS = 36;

/** A piece of the CSV file (ASCII bytes) and how many data rows it holds. */
export interface SyntheticChunk {
  bytes: Buffer;
  rows: number;
}

/** Upper bound of the bytes of one row: name, date, 136 values of at most 13 characters, separators. */
const MAX_ROW_BYTES = 64 + NCOL * 14;

/**
 * The synthetic CSV as a sequence of byte chunks: the header first, then about one week of rows per chunk
 * (~3.4 MB). Pure and deterministic (same options, same bytes); `synthesizeDataset` writes it to a file.
 * Values are written as bytes straight into the chunk (`writeValue`): building 29.6 million small strings
 * would spend most of the run in the garbage collector.
 */
export function* syntheticChunks(
  options: SyntheticOptions = {},
  plan = planSynthetic(options),
): Generator<SyntheticChunk> {
  yield { bytes: Buffer.from(`${COLUMNS.join(SEPARATOR)}\n`, "latin1"), rows: 0 };
  const farm = new FarmWeather(plan.seed);
  const sims = plan.turbines.map((t) => new TurbineSim(plan.seed, t.name, plan.records));
  const order = new Rng(plan.seed, "order");
  const nt = plan.turbines.length;
  const sep = SEPARATOR.charCodeAt(0);
  const names = plan.turbines.map((t) => Buffer.from(t.name + SEPARATOR, "latin1"));
  const values = new Float32Array(WINDOW_RECORDS * nt * NCOL);
  const dates: Buffer[] = [];
  for (let w0 = 0; w0 < plan.records; w0 += WINDOW_RECORDS) {
    const w1 = Math.min(plan.records, w0 + WINDOW_RECORDS);
    for (let i = w0; i < w1; i++) {
      const t = plan.startMs + i * STEP_MS;
      farm.advance(t);
      dates[i - w0] = Buffer.from(formatParisIso(t), "latin1");
      for (let k = 0; k < nt; k++) {
        const offset = ((i - w0) * nt + k) * NCOL;
        sims[k]!.step(farm, values, offset);
        applyPlan(plan.turbines[k]!, i, values, offset);
      }
    }
    const blocks: [turbine: number, from: number, to: number][] = [];
    for (let k = 0; k < nt; k++) {
      for (let b = w0; b < w1; b += BLOCK_RECORDS) blocks.push([k, b, Math.min(w1, b + BLOCK_RECORDS)]);
      const dup = plan.turbines[k]!.duplicate;
      if (dup) {
        const lo = Math.max(w0, dup.from);
        const hi = Math.min(w1, dup.to);
        for (let b = lo; b < hi; b += BLOCK_RECORDS) blocks.push([k, b, Math.min(hi, b + BLOCK_RECORDS)]);
      }
    }
    order.shuffle(blocks);
    let rows = 0;
    for (const [, from, to] of blocks) rows += to - from;
    const out = Buffer.allocUnsafe(rows * MAX_ROW_BYTES);
    let pos = 0;
    for (const [k, from, to] of blocks) {
      const name = names[k]!;
      for (let i = from; i < to; i++) {
        pos += name.copy(out, pos);
        pos += dates[i - w0]!.copy(out, pos);
        const offset = ((i - w0) * nt + k) * NCOL;
        for (let c = 0; c < NCOL; c++) {
          out[pos++] = sep;
          pos = writeValueFast(out, pos, values[offset + c]!);
        }
        out[pos++] = 10;
      }
    }
    yield { bytes: out.subarray(0, pos), rows };
  }
}

/** The whole synthetic CSV as one string: for small ranges (tests); use `synthesizeDataset` for the full file. */
export function synthesizeCsv(options: SyntheticOptions = {}): string {
  const chunks: Buffer[] = [];
  for (const chunk of syntheticChunks(options)) chunks.push(chunk.bytes);
  return Buffer.concat(chunks).toString("latin1");
}

/**
 * Writes the synthetic dataset to `dest` (atomically: an interrupted or failed run leaves nothing there), in
 * chunks of about one week of rows, reporting progress in rows. The default options reproduce the course
 * file's range, row counts and missing-value counts (217,588 rows, ~180 MB).
 */
export async function synthesizeDataset(
  dest: string,
  options: SyntheticOptions = {},
): Promise<{ rows: number; path: string; seed: number }> {
  const plan = planSynthetic(options);
  const path = resolve(dest);
  await writeAtomically(path, async (tmp) => {
    const file = await open(tmp, "w");
    let pending: Promise<unknown> = Promise.resolve();
    try {
      let done = 0;
      options.onProgress?.(0, plan.rows);
      for (const chunk of syntheticChunks(options, plan)) {
        // The next chunk is generated while this one is being written.
        await pending;
        pending = file.write(chunk.bytes);
        done += chunk.rows;
        options.onProgress?.(done, plan.rows);
      }
      await pending;
    } finally {
      await pending.catch(() => undefined);
      await file.close();
    }
  });
  return { rows: plan.rows, path, seed: plan.seed };
}
