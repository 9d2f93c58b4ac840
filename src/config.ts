/**
 * windflow's configuration: the one module that reads it (and the only one that reads `process.env`).
 * Like Airflow's `airflow.cfg`, each setting is a `[section] key`, resolved in this order, the last wins:
 *
 * 1. the default in `CONFIG_OPTIONS` below;
 * 2. the INI file `<home>/windflow.cfg` (written with every default and its comment by `db init`);
 * 3. an environment variable `WINDFLOW__SECTION__KEY` (e.g. `WINDFLOW__CORE__PARALLELISM=8`), Airflow's
 *    `AIRFLOW__CORE__PARALLELISM` convention.
 *
 * The home is `WINDFLOW_HOME` if set (a relative one is relative to the project root, as relative paths in
 * the file are), else `<project root>/.windflow` (git-ignored): the database, the logs and the config file
 * live there, so a trainee's machine holds nothing outside the project.
 *
 * Values are text in the file and the environment; each option has a type that parses and checks it, and a
 * bad value is a `ConfigError` naming the section, the key, the value and where it came from (the file and
 * line, or the variable). Unknown sections and keys are errors too: a misspelt key that is silently ignored
 * (`dag_dir_list_intervall`) is the classic airflow.cfg trap.
 *
 * Value syntax:
 * - durations: a number of seconds as in airflow.cfg (`30`), or a text such as `500ms`, `30s`, `5m`, `1h30m`;
 *   the typed value is in milliseconds. Options that allow it take `none` for "no limit".
 * - booleans: `true`/`false` (also `yes`/`no`, `on`/`off`, `1`/`0`), any case.
 * - paths: absolute, or relative to the project root; `{WINDFLOW_HOME}` and `{PROJECT_ROOT}` are replaced
 *   (so the generated file stays valid if the project moves).
 */
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { WindflowError } from "./errors.js";
import { parseDuration } from "./orchestration/duration.js";
import { writeFileAtomicSync } from "./util/atomic.js";
import { findProjectRoot } from "./util/project-root.js";

/** The environment variables windflow reads: a snapshot of `process.env` unless a test gives its own. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Where a value came from. */
export type ConfigSource =
  | { readonly kind: "default" }
  | { readonly kind: "file"; readonly file: string; readonly line: number }
  | { readonly kind: "env"; readonly variable: string };

/** A setting whose value cannot be used, or an unknown setting. Names the setting and where it was set. */
export class ConfigError extends WindflowError {
  constructor(
    readonly section: string,
    readonly key: string,
    readonly detail: string,
    readonly source: ConfigSource | undefined,
    hint?: string,
  ) {
    super(
      `config [${section}] ${key}${source ? ` (${describeSource(source)})` : ""}: ${detail}`,
      hint === undefined ? {} : { hint },
    );
  }
}

/** The config file does not parse (a line that is neither a section, a `key = value` nor a comment). */
export class ConfigFileError extends WindflowError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
    hint?: string,
  ) {
    super(`${file}:${line}: ${detail}`, hint === undefined ? {} : { hint });
  }
}

/** `windflow.cfg:12`, `WINDFLOW__CORE__PARALLELISM`, `default`. */
export function describeSource(source: ConfigSource): string {
  switch (source.kind) {
    case "default":
      return "default";
    case "file":
      return `${source.file}:${source.line}`;
    case "env":
      return `environment variable ${source.variable}`;
  }
}

/** What a parser needs besides the text: the folders placeholders and relative paths refer to. */
interface ParseContext {
  readonly root: string;
  readonly home: string;
}

/** One setting's type: parses its text or throws an Error whose message says what is expected. */
interface OptionType<T> {
  readonly name: string;
  parse(text: string, ctx: ParseContext): T;
  /** The value as written in the file and printed by `config list`. */
  format(value: T, ctx: ParseContext): string;
}

/** One setting: data (STYLE point 3), rendered into the generated file and `config list`. */
interface OptionDef<T> {
  readonly type: OptionType<T>;
  /** The default as it would be written in the file (placeholders allowed). */
  readonly default: string;
  /** One or two sentences, written as a comment above the key in the generated file. */
  readonly description: string;
}

const fail = (detail: string): never => {
  throw new Error(detail);
};

