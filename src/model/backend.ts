/**
 * Which TensorFlow.js backend runs the model. One decision, made here, logged with its reason:
 *   1. `tensorflow` (native libtensorflow) when the optional `tfjs-node-native` package is installed: users
 *      with internet get it from `npm ci`; on an offline machine its install script cannot download
 *      libtensorflow and npm drops it (STACK.md). It is loaded under its own alias name because danfojs-node's
 *      override makes `@tensorflow/tfjs-node` resolve to plain tfjs.
 *   2. `wasm` (`@tensorflow/tfjs-backend-wasm`, wasm files shipped inside the npm package): 3x faster than cpu
 *      on these machines (STACK.md: MLP 100k rows x 5 epochs, cpu 6.8 s, wasm 2.2 s).
 *   3. `cpu` (pure JS), always available.
 */
import * as tf from "@tensorflow/tfjs";

export type BackendName = "tensorflow" | "wasm" | "cpu";

export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  /** Why it was taken or refused, in words a trainee can act on. */
  reason: string;
}

export interface BackendChoice {
  backend: BackendName;
  reason: string;
  attempts: BackendAttempt[];
}

export interface BackendOptions {
  /**
   * Force one backend (e.g. `cpu` for bit-reproducible tests); the others are not tried.
   * @default undefined: native, else wasm, else cpu
   */
  prefer?: BackendName;
  /** Where the choice is reported. @default console.error with a `[windflow]` prefix */
  log?: (line: string) => void;
  /**
   * Loads a module by name; tests replace it to simulate a missing or broken package.
   * @default require
   */
  load?: (name: string) => unknown;
}

/** The alias under which package.json declares `@tensorflow/tfjs-node` as an optional dependency. */
export const NATIVE_PACKAGE = "tfjs-node-native";

let current: Promise<BackendChoice> | undefined;

/**
 * Chooses and initialises the backend once per process (later calls return the same choice unless
 * `prefer` differs from the backend in use).
 */
export function ensureBackend(options: BackendOptions = {}): Promise<BackendChoice> {
  const wanted = options.prefer;
  if (current === undefined) {
    current = chooseBackend(options);
  } else if (wanted !== undefined) {
    current = current.then(
      (choice) => (choice.backend === wanted ? choice : chooseBackend(options)),
      () => chooseBackend(options),
    );
  }
  return current;
}

/** Tries the backends in order and sets the first that initialises. Exported for tests; prefer ensureBackend. */
export async function chooseBackend(options: BackendOptions = {}): Promise<BackendChoice> {
  const load = options.load ?? ((name: string) => require(name) as unknown);
  const log = options.log ?? ((line: string) => console.error(`[windflow] ${line}`));
  const order: BackendName[] = options.prefer ? [options.prefer] : ["tensorflow", "wasm", "cpu"];
  const attempts: BackendAttempt[] = [];
  tf.enableProdMode(); // also silences tfjs' "install the node backend" banner (STACK.md)
  for (const backend of order) {
    const attempt = await tryBackend(backend, load);
    attempts.push(attempt);
    if (attempt.ok) {
      const refused = attempts.filter((a) => !a.ok).map((a) => `${a.backend}: ${a.reason}`);
      const reason =
        refused.length > 0 ? `${attempt.reason}; not taken: ${refused.join("; ")}` : attempt.reason;
      log(`TensorFlow.js backend: ${backend}: ${reason}`);
      return { backend, reason, attempts };
    }
  }
  const detail = attempts.map((a) => `${a.backend}: ${a.reason}`).join("; ");
  throw new Error(`no TensorFlow.js backend could start (${detail})`);
}

async function tryBackend(backend: BackendName, load: (name: string) => unknown): Promise<BackendAttempt> {
  try {
    if (backend === "tensorflow") {
      try {
        load(NATIVE_PACKAGE); // registers the "tensorflow" backend as a side effect
      } catch (error) {
        const missing = (error as { code?: string }).code === "MODULE_NOT_FOUND";
        return {
          backend,
          ok: false,
          reason: missing
            ? `${NATIVE_PACKAGE} is not installed (its install downloads libtensorflow; run \`npm ci\` with internet access to get native speed)`
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
        ? "native libtensorflow from tfjs-node (fastest)"
        : backend === "wasm"
          ? "WebAssembly backend, shipped inside @tensorflow/tfjs-backend-wasm"
          : "pure JavaScript backend (slowest)";
    return { backend, ok: true, reason };
  } catch (error) {
    return { backend, ok: false, reason: (error as Error).message.split("\n")[0] ?? String(error) };
  }
}
