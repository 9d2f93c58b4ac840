/**
 * The task graph of a DAG spec: downstream lists, ancestors, cycle finding, a stable topological order and
 * the text drawing `windflow dags show` prints. Pure functions of the spec.
 */
import { describeSchedule } from "./schedule.js";
import type { DagSpec, TaskSpec } from "./types.js";

/** For each task id, the ids of the tasks that depend on it, in declaration order. */
export function downstreamOf(spec: Pick<DagSpec, "tasks">): Map<string, string[]> {
  const down = new Map<string, string[]>(spec.tasks.map((t) => [t.id, []]));
  for (const t of spec.tasks) for (const u of t.upstream) down.get(u)?.push(t.id);
  return down;
}

/** Every task `taskId` depends on, directly or not. */
export function ancestorsOf(spec: Pick<DagSpec, "tasks">, taskId: string): Set<string> {
  const byId = new Map(spec.tasks.map((t) => [t.id, t]));
  const out = new Set<string>();
  const stack = [...(byId.get(taskId)?.upstream ?? [])];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (out.has(id)) continue;
    out.add(id);
    stack.push(...(byId.get(id)?.upstream ?? []));
  }
  return out;
}

/**
 * A dependency cycle, as the task ids along it with the first repeated at the end (`[a, b, c, a]`: a runs
 * before b, b before c, c before a), or undefined. Deterministic: the first cycle met walking the tasks in
 * declaration order. Unknown upstream ids are ignored (validation reports them first).
 */
export function findCycle(spec: Pick<DagSpec, "tasks">): string[] | undefined {
  const down = downstreamOf(spec);
  const colour = new Map<string, "grey" | "black">();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    colour.set(id, "grey");
    path.push(id);
    for (const next of down.get(id) ?? []) {
      const c = colour.get(next);
      if (c === "grey") return [...path.slice(path.indexOf(next)), next];
      if (c === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    colour.set(id, "black");
    return undefined;
  };
  for (const t of spec.tasks) {
    if (colour.has(t.id)) continue;
    const found = visit(t.id);
    if (found) return found;
  }
  return undefined;
}

/**
 * The tasks in an order where each comes after its upstream tasks; among tasks free at the same time, the
 * one declared first comes first (Kahn's algorithm with a declaration-order queue). Assumes no cycle.
 */
export function topologicalOrder(spec: Pick<DagSpec, "tasks">): TaskSpec[] {
  const index = new Map(spec.tasks.map((t, i) => [t.id, i]));
  const pending = new Map(spec.tasks.map((t) => [t.id, new Set(t.upstream.filter((u) => index.has(u)))]));
  const down = downstreamOf(spec);
  const free = spec.tasks.filter((t) => pending.get(t.id)?.size === 0).map((t) => t.id);
  const out: TaskSpec[] = [];
  while (free.length > 0) {
    free.sort((a, b) => (index.get(a) as number) - (index.get(b) as number));
    const id = free.shift() as string;
    out.push(spec.tasks[index.get(id) as number] as TaskSpec);
    for (const d of down.get(id) ?? []) {
      const p = pending.get(d) as Set<string>;
      p.delete(id);
      if (p.size === 0) free.push(d);
    }
  }
  return out;
}

/** Tasks without upstream tasks. */
export function roots(spec: Pick<DagSpec, "tasks">): string[] {
  return spec.tasks.filter((t) => t.upstream.length === 0).map((t) => t.id);
}

/** Tasks without downstream tasks. */
export function leaves(spec: Pick<DagSpec, "tasks">): string[] {
  const down = downstreamOf(spec);
  return spec.tasks.filter((t) => (down.get(t.id) ?? []).length === 0).map((t) => t.id);
}

/**
 * A text drawing of the DAG for a terminal: a header, then the tasks in topological order, each with what
 * it waits for and its trigger rule when not the default:
 * ```
 * train  (every 28d, from 2026-01-01T00:00:00.000Z, catchup off, max 1 active run)
 *   prepare_features
 *   train_model  <- prepare_features
 * ```
 */
export function renderDag(spec: DagSpec): string {
  const header = `${spec.id}  (${describeSchedule(spec.schedule)}, from ${spec.startDate}, catchup ${spec.catchup ? "on" : "off"}, max ${spec.maxActiveRuns} active run${spec.maxActiveRuns === 1 ? "" : "s"})`;
  const order = topologicalOrder(spec);
  const width = Math.max(...order.map((t) => t.id.length));
  const lines = order.map((t) => {
    const deps = t.upstream.length === 0 ? "" : `  <- ${t.upstream.join(", ")}`;
    const rule = t.triggerRule === "all_success" ? "" : `  [${t.triggerRule}]`;
    return `  ${deps || rule ? t.id.padEnd(width) : t.id}${deps}${rule}`.trimEnd();
  });
  return [header, ...lines].join("\n");
}