const intType = (min: number, max = Number.MAX_SAFE_INTEGER): OptionType<number> => ({
  name: `a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? "" : ` to ${max}`}`,
  parse(text) {
    const t = text.trim();
    if (!/^[+-]?\d+$/.test(t)) return fail(`"${text}" is not a whole number`);
    const n = Number(t);
    if (n < min || n > max)
      return fail(
        `${n} is out of range (${min}${max === Number.MAX_SAFE_INTEGER ? " or more" : `..${max}`})`,
      );
    return n;
  },
  format: (v) => String(v),
});

const BOOLEANS: Record<string, boolean> = {
  true: true,
  false: false,
  yes: true,
  no: false,
  on: true,
  off: false,
  "1": true,
  "0": false,
};
const boolType: OptionType<boolean> = {
  name: "true or false",
  parse(text) {
    const v = BOOLEANS[text.trim().toLowerCase()];
    return v === undefined ? fail(`"${text}" is not true or false`) : v;
  },
  format: (v) => (v ? "true" : "false"),
};

const stringType = (pattern?: RegExp, what?: string): OptionType<string> => ({
  name: what ?? "a text",
  parse(text) {
    const t = text.trim();
    if (pattern && !pattern.test(t)) return fail(`"${text}" is not ${what ?? "valid"}`);
    return t;
  },
  format: (v) => v,
});

const enumType = <const C extends string>(choices: readonly C[]): OptionType<C> => ({
  name: `one of ${choices.join(", ")}`,
  parse(text) {
    const t = text.trim().toLowerCase();
    const found = choices.find((c) => c.toLowerCase() === t);
    return found ?? fail(`"${text}" is not one of ${choices.join(", ")}`);
  },
  format: (v) => v,
});

function expand(text: string, ctx: ParseContext): string {
  return text.trim().replaceAll("{WINDFLOW_HOME}", ctx.home).replaceAll("{PROJECT_ROOT}", ctx.root);
}
const pathType: OptionType<string> = {
  name: "a path",
  parse(text, ctx) {
    const t = expand(text, ctx);
    if (t === "") return fail("is empty");
    const unknown = /\{[A-Z_]+\}/.exec(t);
    if (unknown) return fail(`unknown placeholder ${unknown[0]} (use {WINDFLOW_HOME} or {PROJECT_ROOT})`);
    return isAbsolute(t) ? resolve(t) : resolve(ctx.root, t);
  },
  format: (v) => v,
};

/** Milliseconds; `nullable` options also take `none` (no limit), giving null. */
function durationType(nullable: false): OptionType<number>;
function durationType(nullable: true): OptionType<number | null>;
function durationType(nullable: boolean): OptionType<number | null> {
  return {
    name: `a duration${nullable ? " or none" : ""} (seconds, or a text such as 500ms, 30s, 5m)`,
    parse(text) {
      const t = text.trim();
      if (nullable && t.toLowerCase() === "none") return null;
      // A bare number is seconds, as in airflow.cfg.
      if (/^\d+(\.\d+)?$/.test(t)) {
        const ms = Number(t) * 1000;
        return Number.isInteger(ms) ? ms : fail(`"${text}" is not a whole number of milliseconds`);
      }
      try {
        return parseDuration(t);
      } catch (error) {
        return fail((error as Error).message);
      }
    },
    format(v) {
      if (v === null) return "none";
      return v % 1000 === 0 ? `${v / 1000}s` : `${v}ms`;
    },
  };
}

const opt = <T>(type: OptionType<T>, def: string, description: string): OptionDef<T> => ({
  type,
  default: def,
  description,
});

/**
 * Every setting, by section. Keys are snake_case as in airflow.cfg; the typed config (`WindflowConfig`)
 * has the same names, so `WINDFLOW__CORE__DAGS_FOLDER`, `[core] dags_folder` and `config.core.dags_folder`
 * are one thing.
 */
