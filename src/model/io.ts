/**
 * Saving and loading models on every TensorFlow.js backend. `model.save("file://...")` exists only with tfjs-node
 * (STACK.md), so the files are written by our own handler, in the layout tfjs' file handler uses:
 *
 *   {folder}/model.json     standard tfjs "layers-model" JSON: topology + weightsManifest -> weights.bin
 *   {folder}/weights.bin    the weights, float32, in manifest order
 *   {folder}/metadata.json  windflow's: features and their order, scalers, metrics, training facts (metadata.ts)
 *
 * Stock tfjs loads the folder with any handler that reads model.json and weights.bin (e.g. `fileHandler` below,
 * or tfjs-node's `tf.loadLayersModel("file://.../model.json")`).
 *
 * A folder appears whole or not at all: the files are written (and fsynced) into a hidden temporary folder next
 * to the destination, which is then renamed into place (rename is atomic within one filesystem).
 *
 * The registry (`models/`) holds one folder per trained model, named by the UTC time of saving,
 * `YYYYmmdd-HHMMSS` (the course's `%Y%m%d-%H%M%S`), plus `-1`, `-2`... when that name is taken (two models in the
 * same second). UTC, not local time: local names repeat during the autumn DST hour and sort out of time order,
 * and the folder name must not depend on the TZ of whichever process trained. `createdAt` in metadata.json
 * (ISO 8601 with `Z`) says the same instant.
 *
 * `models/latest` is a one-line text file holding the name of the newest folder, replaced atomically (written to
 * a temporary file, then renamed over). Chosen over a symlink because it works on every filesystem and OS
 * (Windows needs privileges for symlinks; some mounted volumes have none), survives copying the folder
 * elsewhere (zip, `docker cp`, cloud storage sync flatten symlinks), and is readable with `cat`. The model folder
 * is complete before the pointer moves, so a reader following `latest` never sees a half-written model; the last
 * save to finish wins the pointer.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  createReadStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type * as TF from "@tensorflow/tfjs";
import { WindflowError } from "../errors.js";
import {
  checkWritable,
  diskNearlyFull,
  explainWriteError,
  sweepDeadTemps,
  writeFileAtomicSync,
} from "../util/atomic.js";
import { type BackendName, ensureBackend } from "./backend.js";
import { type ModelMetadata, parseMetadata } from "./metadata.js";
import { tf } from "./tf.js";

export const MODEL_FILE = "model.json";
export const WEIGHTS_FILE = "weights.bin";
export const METADATA_FILE = "metadata.json";
/** The registry's pointer file: the name of the newest model folder. */
export const LATEST_FILE = "latest";

/** A registry folder name: `YYYYmmdd-HHMMSS` with an optional `-N` suffix. */
const REGISTRY_NAME = /^(\d{8}-\d{6})(?:-(\d+))?$/;

const NO_MODEL_HINT = (dir: string) =>
  `no model in ${basename(dir) || dir}/: run the train DAG first (or \`windflow train\`)`;

/** A loaded model with its metadata and the folder it came from. */
export interface LoadedModel {
  model: TF.LayersModel;
  metadata: ModelMetadata;
  dir: string;
}

export interface SaveModelOptions {
  /** Replace an existing folder (briefly absent while swapped). @default false: an existing folder is an error */
  overwrite?: boolean;
}

export interface RegistryOptions {
  /** The saving time that names the folder. @default now */
  now?: Date;
}

export interface LoadModelOptions {
  /** Force a TensorFlow.js backend (see ensureBackend). @default the fastest available */
  backend?: BackendName;
  /** Where the backend choice is logged. @default ensureBackend's (stderr) */
  log?: (line: string) => void;
}

/**
 * Writes `model.json`, `weights.bin` and `metadata.json` into `dir`, atomically (see the top of this file).
 * Returns the absolute folder path.
 */
export async function saveModel(
  dir: string,
  model: TF.LayersModel,
  metadata: ModelMetadata,
  options: SaveModelOptions = {},
): Promise<string> {
  const dest = resolve(dir);
  if (existsSync(dest) && !options.overwrite) {
    throw new WindflowError(`${dest} already exists: a model folder is never overwritten`, {
      hint: "save to a new folder (saveToRegistry names them by date), or pass { overwrite: true }",
    });
  }
  const tmp = await stageModel(dirname(dest), model, metadata);
  try {
    if (existsSync(dest)) {
      const old = join(dirname(dest), `.${basename(dest)}.old-${randomBytes(4).toString("hex")}`);
      renameSync(dest, old);
      renameSync(tmp, dest);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, dest);
    }
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    if (isTaken(error)) {
      throw new WindflowError(`${dest} appeared while the model was being saved`, {
        hint: "another process saved to the same folder: save again",
      });
    }
    throw error;
  }
  return dest;
}

/**
 * Saves into a new folder of the registry `modelsDir` named by the UTC time (`YYYYmmdd-HHMMSS`, then `-1`,
 * `-2`... if taken), then points `modelsDir/latest` at it. Returns the folder's name and absolute path.
 */
