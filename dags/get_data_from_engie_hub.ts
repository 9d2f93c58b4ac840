/**
 * The data generator DAG (the course's dags/get_data_from_engie_hub.py): every 2 minutes, "fresh" records for
 * the predict DAG: one row sampled from the data file, dated now and now + 60 s, into
 * `data/generated_data/{stamp}.csv` and `latest.csv`.
 */
import { join, resolve } from "node:path";
import { dag, generateData } from "windflow";

/** Paths in params are relative to the project folder (the parent of dags/), or absolute. */
const project = join(__dirname, "..");

export default dag(
  {
    id: "get_data_from_engie_hub",
    description:
      "Writes fresh records for the predict DAG: a row of the data file with new dates " +
      "(`data/generated_data/{stamp}.csv` and `latest.csv`).",
    schedule: { every: "2m" },
    startDate: "2026-01-01T00:00:00Z",
    catchup: false,
    tags: ["data"],
    outputs: ["data/generated_data/{stamp}.csv"],
    params: {
      dataPath: "data/la-haute-borne-data-2017-2020.csv",
      outputFolder: "data/generated_data",
      seed: 42,
    },
  },
  (d) => {
    d.task("generate", async (ctx) => {
      const written = await generateData(
        resolve(project, ctx.params.dataPath),
        resolve(project, ctx.params.outputFolder),
        {
          now: ctx.logicalDate,
          seed: ctx.params.seed,
        },
      );
      return written.path;
    });
  },
);