export const CONFIG_OPTIONS = {
  core: {
    dags_folder: opt(
      pathType,
      "{PROJECT_ROOT}/dags",
      "The folder of DAG files (*.ts) the scheduler parses. Sub-folders are not read.",
    ),
    load_examples: opt(
      boolType,
      "false",
      "Also read windflow's example DAGs (examples/dags/: return values, trigger rules, retries).",
    ),
    parallelism: opt(
      intType(1, 1024),
      "4",
      "Task instances running at once on this machine, over all DAGs (each runs in its own process).",
    ),
    max_active_runs_per_dag: opt(
      intType(1, 1024),
      "1",
      "Runs of one DAG running at once, for DAGs that do not set maxActiveRuns.",
    ),
    default_task_retries: opt(
      intType(0, 100),
      "0",
      "Tries after the first one when a try fails, for tasks and DAGs that do not set retries.",
    ),
    default_task_retry_delay: opt(
      durationType(false),
      "30s",
      "Wait between a failed try and the next, for tasks and DAGs that do not set retryDelay.",
    ),
    default_task_execution_timeout: opt(
      durationType(true),
      "none",
      "A try running longer is killed, for tasks and DAGs that do not set executionTimeout; none: no limit.",
    ),
    max_xcom_size: opt(
      intType(1, 16 * 1024 * 1024),
      String(64 * 1024),
      "Largest task return value in bytes (serialised JSON). Data goes through files, not return values.",
    ),
    killed_task_cleanup_time: opt(
      durationType(false),
      "5s",
      "After a task is told to stop (timeout, SIGTERM), how long it may clean up before it is killed.",
    ),
    executor: opt(
      enumType(["local", "bullmq"] as const),
      "local",
      "What runs the tries: local (processes of the scheduler's machine) or bullmq (`windflow worker` " +
        "processes fed through a BullMQ queue on Redis: see [bullmq]).",
    ),
  },
  scheduler: {
    dag_dir_list_interval: opt(
      durationType(false),
      "30s",
      "How often the DAGs folder is listed for new, changed and deleted files (Airflow's default is 300).",
    ),
    heartbeat_interval: opt(
      durationType(false),
      "1s",
      "Period of the scheduler's loop when nothing wakes it earlier (a task process ending wakes it).",
    ),
    dag_file_processor_timeout: opt(
      durationType(false),
      "50s",
      "A DAG file whose parsing takes longer is recorded as an import error; the others go on.",
    ),
    scheduler_health_check_threshold: opt(
      durationType(false),
      "30s",
      "A scheduler whose last heartbeat is older than this is dead (Airflow's name and default): its queued and " +
        "running task instances are adopted by another scheduler, and the UI says no scheduler runs.",
    ),
    zombie_threshold: opt(
      durationType(false),
      "5m",
      "A running task instance whose process is not alive is failed (a zombie); on another host, " +
        "after this long without news.",
    ),
    warm_task_processes: opt(
      intType(0, 64),
      "3",
      "Task processes started ahead of need, Node and windflow's authoring API loaded: a try handed to one " +
        "starts in tens of ms instead of hundreds (still one process per try). 0: each try starts its own " +
        "process. ~60 MB each.",
    ),
    task_queued_timeout: opt(
      durationType(false),
      "10m",
      "A task instance queued this long without starting is queued again (its process never started).",
    ),
  },
  bullmq: {
    redis_url: opt(
      stringType(/^rediss?:\/\/\S+$/, "a redis:// or rediss:// URL"),
      "redis://127.0.0.1:6379",
      "The Redis server of the BullMQ queue ([core] executor = bullmq), e.g. redis://:password@host:6379/0.",
    ),
    queue: opt(
      stringType(/^[A-Za-z0-9_-]{1,64}$/, "a queue name of letters, digits, _ and - (at most 64)"),
      "windflow",
      "The BullMQ queue the scheduler puts tries in and `windflow worker` takes them from.",
    ),
    concurrency: opt(
      intType(1, 256),
      "2",
      "Tries one `windflow worker` runs at once (each in its own process).",
    ),
    data_root: opt(
      pathType,
      "{PROJECT_ROOT}",
      "The project folder every worker shares with the scheduler (DAG files, data, models, and with " +
        "shared_home the home with the store and logs): the same files at the same path on every host. " +
        "Checked at the worker's start.",
    ),
    shared_home: opt(
      boolType,
      "true",
      "Whether workers see the scheduler's home (the store and the log folder) at the same paths. true: the " +
        "try process on the worker records its try in the store and appends its log (one host, or a shared " +
        "file system). false: workers need only the data root; the try runs store-free and its claim, log " +
        "lines and outcome travel through Redis to the scheduler, which records them (workers on other hosts).",
    ),
    lock_duration: opt(
      durationType(false),
      "30s",
      "A worker that stops renewing a try's lock this long (killed, cut off) has its try handed to another " +
        "worker (BullMQ's stalled-job check); the handed-over try runs only if it is still queued.",
    ),
  },
  database: {
    path: opt(pathType, "{WINDFLOW_HOME}/windflow.db", "The SQLite metadata database."),
    busy_timeout: opt(
      durationType(false),
      "5s",
      "How long a connection waits for another process's write lock before failing.",
    ),
  },
  logging: {
    base_log_folder: opt(
      pathType,
      "{WINDFLOW_HOME}/logs",
      "Task logs: <base_log_folder>/dag_id=<d>/run_id=<r>/task_id=<t>/attempt=<n>.log",
    ),
    max_bytes_per_try: opt(
      intType(0),
      String(10 * 1024 * 1024),
      "Largest log of one try, in bytes: past it a truncation mark is written and the task's further output " +
        "is dropped (windflow's own lines still go in). 0: no limit.",
    ),
    logging_level: opt(
      enumType(["DEBUG", "INFO", "WARNING", "ERROR"] as const),
      "INFO",
      "Least severe level written by the scheduler and the web server.",
    ),
  },
  model: {
    backend: opt(
      enumType(["auto", "tensorflow", "wasm", "cpu"] as const),
      "auto",
      "TensorFlow.js backend for training and predictions: auto (native tensorflow if installed, else wasm, else cpu), or force one.",
    ),
  },
  webserver: {
    host: opt(
      stringType(/^[A-Za-z0-9.:[\]-]+$/, "a host name or IP address"),
      "127.0.0.1",
      "Address the web UI listens on; 0.0.0.0 makes it reachable from other machines.",
    ),
    port: opt(intType(1, 65535), "8080", "Port of the web UI."),
    base_url: opt(
      stringType(/^(\/[A-Za-z0-9._~-]+)*$/, 'empty, or a path such as "/windflow" (no trailing slash)'),
      "",
      "The path the web UI lives under behind a reverse proxy (JupyterLab's launcher serves it at /windflow).",
    ),
    predictions_folder: opt(
      pathType,
      "{PROJECT_ROOT}/data/predictions",
      "The dated prediction CSVs the Predictions page lists (the predict DAG's predictionsFolder).",
    ),
    models_folder: opt(
      pathType,
      "{PROJECT_ROOT}/models",
      "The model registry the Models page lists (the train DAG's modelsDir).",
    ),
  },
} as const;