export async function saveToRegistry(
  modelsDir: string,
  model: TF.LayersModel,
  metadata: ModelMetadata,
  options: RegistryOptions = {},
): Promise<{ name: string; dir: string }> {
  const root = resolve(modelsDir);
  // A read-only registry is named here, not as TensorFlow.js's `ENOENT ... mkdir` (issue 13 §9).
  checkWritable(root);
  const stamp = registryStamp(options.now ?? new Date());
  const tmp = await stageModel(root, model, metadata);
  try {
    for (let n = 0; ; n++) {
      const name = n === 0 ? stamp : `${stamp}-${n}`;
      const dir = join(root, name);
      if (existsSync(dir)) continue;
      try {
        // Fails with ENOTEMPTY / EEXIST if another process took the name in between: try the next one.
        renameSync(tmp, dir);
      } catch (error) {
        if (isTaken(error)) continue;
        throw error;
      }
      try {
        writeFileAtomicSync(join(root, LATEST_FILE), `${name}\n`);
      } catch (error) {
        // latest could not follow (a full disk): take the new folder back, so the registry is as it was.
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
      return { name, dir };
    }
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw explainWriteError(error, root);
  }
}

/** `YYYYmmdd-HHMMSS` of `date` in UTC. */
export function registryStamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return (
    `${date.getUTCFullYear()}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-` +
    `${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`
  );
}

/** The model folders of a registry, oldest first (by name: time, then suffix). Hidden temporary folders are skipped. */
export function listModels(modelsDir: string): string[] {
  const root = resolve(modelsDir);
  if (!existsSync(root) || !statSync(root).isDirectory()) return [];
  const names = readdirSync(root, { withFileTypes: true })
    .filter(
      (e) => e.isDirectory() && REGISTRY_NAME.test(e.name) && existsSync(join(root, e.name, MODEL_FILE)),
    )
    .map((e) => e.name);
  return names.sort(compareRegistryNames);
}

function compareRegistryNames(a: string, b: string): number {
  const ma = REGISTRY_NAME.exec(a);
  const mb = REGISTRY_NAME.exec(b);
  const sa = ma?.[1] ?? a;
  const sb = mb?.[1] ?? b;
  if (sa !== sb) return sa < sb ? -1 : 1;
  return Number(ma?.[2] ?? 0) - Number(mb?.[2] ?? 0);
}

/**
 * The folder holding the model that `dirOrRegistry` designates: the folder itself if it has a model.json;
 * else, for a registry, the folder named in its `latest` file (or, without that file, the newest folder); the
 * `latest` file itself designates the folder it names.
 */
export function resolveModelDir(dirOrRegistry: string): string {
  // `models/latest`, the pointer file itself, designates the model it names (as `models` does).
  const given = resolve(dirOrRegistry);
  const path =
    basename(given) === LATEST_FILE && existsSync(given) && statSync(given).isFile() ? dirname(given) : given;
  const noModel = () => new WindflowError(`no model in ${path}`, { hint: NO_MODEL_HINT(path) });
  if (!existsSync(path) || !statSync(path).isDirectory()) throw noModel();
  if (existsSync(join(path, MODEL_FILE))) return path;
  const pointer = join(path, LATEST_FILE);
  if (existsSync(pointer)) {
    const name = readFileSync(pointer, "utf8").trim();
    if (name === "" || name.includes("/") || name.includes("\\") || name === "." || name === "..") {
      throw new WindflowError(`${pointer} does not name a model folder (it holds ${JSON.stringify(name)})`, {
        hint: "write the name of a folder of models/ into models/latest, or train again",
      });
    }
    const dir = join(path, name);
    if (!existsSync(join(dir, MODEL_FILE))) {
      throw new WindflowError(`${pointer} points at ${name}, which holds no ${MODEL_FILE}`, {
        hint: "the model folder was removed: train again, or write another folder's name into models/latest",
      });
    }
    return dir;
  }
  const newest = listModels(path).at(-1);
  if (newest === undefined) throw noModel();
  return join(path, newest);
}

/**
 * Loads a model folder, or the latest model of a registry folder (see resolveModelDir), with its metadata.
 * No model: a WindflowError whose hint says to run the train DAG. Corrupt files: a WindflowError naming the file.
 */
