#!/usr/bin/env node
/**
 * The `windflow` command: parse, call the library, set the exit code. No logic lives here.
 *
 * Only what defining the commands needs is imported up front (commander, paths, constants); each command
 * imports its library when it runs (`await import(...)`), so `windflow --version` or `windflow scheduler`
 * does not load polars, TensorFlow.js or the Jupyter client (tests/light-start.test.ts checks which modules
 * `--version` loads).
 */
import { existsSync, readdirSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { Command, Option } from "commander";
import { type DatasetSource, datasetPath, makeDataset } from "../data/dataset.js";
import { WindflowError } from "../errors.js";
import type { BackendName } from "../model/backend.js";
import { findProjectRoot, writeKernelspec, writeServerProxyConfig } from "../notebook/jupyter-env.js";
import {
  DEFAULT_NOTEBOOK_LANGUAGE,
  NOTEBOOK_FOLDERS,
  NOTEBOOK_LANGUAGES,
  type NotebookLanguage,
} from "../notebook/lab-folders.js";
import type { Progress } from "../util/progress.js";
import { VERSION } from "../version.js";
import { registerOrchestrationCommands } from "./orchestration.js";
import { registerServerCommands } from "./server.js";

// Output piped into a reader that stops early (`windflow config list | head`): stop quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });

const root = findProjectRoot(__dirname);
const say = (line: string) => process.stderr.write(`${line}\n`);

/** `--lang`: one of the notebooks' languages, English by default; another value is refused naming them. */
function languageOption(description: string): Option {
  return new Option("--lang <lang>", description)
    .choices(NOTEBOOK_LANGUAGES)
    .default(DEFAULT_NOTEBOOK_LANGUAGE);
}

const program = new Command()
  .name("windflow")
  .description("MLOps orchestration training environment: data, pipelines, DAGs, scheduler, UI, notebooks")
  .version(VERSION)
  .showHelpAfterError();

program
  .command("dataset")
  .description(
    "write data/la-haute-borne-data-2017-2020.csv: download it (sha256 verified) or synthesize it offline",
  )
  .addOption(
    new Option("--source <source>", "auto: download, synthesize when the network is unreachable")
      .choices(["auto", "download", "synthetic"])
      .default("auto"),
  )
  .option("--seed <n>", "seed of the synthetic generator", (v) => Number.parseInt(v, 10), 42)
  .option("--force", "replace an existing file", false)
  .option("--data-dir <dir>", "folder of the data file", join(root, "data"))
  .action(async (opts: { source: DatasetSource; seed: number; force: boolean; dataDir: string }) => {
    const { progress } = await import("../util/progress.js");
    let bar: Progress | undefined;
    let barFor: string | undefined;
    const result = await makeDataset({
      dataDir: opts.dataDir,
      source: opts.source,
      seed: opts.seed,
      force: opts.force,
      log: say,
      onProgress: (what, done, total) => {
        if (barFor !== what) {
          bar?.stop();
          bar = progress(what === "download" ? "download" : "synthesize", total, {
            unit: what === "download" ? "bytes" : "rows",
          });
          barFor = what;
        }
        bar?.update(done, total);
      },
    });
    bar?.stop();
    if (!result.reused) {
      say(`wrote ${result.path} (${(result.bytes / 1e6).toFixed(1)} MB, ${result.source})`);
    }
    process.stdout.write(`${result.path}\n`);
  });

const data = program.command("data").description("look at the data file");
data
  .command("describe")
  .description("load the data file with the schema and summarise it (rows, turbines, period, target, gaps)")
  .argument("[file]", "CSV file", datasetPath(join(root, "data")))
  .option("--json", "print JSON")
  .action(async (file: string, opts: { json?: boolean }) => {
    const { describeDataset, formatSummary } = await import("../data/describe.js");
    const summary = await describeDataset(file);
    process.stdout.write(`${opts.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)}\n`);
  });

program
  .command("doctor")
  .description(
    "check each part of the set-up (Node, TensorFlow.js backend, polars, venv, kernel, Chromium, data)",
  )
  .option("--no-kernel", "skip starting the tslab kernel")
  .option("--json", "print JSON")
  .action(async (opts: { kernel: boolean; json?: boolean }) => {
    const { probeKernel } = await import("../notebook/run.js");
    const { formatDoctor, runDoctor } = await import("../doctor.js");
    const results = await runDoctor({ root, startKernel: opts.kernel, kernelProbe: probeKernel });
    // The distributed executor's Redis, when the engine is set to use it.
    const { loadConfig } = await import("../config.js");
    const config = (() => {
      try {
        return loadConfig({ root });
      } catch {
        return undefined; // a broken config is reported by the orchestration commands
      }
    })();
    if (config?.core.executor === "bullmq") {
      const { redisDoctor } = await import("../orchestration/executor/bullmq.js");
      results.push(...(await redisDoctor(config.bullmq.redis_url, 5000, config.bullmq.queue)));
    }
    process.stdout.write(`${opts.json ? JSON.stringify(results, null, 2) : formatDoctor(results)}\n`);
    if (results.some((r) => r.status === "fail")) process.exitCode = 1;
  });

program
  .command("kernelspec")
  .description(
    "write the TypeScript (tslab) kernelspec and the launcher tile of the windflow UI into the project's .jupyter/",
  )
  .action(() => {
    for (const { path, written } of [writeKernelspec(root), writeServerProxyConfig(root)])
      say(`${written ? "wrote" : "up to date:"} ${path}`);
  });

program
  .command("lab")
  .description("start JupyterLab on 127.0.0.1 with the notebooks and the TypeScript kernel")
  .option("--port <port>", "port (default: a free one)", (v) => Number.parseInt(v, 10))
  .option(
    "--student",
    "open the trainee's version (exercises as TODOs) in trainee/: made on first use from the installed project, " +
      "then reopened as it is (the trainee's work kept)",
  )
  .option("--folder <dir>", "with --student: where the trainee's version is kept", "trainee")
  .addOption(languageOption("the language of the notebooks JupyterLab opens on"))
  .action(async (opts: { port?: number; student?: boolean; folder: string; lang: NotebookLanguage }) => {
    writeKernelspec(root);
    writeServerProxyConfig(root);
    const notebooks = NOTEBOOK_FOLDERS[opts.lang];
    let folder = root;
    if (opts.student) {
      const { openTraineeWorkspace } = await import("../notebook/student.js");
      const workspace = openTraineeWorkspace(root, resolve(root, opts.folder), { ensure: notebooks });
      folder = workspace.dest;
      // The kernels and the launcher tile's scheduler inherit these: the trainee's dags/ and a home of its own.
      Object.assign(process.env, workspace.env);
      const exercises = workspace.stripped
        .map((s) => `${s.file} (${s.regions} exercise${s.regions > 1 ? "s" : ""})`)
        .join(", ");
      say(
        workspace.created
          ? `trainee version made in ${relative(root, folder)}/: ${exercises}; data/ and models/ shared with the project`
          : `trainee version reopened in ${relative(root, folder)}/ as it was (remove the folder to start again)${workspace.files > 0 ? `; ${notebooks}/ added, which it did not have yet: ${exercises}` : ""}`,
      );
    }
    if (!existsSync(join(folder, notebooks)))
      throw new WindflowError(`${join(folder, notebooks)} is missing: no notebooks in that language here`, {
        hint: `--lang ${NOTEBOOK_LANGUAGES.join(" or --lang ")}; the notebooks of each live in ${Object.values(NOTEBOOK_FOLDERS).join("/ and ")}/`,
      });
    const { startJupyterServer } = await import("../notebook/server.js");
    const server = await startJupyterServer({
      root,
      app: "lab",
      // The project folder, so that the file browser reaches dags/ (exercise 4); it opens on notebooks/.
      notebookDir: folder,
      // TypeScript is the course's language: new notebooks open on tslab, not on the venv's Python kernel.
      extraArgs: ["--MultiKernelManager.default_kernel_name=tslab"],
      ...(opts.port ? { port: opts.port } : {}),
    });
    process.stdout.write(
      `JupyterLab is running: ${server.url}lab/tree/${notebooks}?token=${server.token}\n` +
        "The launcher's windflow tile opens the web UI. Ctrl-C to stop.\n",
    );
    await new Promise<void>((resolve) => {
      for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolve());
    });
    await server.stop();
  });