type Options = typeof CONFIG_OPTIONS;
/** A section of the config file. */
export type ConfigSection = keyof Options;
type ValueOf<D> = D extends OptionDef<infer T> ? T : never;

/** The typed settings, `config.core.parallelism`: the names of the file, the values parsed. */
export type ConfigValues = {
  readonly [S in ConfigSection]: { readonly [K in keyof Options[S]]: ValueOf<Options[S][K]> };
};

/** One setting as `windflow config list` shows it. */
export interface ConfigEntry {
  readonly section: string;
  readonly key: string;
  /** As it would be written in the file (durations normalised, paths absolute). */
  readonly value: string;
  readonly source: ConfigSource;
  /** Where it was set, as text: `default`, `/path/windflow.cfg:12`, `environment variable WINDFLOW__...`. */
  readonly from: string;
  readonly description: string;
}

/** The resolved configuration. */
export interface WindflowConfig extends ConfigValues {
  /** The project root (folder of windflow's package.json). */
  readonly root: string;
  /** The home: `WINDFLOW_HOME`, or `<root>/.windflow`. */
  readonly home: string;
  /** `<home>/windflow.cfg`, whether it exists or not. */
  readonly file: string;
  readonly fileExists: boolean;
  /**
   * The environment this config was read from. Processes windflow starts (task processes) get it, with
   * `WINDFLOW_HOME` set, so that they read the same configuration.
   */
  readonly env: Environment;
  /** Every setting, with its value and where it came from, in the order of `CONFIG_OPTIONS`. */
  readonly entries: readonly ConfigEntry[];
}

