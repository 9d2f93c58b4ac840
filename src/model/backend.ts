/**
 * Which TensorFlow.js backend runs the model. One decision per process, made here, said once in one short line:
 *   1. `tensorflow`: native libtensorflow through the optional `tfjs-node-native` package (`@tensorflow/tfjs-node`
 *      under an alias, because danfojs-node's override makes `@tensorflow/tfjs-node` resolve to plain tfjs).
 *      `make install` builds it offline from TensorFlow's own wheel (scripts/native-tf.sh); when that could not
 *      be done, npm dropped the package and the next backend is taken.
 *   2. `wasm` (`@tensorflow/tfjs-backend-wasm`, its .wasm files inside the npm package): one thread, 3x the cpu
 *      backend on these machines (STACK.md).
 *   3. `cpu` (pure JS), always available.
 * `[model] backend` (`WINDFLOW__MODEL__BACKEND`, `--backend` on the CLI) forces one: then no other is tried, and
 * a forced backend that cannot start is an error that says why, not a silent fallback.
 */

import { WindflowError } from "../errors.js";
import { tf } from "./tf.js";

export type BackendName = "tensorflow" | "wasm" | "cpu";
/** What `[model] backend` may say. */
export type BackendSetting = BackendName | "auto";

export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  /** Why it was taken or refused, in words a trainee can act on. */
  reason: string;
}

export interface BackendChoice {
  backend: BackendName;
  /** Why this one, in a few words (what `windflow doctor` shows). */
  reason: string;
  /** `auto`, or where the forced backend came from. */
  forcedBy: string | null;
  attempts: BackendAttempt[];
}

export interface BackendOptions {
  /**
   * Force one backend; the others are not tried. `auto` or undefined: `[model] backend` from the config, whose
   * default `auto` tries native, then wasm, then cpu.
   */
  prefer?: BackendSetting;
  /** Where the one line about the choice goes. @default stdout (stderr is drawn red in notebooks) */
  log?: (line: string) => void;
  /**
   * Loads a module by name; tests replace it to simulate a missing or broken package.
   * @default require
   */
  load?: (name: string) => unknown;
  /** The setting when `prefer` is not given. @default `[model] backend` of loadConfig() */
  setting?: () => { value: BackendSetting; from: string };
}

/** The alias under which package.json declares `@tensorflow/tfjs-node` as an optional dependency. */
export const NATIVE_PACKAGE = "tfjs-node-native";
export const BACKEND_NAMES: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];

let current: Promise<BackendChoice> | undefined;

/** `[model] backend` from the configuration, with where it was set. */
function configuredSetting(): { value: BackendSetting; from: string } {
  // Lazy: the config module is light, but a model user that passes `prefer` never needs it.
  const { loadConfig } = require("../config.js") as typeof import("../config.js");
  const config = loadConfig();
  const entry = config.entries.find((e) => e.section === "model" && e.key === "backend");
  return { value: config.model.backend, from: entry?.from ?? "default" };
}

/**
 * Chooses and initialises the backend once per process; later calls return the same choice, unless they ask
 * for another backend by name. A choice that failed is forgotten: the next call tries again.
 */
export function ensureBackend(options: BackendOptions = {}): Promise<BackendChoice> {
  const wanted = options.prefer === "auto" ? undefined : options.prefer;
  if (current === undefined) current = chooseBackend(options);
  else if (wanted !== undefined)
    current = current.then(
      (choice) => (choice.backend === wanted ? choice : chooseBackend(options)),
      () => chooseBackend(options),
    );
  const mine = current;
  mine.catch(() => {
    if (current === mine) current = undefined;
  });
  return mine;
}

