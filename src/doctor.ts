/**
 * `windflow doctor`: checks each part a trainee's set-up needs and says how to fix what is missing.
 * Each check is independent and never throws: a broken part is reported, the next check still runs.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { datasetPath, describeProvenance, readProvenance } from "./data/dataset.js";
import { ensureBackend } from "./model/backend.js";
import { jupyterPaths } from "./notebook/jupyter-env.js";

export type CheckStatus = "ok" | "warn" | "fail" | "info";

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

export interface DoctorOptions {
  root: string;
  /** Start the tslab kernel through a Jupyter server and run a cell (about 2 s). @default true */
  startKernel?: boolean;
  /** Where Chromium is looked for. @default /usr/bin/chromium */
  chromium?: string;
  /** Runs `1 + 1` on the tslab kernel and returns what it printed; injected so this module stays light. */
  kernelProbe?: (root: string) => Promise<string>;
}

async function check(name: string, fn: () => Promise<Omit<CheckResult, "name">> | Omit<CheckResult, "name">) {
  try {
    return { name, ...(await fn()) };
  } catch (error) {
    const e = error as Error & { hint?: string };
    return {
      name,
      status: "fail" as const,
      detail: e.message.split("\n")[0] ?? String(e),
      ...(e.hint ? { fix: e.hint } : {}),
    };
  }
}

/** A hang guard, not a budget: a loaded 2-core machine can take tens of seconds to start a program. */
const RUN_GUARD_MS = 300_000;

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: RUN_GUARD_MS,
    }).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ETIMEDOUT")
      throw new Error(`${cmd} ${args.join(" ")} did not answer in ${RUN_GUARD_MS / 1000} s`);
    throw error;
  }
}

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const { root } = options;
  const paths = jupyterPaths(root);
  const results: CheckResult[] = [];
  results.push(
    await check("Node.js", () => {
      const major = Number(process.versions.node.split(".")[0]);
      return major === 20 || major === 22
        ? { status: "ok", detail: `v${process.versions.node}` }
        : {
            status: "warn",
            detail: `v${process.versions.node}; windflow is tested on Node 20`,
            fix: "install Node 20 (nvm install 20)",
          };
    }),
  );
  results.push(
    await check("npm packages", () =>
      existsSync(join(root, "node_modules", ".package-lock.json"))
        ? { status: "ok", detail: "node_modules installed from package-lock.json" }
        : { status: "fail", detail: "node_modules is missing", fix: "run `make install`" },
    ),
  );
  results.push(
    await check("TensorFlow.js backend", async () => {
      const choice = await ensureBackend({ log: () => {} });
      const native = choice.backend === "tensorflow";
      return {
        status: native || choice.forcedBy ? "ok" : "warn",
        detail: `${choice.backend}: ${choice.reason}`,
        ...(native || choice.forcedBy
          ? {}
          : {
              fix: "run `make install` (it builds the native backend from TensorFlow's wheel, from PyPI); training on wasm is several times slower",
            }),
      };
    }),
  );
  results.push(
    await check("polars native module", () => {
      const pl = require("nodejs-polars") as typeof import("nodejs-polars");
      const sum = pl
        .DataFrame({ x: [1, 2, 3] })
        .getColumn("x")
        .sum();
      if (Number(sum) !== 6) throw new Error(`a 3-row sum gave ${sum}`);
      const version = (pl as unknown as { version?: string }).version ?? "?";
      return { status: "ok", detail: `nodejs-polars ${version} loads (${process.platform}-${process.arch})` };
    }),
  );
  results.push(
    await check("Python venv and JupyterLab", () => {
      if (!existsSync(paths.jupyterBin)) {
        return {
          status: "fail",
          detail: `${paths.jupyterBin} is missing`,
          fix: "run `make install` (creates .venv)",
        };
      }
      const lab = run(join(root, ".venv/bin/python"), [
        "-c",
        // The installed versions from the packages' metadata: importing JupyterLab and jupyter-server took
        // 6 s here with the machine loaded (no cached bytecode), over 30 s under a stress run; the kernel
        // check below starts a real Jupyter server anyway.
        "from importlib.metadata import version; print(version('jupyterlab'), version('jupyter_server'))",
      ]);
      const [labVersion, serverVersion] = lab.split(" ");
      const ok = labVersion?.startsWith("4.") && serverVersion?.startsWith("2.");
      return ok
        ? { status: "ok", detail: `JupyterLab ${labVersion}, jupyter-server ${serverVersion} in .venv` }
        : {
            status: "fail",
            detail: `JupyterLab ${labVersion}, jupyter-server ${serverVersion}: need 4.x and 2.x`,
            fix: "run `make install`",
          };
    }),
  );
  results.push(
    await check("tslab kernelspec", () => {
      if (!existsSync(paths.kernelspecFile)) {
        return {
          status: "fail",
          detail: `${paths.kernelspecFile} is missing`,
          fix: "run `make install` (or `windflow kernelspec`)",
        };
      }
      const spec = JSON.parse(readFileSync(paths.kernelspecFile, "utf8")) as { argv: string[] };
      const [node, entry] = spec.argv;
      const missing = [node, entry].filter((p) => p === undefined || !existsSync(p));
      return missing.length === 0
        ? { status: "ok", detail: `${paths.kernelspecFile} -> ${entry}` }
        : {
            status: "fail",
            detail: `the kernelspec points at missing files: ${missing.join(", ")}`,
            fix: "run `windflow kernelspec` to rewrite it",
          };
    }),
  );
  if (options.startKernel !== false && options.kernelProbe) {
    const probe = options.kernelProbe;
    results.push(
      await check("tslab kernel starts", async () => {
        const started = Date.now();
        const out = await probe(root);
        return out.includes("2")
          ? {
              status: "ok",
              detail: `ran \`1 + 1\` through a Jupyter server in ${((Date.now() - started) / 1000).toFixed(1)} s`,
            }
          : {
              status: "fail",
              detail: `the kernel answered ${JSON.stringify(out)}`,
              fix: "run `make install`, then `windflow doctor` again",
            };
      }),
    );
  }
  results.push(
    await check("Chromium (browser tests)", () => {
      const bin = options.chromium ?? "/usr/bin/chromium";
      if (!existsSync(bin)) {
        return {
          status: "info",
          detail: "not installed; only the browser tests need it",
          fix: "apt-get install -y chromium (the browser tests drive it; .ci/run installs it)",
        };
      }
      return { status: "ok", detail: run(bin, ["--version"]) };
    }),
  );
  results.push(
    await check("dataset", () => {
      const file = datasetPath(join(root, "data"));
      if (!existsSync(file))
        return { status: "info", detail: `${file} not made yet`, fix: "run `make dataset`" };
      const p = readProvenance(file);
      return { status: "ok", detail: p ? describeProvenance(p) : `${file} (origin unknown)` };
    }),
  );
  return results;
}

export function formatDoctor(results: CheckResult[]): string {
  const mark: Record<CheckStatus, string> = { ok: "ok  ", warn: "WARN", fail: "FAIL", info: "info" };
  return results
    .map(
      (r) =>
        `${mark[r.status]} ${r.name}: ${r.detail}${r.fix && r.status !== "ok" ? `\n     fix: ${r.fix}` : ""}`,
    )
    .join("\n");
}