export async function loadModel(dirOrRegistry: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const dir = resolveModelDir(dirOrRegistry);
  const metadata = readMetadata(dir);
  await ensureBackend({
    ...(options.backend ? { prefer: options.backend } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  let model: TF.LayersModel;
  try {
    model = await tf.loadLayersModel(fileHandler(join(dir, MODEL_FILE)));
  } catch (error) {
    if (error instanceof WindflowError) throw error;
    throw new WindflowError(`${join(dir, MODEL_FILE)}: cannot load the model: ${(error as Error).message}`, {
      hint: "the model folder is damaged: train again (run the train DAG or `windflow train`)",
      cause: error,
    });
  }
  const inputs = model.inputs[0]?.shape[1];
  if (inputs !== metadata.features.length) {
    model.dispose();
    throw new WindflowError(
      `${dir}: the model takes ${inputs} inputs but ${METADATA_FILE} lists ${metadata.features.length} features`,
      { hint: "the folder mixes files of two models: train again" },
    );
  }
  return { model, metadata, dir };
}

/** Reads and checks `dir/metadata.json`. */
export function readMetadata(dir: string): ModelMetadata {
  const file = join(dir, METADATA_FILE);
  if (!existsSync(file)) {
    throw new WindflowError(`${dir} has no ${METADATA_FILE}`, {
      hint: "the model folder is incomplete: train again (run the train DAG or `windflow train`)",
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new WindflowError(`${file}: corrupt model metadata: not valid JSON (${(error as Error).message})`, {
      hint: "the model folder is damaged or was edited by hand: train the model again (run the train DAG or `windflow train`)",
    });
  }
  return parseMetadata(value, file);
}

/**
 * A tfjs load handler reading a standard `model.json` and the weight files its manifest names (paths relative
 * to model.json): `tf.loadLayersModel(fileHandler("models/20250101-120000/model.json"))` on any backend.
 */
export function fileHandler(modelJsonPath: string): TF.io.IOHandler {
  const path = resolve(modelJsonPath);
  return {
    load: async () => {
      let json: TF.io.ModelJSON;
      try {
        json = JSON.parse(readFileSync(path, "utf8")) as TF.io.ModelJSON;
      } catch (error) {
        throw new WindflowError(`${path}: not a readable model.json (${(error as Error).message})`, {
          hint: "the model folder is damaged: train again (run the train DAG or `windflow train`)",
        });
      }
      if (
        typeof json !== "object" ||
        json === null ||
        !json.modelTopology ||
        !Array.isArray(json.weightsManifest)
      ) {
        throw new WindflowError(
          `${path}: not a TensorFlow.js layers model (no modelTopology or weightsManifest)`,
        );
      }
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: TF.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const p of group.paths) {
            const file = join(dirname(path), p);
            if (!existsSync(file))
              throw new WindflowError(`${file}: weights file missing (named in ${path})`);
            const bytes = readFileSync(file);
            buffers.push(
              bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
            );
          }
          specs.push(...group.weights);
        }
        const data = tf.io.CompositeArrayBuffer.join(buffers);
        const expected = expectedBytes(specs);
        if (expected !== undefined && expected !== data.byteLength) {
          throw new WindflowError(
            `${dirname(path)}: the weights hold ${data.byteLength} bytes, the manifest of ${basename(path)} describes ${expected}`,
            { hint: "weights.bin is truncated or belongs to another model: train again" },
          );
        }
        return [specs, data];
      });
    },
  };
}

/** sha256 (hex) of a file, streamed: for `dataSha256` in the metadata. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Bytes of unquantised weights; undefined when some weight is quantised or of variable size. */
function expectedBytes(specs: readonly TF.io.WeightsManifestEntry[]): number | undefined {
  const size: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
  let total = 0;
  for (const s of specs) {
    const bytes = size[s.dtype];
    if (s.quantization || bytes === undefined) return undefined;
    total += s.shape.reduce((a, b) => a * b, 1) * bytes;
  }
  return total;
}

/** Serialises the model and writes the three files into a new hidden folder of `parent`; returns its path. */
async function stageModel(parent: string, model: TF.LayersModel, metadata: ModelMetadata): Promise<string> {
  const inputs = model.inputs[0]?.shape[1];
  if (inputs !== metadata.features.length) {
    throw new WindflowError(
      `the model takes ${inputs} inputs but the metadata lists ${metadata.features.length} features`,
    );
  }
  let artifacts: TF.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  if (!artifacts?.modelTopology || !artifacts.weightSpecs || artifacts.weightData === undefined) {
    throw new WindflowError("TensorFlow.js returned no topology or weights when saving the model");
  }
  // The same JSON as tfjs' own file handlers (io_utils.getModelJSONForModelArtifacts, not exported).
  const modelJson: TF.io.ModelJSON = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format ?? "layers-model",
    generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs }],
    ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
  };
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));

  const tmp = join(parent, `.tmp-model-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    mkdirSync(parent, { recursive: true });
    // What a writer killed mid-save left here goes first (never a live writer's: the pid is in the name).
    sweepDeadTemps(parent);
    mkdirSync(tmp);
    writeDurably(join(tmp, MODEL_FILE), JSON.stringify(modelJson));
    writeDurably(join(tmp, WEIGHTS_FILE), weights);
    writeDurably(join(tmp, METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
  } catch (error) {
    const full = diskNearlyFull(parent);
    rmSync(tmp, { recursive: true, force: true });
    // A full disk or a read-only folder is named with the folder (OutputWriteError), not as a bare ENOSPC.
    throw explainWriteError(error, parent, full);
  }
  return tmp;
}

/** Writes and fsyncs a file, so that the rename that publishes its folder cannot outrun its content. */
function writeDurably(file: string, data: string | Uint8Array): void {
  const fd = openSync(file, "w");
  try {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let offset = 0;
    while (offset < bytes.byteLength) offset += writeSync(fd, bytes, offset, bytes.byteLength - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function isTaken(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === "ENOTEMPTY" || code === "EEXIST" || code === "EISDIR";
}