/** Options of `loadConfig`. */
export interface LoadConfigOptions {
  /** The environment to read `WINDFLOW_HOME` and `WINDFLOW__*` from. @default process.env */
  env?: Environment;
  /** The project root. @default findProjectRoot() */
  root?: string;
  /** The home, overriding `WINDFLOW_HOME`. @default env.WINDFLOW_HOME, else `<root>/.windflow` */
  home?: string;
}

/** The name of the config file in the home. */
export const CONFIG_FILE_NAME = "windflow.cfg";
/** The variable naming the home. */
export const HOME_VARIABLE = "WINDFLOW_HOME";
const ENV_PREFIX = "WINDFLOW__";

/** The home folder for this environment (see the module comment). */
export function windflowHome(options: Omit<LoadConfigOptions, "home"> = {}): string {
  const env = options.env ?? process.env;
  const root = options.root ?? findProjectRoot();
  const fromEnv = env[HOME_VARIABLE];
  return fromEnv ? resolve(root, fromEnv) : join(root, ".windflow");
}

function optionDef(section: string, key: string): OptionDef<unknown> | undefined {
  const s = (CONFIG_OPTIONS as Record<string, Record<string, OptionDef<unknown>> | undefined>)[section];
  return s?.[key];
}

function unknownKeyHint(section: string): string {
  const s = (CONFIG_OPTIONS as Record<string, Record<string, unknown> | undefined>)[section];
  if (!s) return `sections: ${Object.keys(CONFIG_OPTIONS).join(", ")}`;
  return `keys of [${section}]: ${Object.keys(s).join(", ")}`;
}

/** A raw `key = value` of the file, with its line. */
interface RawSetting {
  readonly text: string;
  readonly source: ConfigSource;
}

/**
 * Parses INI text: `[section]` headers, `key = value` (or `key: value`) lines, comments starting with `#`
 * or `;`, blank lines. Keys are case-insensitive. Checks the syntax only; the caller checks names and values.
 */
export function parseIni(text: string, file: string): Map<string, Map<string, RawSetting>> {
  const out = new Map<string, Map<string, RawSetting>>();
  let current: Map<string, RawSetting> | undefined;
  let currentName = "";
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[\s*([A-Za-z0-9_.-]+)\s*\]$/.exec(line);
    if (header) {
      currentName = (header[1] as string).toLowerCase();
      current = out.get(currentName) ?? new Map();
      out.set(currentName, current);
      continue;
    }
    const kv = /^([A-Za-z0-9_.-]+)\s*[=:]\s*(.*)$/.exec(line);
    if (!kv)
      throw new ConfigFileError(
        file,
        lineNo,
        `cannot read ${JSON.stringify(raw)}`,
        "write `[section]`, `key = value`, or a comment starting with #",
      );
    if (!current)
      throw new ConfigFileError(
        file,
        lineNo,
        `${kv[1]} is outside any section`,
        "put it under its section header, e.g. [core]",
      );
    const key = (kv[1] as string).toLowerCase();
    const previous = current.get(key);
    if (previous?.source.kind === "file")
      throw new ConfigFileError(
        file,
        lineNo,
        `[${currentName}] ${key} is set twice (also on line ${previous.source.line})`,
        "keep one of the two lines",
      );
    current.set(key, { text: kv[2] as string, source: { kind: "file", file, line: lineNo } });
  }
  return out;
}

/**
 * Reads the configuration: defaults, then `<home>/windflow.cfg` if it exists, then `WINDFLOW__*` variables
 * (see the module comment). Throws a `ConfigError` or `ConfigFileError` naming what to fix.
 */
