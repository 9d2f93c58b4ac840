/**
 * Example DAG (`[core] load_examples = true`): three tasks in a chain, each handing a small value to the next
 * through its return value, as the course's `prepare_features` hands the features path to `train_model`.
 * Shows params with defaults, the trigger's conf overriding them, and the run's stamp (what dated files use).
 *
 *   windflow dags trigger example_return_values --conf '{"rows": 10}' --wait
 */
import { dag } from "windflow/dag";

export default dag(
  {
    id: "example_return_values",
    description:
      "Example: **extract** -> **transform** -> **load**, each task's return value read by the next " +
      "(`ctx.xcom(task)`); `rows` is a param (conf overrides it).",
    schedule: null,
    startDate: "2026-01-01T00:00:00Z",
    tags: ["example"],
    params: { rows: 3, label: "total" },
  },
  (d) => {
    const extract = d.task("extract", (ctx) => {
      ctx.log(`extracting ${ctx.params.rows} rows`);
      return { rows: ctx.params.rows };
    });
    const transform = d.task("transform", (ctx) => ctx.xcom(extract).rows * 2);
    const load = d.task(
      "load",
      (ctx) => `${ctx.params.label}=${ctx.xcom(transform)} (files of this run: *_${ctx.stamp}.csv)`,
    );
    extract.before(transform).before(load);
  },
);
