/**
 * A DAG's graph, laid out for drawing: dagre (the layered layout Airflow's graph view also uses) places the
 * tasks left to right and routes the edges; the page draws the SVG from these coordinates, colouring each
 * task by its state in the selected run.
 */
import type dagreTypes from "@dagrejs/dagre";
import type { DagSpec } from "../orchestration/types.js";

export interface GraphLayout {
  width: number;
  height: number;
  nodes: { taskId: string; x: number; y: number; width: number; height: number; triggerRule: string }[];
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
}

/** Node size: wide enough for a task id of `chars` characters at the page's font. */
const nodeWidth = (chars: number) => Math.max(110, 16 + chars * 8);
const NODE_HEIGHT = 36;

export function layoutDag(spec: Pick<DagSpec, "tasks">): GraphLayout {
  // Required on first use: a `windflow` import that draws no graph does not load dagre.
  const dagre = require("@dagrejs/dagre") as typeof dagreTypes;
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 56, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const t of spec.tasks) g.setNode(t.id, { width: nodeWidth(t.id.length), height: NODE_HEIGHT });
  for (const t of spec.tasks) for (const u of t.upstream) g.setEdge(u, t.id);
  dagre.layout(g);
  const graph = g.graph();
  return {
    width: Math.ceil(graph.width ?? 0),
    height: Math.ceil(graph.height ?? 0),
    nodes: spec.tasks.map((t) => {
      const n = g.node(t.id);
      return {
        taskId: t.id,
        x: n.x - n.width / 2,
        y: n.y - n.height / 2,
        width: n.width,
        height: n.height,
        triggerRule: t.triggerRule,
      };
    }),
    edges: g.edges().map((e: { v: string; w: string }) => ({
      from: e.v,
      to: e.w,
      points: ((g.edge(e) as { points?: { x: number; y: number }[] }).points ?? []).map((p) => ({
        x: p.x,
        y: p.y,
      })),
    })),
  };
}
