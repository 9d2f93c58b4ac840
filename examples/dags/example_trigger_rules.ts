/**
 * Example DAG (`[core] load_examples = true`): what happens downstream of a failure. `fetch` fails on its
 * first `failures` tries (a source that is down) and is retried after a delay; then:
 * - `report` (all_success) runs only if `fetch` succeeded, else it is `upstream_failed`;
 * - `alert` (one_failed) runs only if `fetch` failed, else it is `skipped`;
 * - `cleanup` (all_done) runs whatever happened.
 *
 *   windflow dags trigger example_trigger_rules --wait                          # fails once, retried: success
 *   windflow dags trigger example_trigger_rules --conf '{"failures": 5}' --wait  # fails for good
 */
import { dag } from "windflow/dag";

export default dag(
  {
    id: "example_trigger_rules",
    description:
      "Example: **fetch** fails on its first `failures` tries and is retried; **report** (all_success), " +
      "**alert** (one_failed) and **cleanup** (all_done) show what trigger rules do with a failure.",
    schedule: "@daily",
    startDate: "2026-01-01T00:00:00Z",
    catchup: false,
    tags: ["example"],
    params: { failures: 1 },
    defaults: { retries: 1, retryDelay: "2s" },
  },
  (d) => {
    const fetch = d.task("fetch", (ctx) => {
      if (ctx.tryNumber <= ctx.params.failures)
        throw new Error(`the source is down (try ${ctx.tryNumber} of ${ctx.maxTries})`);
      return "fetched";
    });
    const report = d.task("report", (ctx) => `report on ${ctx.xcom(fetch)}`);
    const alert = d.task("alert", () => "alert sent", { triggerRule: "one_failed" });
    const cleanup = d.task("cleanup", () => "cleaned up", { triggerRule: "all_done" });
    fetch.before(report);
    fetch.before(alert);
    fetch.before(cleanup);
  },
);