// The pipeline steps, one command each (what the DAGs' tasks call). Paths written go to stdout.
const dataDir = join(root, "data");
const defaults = {
  data: datasetPath(dataDir),
  trainFeatures: join(dataDir, "prepared_features_train.parquet"),
  generated: join(dataDir, "generated_data"),
  models: join(root, "models"),
  predictions: join(dataDir, "predictions"),
};

program
  .command("features")
  .description("prepare_features: data CSV -> features Parquet (the course's rules)")
  .option("--prediction", "prediction mode: drop the target (default: training mode, drop rows without it)")
  .option("--input <csv>", "data file (default: the dataset, or generated_data/latest.csv with --prediction)")
  .option(
    "--output <parquet>",
    "features file (default: data/prepared_features_train.parquet, or ..._{stamp}.parquet)",
  )
  .action(async (opts: { prediction?: boolean; input?: string; output?: string }) => {
    const { prepareFeaturesWithIO } = await import("../features/prepare.js");
    const { repairLatest, timestamp } = await import("../io/dated.js");
    const trainingMode = !opts.prediction;
    // The generator's latest.csv, put right first if its writer was killed between its two steps.
    if (!trainingMode && !opts.input) repairLatest(defaults.generated, ".csv");
    const input = opts.input ?? (trainingMode ? defaults.data : join(defaults.generated, "latest.csv"));
    const output =
      opts.output ??
      (trainingMode ? defaults.trainFeatures : join(dataDir, `prepared_features_${timestamp()}.parquet`));
    const result = await prepareFeaturesWithIO(input, output, { trainingMode });
    say(
      `${result.rows} rows x ${result.columns.length} columns (${trainingMode ? "training" : "prediction"} mode)`,
    );
    process.stdout.write(`${result.path}\n`);
  });