/** Tries the backends in order and sets the first that initialises. Exported for tests; prefer ensureBackend. */
export async function chooseBackend(options: BackendOptions = {}): Promise<BackendChoice> {
  const load = options.load ?? ((name: string) => require(name) as unknown);
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  let setting: { value: BackendSetting; from: string };
  if (options.prefer !== undefined && options.prefer !== "auto")
    setting = { value: options.prefer, from: "asked for by the caller" };
  else setting = (options.setting ?? configuredSetting)();
  const forced = setting.value === "auto" ? null : setting.value;
  const order: BackendName[] = forced ? [forced] : [...BACKEND_NAMES];
  const attempts: BackendAttempt[] = [];
  tf.enableProdMode(); // also silences tfjs' "install the node backend" banner (STACK.md)
  for (const backend of order) {
    const attempt = await tryBackend(backend, load);
    attempts.push(attempt);
    if (attempt.ok) {
      const native = attempts.find((a) => a.backend === "tensorflow" && !a.ok);
      const reason = forced
        ? `${attempt.reason}; [model] backend = ${forced} (${setting.from})`
        : native
          ? `${attempt.reason}; not native: ${native.reason}`
          : attempt.reason;
      log(
        `TensorFlow.js backend: ${backend} (${forced ? `forced by [model] backend, ${setting.from}` : shortWhy(attempts)})`,
      );
      return { backend, reason, forcedBy: forced ? setting.from : null, attempts };
    }
  }
  const detail = attempts.map((a) => `${a.backend}: ${a.reason}`).join("; ");
  if (forced)
    throw new WindflowError(`the TensorFlow.js backend ${forced} cannot start: ${detail}`, {
      hint: `it is forced by [model] backend = ${forced} (${setting.from}): set it to auto, or run \`windflow doctor\``,
    });
  throw new WindflowError(`no TensorFlow.js backend could start (${detail})`, {
    hint: "run `make install`, then `windflow doctor`",
  });
}

/** The few words after the backend's name in the log line. */
function shortWhy(attempts: BackendAttempt[]): string {
  const taken = attempts.at(-1) as BackendAttempt;
  if (taken.backend === "tensorflow") return "native libtensorflow";
  const native = attempts.find((a) => a.backend === "tensorflow");
  const why =
    native && /not installed/.test(native.reason)
      ? "native backend not installed"
      : "native backend unavailable";
  return `${why}: \`windflow doctor\` says why`;
}

async function tryBackend(backend: BackendName, load: (name: string) => unknown): Promise<BackendAttempt> {
  try {
    if (backend === "tensorflow") {
      // TensorFlow's C++ start-up lines (CPU features, oneDNN) are INFO and WARNING: keep them off the user's
      // screen. Read by libtensorflow when it loads, so it is set before.
      process.env.TF_CPP_MIN_LOG_LEVEL ??= "2";
      // One thread per operation: the training step's operations are small (a 256-row batch through 64 and 32
      // units) and handing each to TensorFlow's intra-op pool costs more than it saves: 1.6x the samples/s
      // measured at batch 256 (issue 10). Read by TensorFlow when tfjs-node creates its context, at load;
      // a value set by the user is kept.
      process.env.TF_NUM_INTRAOP_THREADS ??= "1";
      try {
        load(NATIVE_PACKAGE); // registers the "tensorflow" backend as a side effect
      } catch (error) {
        const missing =
          (error as { code?: string }).code === "MODULE_NOT_FOUND" &&
          (error as Error).message.includes(NATIVE_PACKAGE);
        return {
          backend,
          ok: false,
          reason: missing
            ? `${NATIVE_PACKAGE} is not installed (\`make install\` builds it from TensorFlow's wheel; its log says why it could not)`
            : `${NATIVE_PACKAGE} failed to load: ${(error as Error).message.split("\n")[0]}`,
        };
      }
    } else if (backend === "wasm") {
      load("@tensorflow/tfjs-backend-wasm"); // registers "wasm"; its .wasm files ship inside the package
    }
    const ok = await tf.setBackend(backend); // resolves false (does not throw) when initialisation fails
    if (!ok) return { backend, ok: false, reason: "registered but failed to initialise" };
    await tf.ready();
    const reason =
      backend === "tensorflow"
        ? "native libtensorflow from tfjs-node, on every core (fastest)"
        : backend === "wasm"
          ? "WebAssembly, one thread, shipped inside @tensorflow/tfjs-backend-wasm"
          : "pure JavaScript (slowest)";
    return { backend, ok: true, reason };
  } catch (error) {
    return { backend, ok: false, reason: (error as Error).message.split("\n")[0] ?? String(error) };
  }
}
