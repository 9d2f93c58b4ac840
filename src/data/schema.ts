/**
 * The La Haute Borne SCADA schema: 138 columns, `;`-separated, as in the course file
 * `la-haute-borne-data-2017-2020.csv` (ENGIE open data). Facts from ../shared/data/la-haute-borne/README.md.
 */

/** The 34 measured variables, in file order. Each has `_avg,_min,_max,_std` columns. */
export const VARIABLES = [
  "Ba", "Rt", "DCs", "Cm", "P", "Q", "S", "Cosphi", "Ds", "Db1t", "Db2t", "Dst", "Gb1t", "Gb2t", "Git", "Gost",
  "Ya", "Yt", "Ws1", "Ws2", "Ws", "Wa", "Va1", "Va2", "Va", "Ot", "Nf", "Nu", "Rs", "Rbt", "Rm", "Pas", "Wa_c", "Na_c",
] as const; // biome-ignore format: one line per concept reads better
export type Variable = (typeof VARIABLES)[number];

export const STATS = ["avg", "min", "max", "std"] as const;
export type Stat = (typeof STATS)[number];

/** Long name and unit of each variable (data_description.csv of the open-data portal). */
export const VARIABLE_INFO: Record<Variable, { name: string; unit: string; comment?: string }> = {
  Ba: { name: "Pitch angle", unit: "deg" },
  Rt: { name: "Hub temperature", unit: "deg C" },
  DCs: { name: "Generator converter speed", unit: "rpm" },
  Cm: { name: "Converter torque", unit: "Nm" },
  P: { name: "Active power", unit: "kW" },
  Q: { name: "Reactive power", unit: "kVAr" },
  S: { name: "Apparent power", unit: "kVA", comment: "should be the square root of P^2 + Q^2" },
  Cosphi: { name: "Power factor", unit: "", comment: "should equal P/S" },
  Ds: { name: "Generator speed", unit: "rpm" },
  Db1t: { name: "Generator bearing 1 temperature", unit: "deg C" },
  Db2t: { name: "Generator bearing 2 temperature", unit: "deg C" },
  Dst: { name: "Generator stator temperature", unit: "deg C" },
  Gb1t: { name: "Gearbox bearing 1 temperature", unit: "deg C" },
  Gb2t: { name: "Gearbox bearing 2 temperature", unit: "deg C" },
  Git: { name: "Gearbox inlet temperature", unit: "deg C" },
  Gost: { name: "Gearbox oil sump temperature", unit: "deg C" },
  Ya: { name: "Nacelle angle", unit: "deg" },
  Yt: { name: "Nacelle temperature", unit: "deg C" },
  Ws1: { name: "Wind speed 1", unit: "m/s", comment: "first anemometer on the nacelle" },
  Ws2: { name: "Wind speed 2", unit: "m/s", comment: "second anemometer on the nacelle" },
  Ws: { name: "Wind speed", unit: "m/s", comment: "average wind speed" },
  Wa: { name: "Absolute wind direction", unit: "deg" },
  Va1: { name: "Vane position 1", unit: "deg", comment: "first wind vane on the nacelle" },
  Va2: { name: "Vane position 2", unit: "deg", comment: "second wind vane on the nacelle" },
  Va: { name: "Vane position", unit: "deg" },
  Ot: { name: "Outdoor temperature", unit: "deg C" },
  Nf: { name: "Grid frequency", unit: "Hz" },
  Nu: { name: "Grid voltage", unit: "V" },
  Rs: { name: "Rotor speed", unit: "rpm" },
  Rbt: { name: "Rotor bearing temperature", unit: "deg C" },
  Rm: { name: "Torque", unit: "Nm" },
  Pas: { name: "Pitch angle setpoint", unit: "" },
  Wa_c: { name: "Absolute wind direction corrected", unit: "deg" },
  Na_c: { name: "Nacelle angle corrected", unit: "deg" },
};

export const TURBINE_COLUMN = "Wind_turbine_name";
export const DATE_COLUMN = "Date_time";
/** The prediction target: the pitch angle, 10-minute average, in degrees. */
export const TARGET = "Ba_avg";

/** The 136 numeric sensor columns, in file order. */
export const SENSOR_COLUMNS: readonly string[] = VARIABLES.flatMap((v) => STATS.map((s) => `${v}_${s}`));
/** All 138 columns, in file order. */
export const COLUMNS: readonly string[] = [TURBINE_COLUMN, DATE_COLUMN, ...SENSOR_COLUMNS];

/** The four Senvion MM82 turbines of the farm (2050 kW, hub 80 m, rotor 82 m). */
export const TURBINES = ["R80711", "R80721", "R80736", "R80790"] as const;
export type Turbine = (typeof TURBINES)[number];

export const SEPARATOR = ";";

/** The course's data file: where it lives, how big it is, its checksum. */
export const COURSE_DATASET = {
  fileName: "la-haute-borne-data-2017-2020.csv",
  url: "https://github.com/Loubout/la_haute_borne_data/raw/main/la-haute-borne-data-2017-2020.csv",
  size: 186_588_129,
  sha256: "42579a4e1929298f1114baf266a5699f2cd432e1811fe672b028bad32c9b366d",
  rows: 217_588,
  /** First and last timestamp of the file (local time of the farm, Europe/Paris). */
  start: "2017-01-01T00:00:00+01:00",
  end: "2018-01-13T00:00:00+01:00",
} as const;
