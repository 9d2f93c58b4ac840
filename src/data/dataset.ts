/**
 * `make dataset`: put the course's data file at `data/la-haute-borne-data-2017-2020.csv`, by downloading it
 * (checksum verified) or, when the download is impossible or `source` is `synthetic`, by synthesizing a file
 * with the same schema and physics. A sidecar `data/.<file>.json` records where the file came from, so
 * later commands (doctor, describe, benchmarks) can say whether they run on real or synthetic data.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { DownloadError, WindflowError } from "../errors.js";
import { writeFileAtomicSync } from "../util/atomic.js";
import { download } from "./download.js";
import { COURSE_DATASET } from "./schema.js";
import { type SyntheticOptions, synthesizeDataset } from "./synthetic.js";

export type DatasetSource = "auto" | "download" | "synthetic";

export interface DatasetOptions {
  /** Folder of the data file. @default "<project>/data" */
  dataDir: string;
  /** @default "auto": download, and synthesize if the network is unreachable */
  source?: DatasetSource;
  /** Seed of the synthetic generator. @default 42 */
  seed?: number;
  /** Replace an existing file. @default false */
  force?: boolean;
  /** The course file's URL (tests point it at a local server). */
  url?: string;
  /** Expected size and sha256 of the download. @default the course file's */
  size?: number;
  sha256?: string;
  /** Extra options of the synthetic generator (tests make small files with `days`). */
  synthetic?: Omit<SyntheticOptions, "seed" | "onProgress">;
  /** Progress of the download (bytes) or of the generation (rows). */
  onProgress?: (what: "download" | "synthesize", done: number, total: number | undefined) => void;
  /** Where the command says what it does. */
  log?: (line: string) => void;
}

/** What the sidecar file records about the data file. */
export interface DatasetProvenance {
  source: "download" | "synthetic";
  file: string;
  bytes: number;
  createdAt: string;
  url?: string;
  sha256?: string;
  seed?: number;
  rows?: number;
}

export interface DatasetResult extends DatasetProvenance {
  path: string;
  /** True when the file was already there and nothing was done. */
  reused: boolean;
  /** Why the file was synthesized instead of downloaded, when it was. */
  fallbackReason?: string;
}

export function datasetPath(dataDir: string): string {
  return join(dataDir, COURSE_DATASET.fileName);
}

export function provenancePath(file: string): string {
  return join(dirname(file), `.${basename(file)}.json`);
}

/** The provenance of a data file, if the sidecar exists and still matches the file's size. */
export function readProvenance(file: string): DatasetProvenance | undefined {
  const sidecar = provenancePath(file);
  if (!existsSync(sidecar) || !existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(sidecar, "utf8")) as DatasetProvenance;
    return parsed.bytes === statSync(file).size ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export async function makeDataset(options: DatasetOptions): Promise<DatasetResult> {
  const source = options.source ?? "auto";
  if (!["auto", "download", "synthetic"].includes(source)) {
    throw new WindflowError(`unknown dataset source ${JSON.stringify(source)}`, {
      hint: "use DATASET=auto, DATASET=download or DATASET=synthetic",
    });
  }
  const log = options.log ?? (() => {});
  const dest = datasetPath(options.dataDir);
  const seed = options.seed ?? 42;
  if (existsSync(dest) && !options.force) {
    const known = readProvenance(dest);
    const origin = known ? describeProvenance(known) : "origin unknown";
    const same = known?.source === source && (source !== "synthetic" || known.seed === seed);
    if (source === "auto" || same) {
      log(`${dest} is already there (${origin}); --force to make it again`);
      const bytes = statSync(dest).size;
      return known
        ? { ...known, path: dest, reused: true }
        : { source: "download", file: dest, bytes, createdAt: "", path: dest, reused: true };
    }
    throw new WindflowError(`${dest} is already there (${origin})`, {
      hint: `add --force (make dataset FORCE=1) to replace it with a ${source === "synthetic" ? `synthetic file (seed ${seed})` : "download"}`,
    });
  }
  let fallbackReason: string | undefined;
  if (source !== "synthetic") {
    const url = options.url ?? COURSE_DATASET.url;
    log(`downloading ${url}`);
    try {
      const result = await download({
        url,
        dest,
        size: options.size ?? COURSE_DATASET.size,
        sha256: options.sha256 ?? COURSE_DATASET.sha256,
        onProgress: (done, total) => options.onProgress?.("download", done, total),
      });
      const provenance: DatasetProvenance = {
        source: "download",
        file: dest,
        bytes: result.bytes,
        createdAt: new Date().toISOString(),
        url: result.finalUrl,
        sha256: result.sha256,
      };
      writeFileAtomicSync(provenancePath(dest), `${JSON.stringify(provenance, null, 2)}\n`);
      log(`verified ${result.bytes} bytes, sha256 ${result.sha256}`);
      return { ...provenance, path: dest, reused: false };
    } catch (error) {
      // Only an unreachable network falls back: a corrupt or changed file must not be silently replaced.
      const unreachable = error instanceof DownloadError && /cannot connect/.test(error.message);
      if (source === "download" || !unreachable) throw error;
      fallbackReason = (error as Error).message;
      log(`download impossible (${fallbackReason})`);
      log(`SYNTHESIZING a file with the same schema instead (seed ${seed}); it is not the real data`);
    }
  } else {
    log(
      `DATASET=synthetic: synthesizing a file with the course file's schema (seed ${seed}); it is not the real data`,
    );
  }
  const result = await synthesizeDataset(dest, {
    ...options.synthetic,
    seed,
    onProgress: (done: number, total: number) => options.onProgress?.("synthesize", done, total),
  });
  const provenance: DatasetProvenance = {
    source: "synthetic",
    file: dest,
    bytes: statSync(dest).size,
    createdAt: new Date().toISOString(),
    seed,
    rows: result.rows,
  };
  writeFileAtomicSync(provenancePath(dest), `${JSON.stringify(provenance, null, 2)}\n`);
  return { ...provenance, path: dest, reused: false, ...(fallbackReason ? { fallbackReason } : {}) };
}

export function describeProvenance(p: DatasetProvenance): string {
  return p.source === "download"
    ? `downloaded from ${p.url ?? "?"}, sha256 verified`
    : `synthetic, seed ${p.seed}, ${p.rows ?? "?"} rows`;
}