program
  .command("train")
  .description("train_model: features Parquet -> models/{YYYYmmdd-HHMMSS}/ and models/latest")
  .option("--features <parquet>", "training features", defaults.trainFeatures)
  .option("--models <dir>", "model registry folder", defaults.models)
  .option("--epochs <n>", "most epochs (early stopping may end sooner)", (v) => Number.parseInt(v, 10))
  .addOption(
    new Option("--backend <name>", "force a TensorFlow.js backend").choices(["tensorflow", "wasm", "cpu"]),
  )
  .action(async (opts: { features: string; models: string; epochs?: number; backend?: BackendName }) => {
    const { trainModelWithIO } = await import("../pipeline/steps.js");
    const result = await trainModelWithIO(opts.features, opts.models, {
      ...(opts.epochs ? { epochs: opts.epochs } : {}),
      ...(opts.backend ? { backend: opts.backend } : {}),
      log: say,
    });
    const m = result.metrics;
    say(
      `test (last ${m.rows} rows, never seen): RMSE ${m.rmse.toFixed(3)}, MAE ${m.mae.toFixed(3)}, R^2 ${m.r2.toFixed(4)}`,
    );
    say(`validation: RMSE ${result.validationMetrics.rmse.toFixed(3)} (the early-stopping rows: optimistic)`);
    process.stdout.write(`${result.dir}\n`);
  });

program
  .command("predict")
  .description("predict: features Parquet + model -> predictions/{YYYYmmdd-HHMMSS}.csv and latest.csv")
  .requiredOption("--features <parquet>", "prediction-mode features (windflow features --prediction)")
  .option("--model <path>", "a model folder, or a registry folder for its latest model", defaults.models)
  .option("--output <dir>", "predictions folder", defaults.predictions)
  .action(async (opts: { features: string; model: string; output: string }) => {
    const { predictWithIO } = await import("../pipeline/steps.js");
    const result = await predictWithIO(opts.features, opts.model, opts.output);
    say(`${result.rows} predictions with ${result.model}`);
    process.stdout.write(`${result.path}\n${result.latest}\n`);
  });

program
  .command("generate")
  .description("get_data_from_engie_hub: one sampled row, dated now and now + 60 s -> generated_data/")
  .option("--data <csv>", "data file to sample from", defaults.data)
  .option("--output <dir>", "folder of the generated files", defaults.generated)
  .option(
    "--seed <n>",
    "which row is sampled (fixed, as the course's random_state)",
    (v) => Number.parseInt(v, 10),
    42,
  )
  .option("--engie-url <url>", "fetch rows from an ENGIE records API at this base URL instead of sampling")
  .option("--turbine <name>", "with --engie-url: the turbine", "R80711")
  .option("--from <iso>", "with --engie-url: first date")
  .option("--to <iso>", "with --engie-url: last date")
  .action(
    async (opts: {
      data: string;
      output: string;
      seed: number;
      engieUrl?: string;
      turbine: string;
      from?: string;
      to?: string;
    }) => {
      const { generateData } = await import("../data/generate.js");
      if (opts.engieUrl && (!opts.from || !opts.to)) {
        throw new WindflowError("--engie-url needs --from and --to", {
          hint: "e.g. --from 2017-01-01T00:00:00+01:00 --to 2017-01-01T01:00:00+01:00",
        });
      }
      const result = await generateData(opts.data, opts.output, {
        seed: opts.seed,
        ...(opts.engieUrl
          ? {
              engie: {
                baseUrl: opts.engieUrl,
                turbine: opts.turbine,
                from: opts.from as string,
                to: opts.to as string,
              },
            }
          : {}),
      });
      say(`${result.rows} rows`);
      process.stdout.write(`${result.path}\n${result.latest}\n`);
    },
  );

