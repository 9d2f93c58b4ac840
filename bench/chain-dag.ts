/**
 * The benchmarks' chain of no-op tasks (`t01` -> `t02` -> ... ), as a windflow DAG file `bench_chain.ts` in
 * `dags`: bench/handoff.ts runs it through windflow's scheduler, bench/airflow.ts exports it to Airflow.
 * It imports the built package (dist/), as `windflow scheduler` runs it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export const CHAIN_DAG_ID = "bench_chain";

/** Writes the chain of `tasks` no-op tasks into `dags`; its file and task ids. */
export function writeChainDag(dags: string, tasks: number): { file: string; ids: string[] } {
  const root = join(__dirname, "..");
  const ids = Array.from({ length: tasks }, (_, i) => `t${String(i + 1).padStart(2, "0")}`);
  const file = join(dags, `${CHAIN_DAG_ID}.ts`);
  writeFileSync(
    file,
    `import { chain, dag } from ${JSON.stringify(join(root, "dist", "index.js"))};
export default dag({ id: ${JSON.stringify(CHAIN_DAG_ID)}, startDate: "2026-01-01T00:00:00Z" }, (d) => {
  chain(...${JSON.stringify(ids)}.map((id) => d.task(id, () => {})));
});
`,
  );
  return { file, ids };
}
