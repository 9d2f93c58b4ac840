/**
 * The benchmarks' DAGs of no-op tasks, as windflow DAG files: the chain `bench_chain` (`t01` -> `t02` -> ...)
 * that bench/handoff.ts runs through windflow's scheduler and bench/airflow.ts exports to Airflow, and the
 * chains and independent tasks of bench/bullmq.ts. They import the light authoring entry point of the build
 * (`windflow/dag`, dist/authoring.js), as a DAG file should: a try's own time is then mostly its process
 * start, the same for every set-up.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export const CHAIN_DAG_ID = "bench_chain";

/** The text of a DAG file of `tasks` no-op tasks (ids `t01`..., zero-padded to `width`): a chain, or independent. */
export function noopDagText(
  dagId: string,
  tasks: number,
  shape: "chain" | "independent",
  width = 2,
): { text: string; ids: string[] } {
  const root = join(__dirname, "..");
  const ids = Array.from({ length: tasks }, (_, i) => `t${String(i + 1).padStart(width, "0")}`);
  const body =
    shape === "chain"
      ? `chain(...${JSON.stringify(ids)}.map((id) => d.task(id, () => {})));`
      : `for (const id of ${JSON.stringify(ids)}) d.task(id, () => {});`;
  const text = `import { chain, dag } from ${JSON.stringify(join(root, "dist", "authoring.js"))};
export default dag({ id: ${JSON.stringify(dagId)}, startDate: "2026-01-01T00:00:00Z" }, (d) => {
  ${body}
});
`;
  return { text, ids };
}

/** Writes the chain of `tasks` no-op tasks into `dags`; its file and task ids. */
export function writeChainDag(dags: string, tasks: number): { file: string; ids: string[] } {
  const { text, ids } = noopDagText(CHAIN_DAG_ID, tasks, "chain");
  const file = join(dags, `${CHAIN_DAG_ID}.ts`);
  writeFileSync(file, text);
  return { file, ids };
}