export function loadConfig(options: LoadConfigOptions = {}): WindflowConfig {
  const env = options.env ?? { ...process.env };
  const root = resolve(options.root ?? findProjectRoot());
  const home = options.home ? resolve(root, options.home) : windflowHome({ env, root });
  const ctx: ParseContext = { root, home };
  const file = join(home, CONFIG_FILE_NAME);
  const fileExists = existsSync(file);

  const raw = new Map<string, RawSetting>();
  const id = (section: string, key: string) => `${section}\0${key}`;
  if (fileExists) {
    for (const [section, keys] of parseIni(readFileSync(file, "utf8"), file)) {
      for (const [key, setting] of keys) {
        if (!optionDef(section, key))
          throw new ConfigError(
            section,
            key,
            "is not a windflow setting",
            setting.source,
            unknownKeyHint(section),
          );
        raw.set(id(section, key), setting);
      }
    }
  }
  for (const [variable, text] of Object.entries(env)) {
    if (!variable.startsWith(ENV_PREFIX) || text === undefined) continue;
    const parts = variable.slice(ENV_PREFIX.length).split("__");
    const source: ConfigSource = { kind: "env", variable };
    if (parts.length !== 2 || !parts[0] || !parts[1])
      throw new ConfigError(
        "?",
        variable,
        "is not of the form WINDFLOW__SECTION__KEY",
        source,
        "e.g. WINDFLOW__CORE__PARALLELISM=8",
      );
    const section = parts[0].toLowerCase();
    const key = parts[1].toLowerCase();
    if (!optionDef(section, key))
      throw new ConfigError(section, key, "is not a windflow setting", source, unknownKeyHint(section));
    raw.set(id(section, key), { text, source });
  }

  const values: Record<string, Record<string, unknown>> = {};
  const entries: ConfigEntry[] = [];
  for (const [section, keys] of Object.entries(CONFIG_OPTIONS)) {
    values[section] = {};
    for (const [key, def] of Object.entries(keys) as [string, OptionDef<unknown>][]) {
      const setting = raw.get(id(section, key)) ?? {
        text: def.default,
        source: { kind: "default" } as const,
      };
      let value: unknown;
      try {
        value = def.type.parse(setting.text, ctx);
      } catch (error) {
        throw new ConfigError(
          section,
          key,
          (error as Error).message,
          setting.source,
          `expected ${def.type.name}; the default is ${def.default}`,
        );
      }
      (values[section] as Record<string, unknown>)[key] = value;
      entries.push({
        section,
        key,
        value: def.type.format(value, ctx),
        source: setting.source,
        from: describeSource(setting.source),
        description: def.description,
      });
    }
  }
  return { ...(values as unknown as ConfigValues), root, home, file, fileExists, env, entries };
}

/** Every setting with its value and where it came from (`windflow config list`). */
export function configList(config: WindflowConfig = loadConfig()): readonly ConfigEntry[] {
  return config.entries;
}

/** One setting (`windflow config get SECTION KEY`); a `ConfigError` if there is no such setting. */
export function configGet(section: string, key: string, config: WindflowConfig = loadConfig()): ConfigEntry {
  const s = section.toLowerCase();
  const k = key.toLowerCase();
  const entry = config.entries.find((e) => e.section === s && e.key === k);
  if (!entry) throw new ConfigError(s, k, "is not a windflow setting", undefined, unknownKeyHint(s));
  return entry;
}

/** The text of a config file holding every default, each under its description (what `db init` writes). */
export function defaultConfigText(): string {
  const out = [
    "# windflow configuration (like Airflow's airflow.cfg).",
    "# Each setting can also be given by an environment variable WINDFLOW__SECTION__KEY, which wins over",
    "# this file, e.g. WINDFLOW__CORE__PARALLELISM=8. `windflow config list` shows every value and its origin.",
    "# Durations: seconds (30) or a text such as 500ms, 30s, 5m. Paths: absolute or relative to the project",
    "# root; {WINDFLOW_HOME} and {PROJECT_ROOT} are replaced.",
  ];
  for (const [section, keys] of Object.entries(CONFIG_OPTIONS)) {
    out.push("", `[${section}]`);
    for (const [key, def] of Object.entries(keys) as [string, OptionDef<unknown>][]) {
      out.push(`# ${def.description}`, `${key} = ${def.default}`);
    }
  }
  return `${out.join("\n")}\n`;
}

/**
 * Writes `<home>/windflow.cfg` with the defaults if it does not exist (never overwrites a trainee's edits).
 * Returns its path and whether it was written.
 */
export function writeDefaultConfigFile(config: Pick<WindflowConfig, "file">): {
  path: string;
  written: boolean;
} {
  if (existsSync(config.file)) return { path: config.file, written: false };
  writeFileAtomicSync(config.file, defaultConfigText());
  return { path: config.file, written: true };
}