registerOrchestrationCommands(program, { root, say });
registerServerCommands(program, { root, say });

program
  .command("student")
  .description(
    "the trainee's version of the project, ready to hand out: every tracked file copied, each solution region " +
      "(// BEGIN SOLUTION ... // END SOLUTION) replaced by a TODO stub that throws 'exercise not done yet'",
  )
  .option(
    "--output <dir>",
    "where to write it (replaced if it is an earlier student version)",
    "build/student",
  )
  .action(async (opts: { output: string }) => {
    const { makeStudentVersion } = await import("../notebook/student.js");
    const made = makeStudentVersion(root, resolve(root, opts.output));
    for (const s of made.stripped)
      say(`  ${s.file}: ${s.regions} solution${s.regions > 1 ? "s" : ""} replaced`);
    say(`${made.files} files, ${made.stripped.reduce((a, s) => a + s.regions, 0)} exercises`);
    process.stdout.write(`${made.dest}\n`);
  });

const notebooks = program.command("notebooks").description("run notebooks headless through a Jupyter server");
notebooks
  .command("run")
  .description("run notebooks cell by cell on the tslab kernel; report the first failing cell of each")
  .argument(
    "[paths...]",
    "notebooks to run (default: those of --lang: notebooks/*.ipynb, or notebooks/fr/*.ipynb)",
  )
  .addOption(languageOption("without paths: the language of the notebooks to run"))
  .option("--timeout <seconds>", "per-cell timeout", (v) => Number.parseFloat(v), 300)
  .option("--output <dir>", "write the executed notebooks (with outputs) into this folder")
  .option("--url <url>", "use a running Jupyter server instead of starting one")
  .option("--token <token>", "its token")
  .option(
    "--student",
    "run the trainee's version (solutions replaced by TODO stubs, in .windflow/student/): each should stop at " +
      "its first exercise with 'exercise not done yet' (reported as TODO, not as a failure)",
  )
  .action(
    async (
      paths: string[],
      opts: {
        timeout: number;
        output?: string;
        url?: string;
        token?: string;
        student?: boolean;
        lang: NotebookLanguage;
      },
    ) => {
      const { runNotebooks } = await import("../notebook/run.js");
      const folder = join(root, NOTEBOOK_FOLDERS[opts.lang]);
      let targets =
        paths.length > 0
          ? paths.map((p) => resolve(p))
          : readdirSync(folder)
              .filter((f) => f.endsWith(".ipynb"))
              .sort()
              .map((f) => join(folder, f));
      if (opts.student) {
        const { makeStudentWorkspace, studentCounterpart } = await import("../notebook/student.js");
        const workspace = makeStudentWorkspace(root, join(root, ".windflow", "student"));
        say(
          `student version in ${relative(root, workspace.dest)}: ${workspace.stripped.map((s) => `${s.file} (${s.regions})`).join(", ")}`,
        );
        targets = targets.map((t) => studentCounterpart(root, workspace.dest, t));
      }
      const results = await runNotebooks(targets, {
        root,
        timeoutMs: opts.timeout * 1000,
        ...(opts.url ? { serverUrl: opts.url } : {}),
        ...(opts.token ? { token: opts.token } : {}),
        ...(opts.output
          ? { outputFor: (p: string) => join(resolve(opts.output as string), basename(p)) }
          : {}),
        onCell: (event) => {
          if (event.kind === "start") {
            say(
              `${relative(root, event.path)}: cell ${event.cellIndex} (code ${event.codeCell}/${event.codeCells})`,
            );
          }
        },
      });
      const todo = (r: (typeof results)[number]) =>
        opts.student === true && /exercise not done yet/.test(r.failure?.message ?? "");
      for (const r of results) {
        const where = relative(root, r.path);
        const f = r.failure;
        if (r.ok) {
          process.stdout.write(`ok   ${where} (${(r.durationMs / 1000).toFixed(1)} s)\n`);
        } else if (todo(r)) {
          process.stdout.write(
            `TODO ${where}: stops at cell ${f?.cellIndex}: ${f?.message.split("\n")[0]}\n`,
          );
        } else {
          process.stdout.write(
            `FAIL ${where}: cell ${f?.cellIndex} (code cell ${f?.codeCell}, ${f?.reason})\n${f?.message ?? ""}\n`,
          );
        }
      }
      if (results.some((r) => !r.ok && !todo(r))) process.exitCode = 1;
    },
  );

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof WindflowError) {
    say(`error: ${error.message}`);
    if (error.hint) say(`hint: ${error.hint}`);
  } else {
    say(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  process.exitCode = 1;
});
