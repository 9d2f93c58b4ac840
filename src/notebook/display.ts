/**
 * Rich output in notebooks (tslab): plotly charts, HTML tables, DAG graphs, live progress. Each helper sends
 * one Jupyter `display_data` through tslab's `display`; run outside a kernel (a script, a test), it prints a
 * short text instead, so the same code works everywhere.
 *
 * Charts use plotly's MIME type (`application/vnd.plotly.v1+json`): JupyterLab draws them with the plotly
 * renderer (the `plotly` Python package installs it into the project's venv), and the figure's JSON is saved in
 * the notebook, so a chart survives saving and reopening (HTML with a script would not: JupyterLab does not run
 * scripts of an untrusted notebook).
 */
import type pl from "nodejs-polars";
import type { EpochReport } from "../model/metadata.js";
import type { DagSpec } from "../orchestration/types.js";
import { STATE_COLOURS } from "../view/colours.js";
import { escapeHtml } from "../view/escape.js";
import { layoutDag } from "../view/graph.js";

/** A plotly figure: traces and a layout, as plotly.js takes them. */
export interface Figure {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
}

/** The MIME type JupyterLab's plotly renderer draws. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

interface TslabDisplay {
  raw(contentType: string, b: unknown): void;
  html(s: string): void;
  svg(s: string): void;
  text(s: string): void;
}

/** tslab's display, or undefined outside a kernel. */
function tslab(): { display: TslabDisplay; newDisplay(): TslabDisplay } | undefined {
  try {
    return require("tslab") as { display: TslabDisplay; newDisplay(): TslabDisplay };
  } catch {
    return undefined;
  }
}

/** Sends `mime` data to the notebook; false when not in a kernel (tslab says "Not ready"). */
function send(mime: string, data: unknown, target?: TslabDisplay): boolean {
  const t = tslab();
  if (!t) return false;
  try {
    (target ?? t.display).raw(mime, data);
    return true;
  } catch {
    return false;
  }
}

/** Draws a plotly figure below the cell. */
export function showPlot(figure: Figure): void {
  const layout = { margin: { t: 40, r: 20, b: 50, l: 60 }, ...figure.layout };
  if (!send(PLOTLY_MIME, { data: figure.data, layout, config: { displaylogo: false, responsive: true } })) {
    const title = (figure.layout?.title as { text?: string } | undefined)?.text ?? "a chart";
    process.stdout.write(`[plotly figure: ${title}, ${figure.data.length} trace(s)]\n`);
  }
}

/** Shows HTML below the cell (build it with `escapeHtml` for any data in it). */
export function showHtml(html: string): void {
  if (!send("text/html", html))
    process.stdout.write(
      `${html
        .replace(/<[^>]+>/g, " ")
        .replace(/\s+/g, " ")
        .trim()}\n`,
    );
}

/** Shows Markdown below the cell. */
export function showMarkdown(markdown: string): void {
  if (!send("text/markdown", markdown)) process.stdout.write(`${markdown}\n`);
}

const cell = (v: unknown): string => {
  if (v === null || v === undefined) return '<td class="null">null</td>';
  if (typeof v === "number") return `<td>${Number.isInteger(v) ? v : Number(v.toPrecision(6))}</td>`;
  if (v instanceof Date) return `<td>${escapeHtml(v.toISOString())}</td>`;
  return `<td>${escapeHtml(String(v))}</td>`;
};

/** An HTML table of a polars frame's first `rows` rows (values escaped). */
export function frameHtml(df: pl.DataFrame, options: { rows?: number; caption?: string } = {}): string {
  const rows = Math.min(options.rows ?? 10, df.height);
  const head = df.head(rows).toRecords() as Record<string, unknown>[];
  const caption = options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : "";
  const more = df.height > rows ? `<p>${rows} of ${df.height} rows, ${df.width} columns</p>` : "";
  return (
    `<table>${caption}<thead><tr>${df.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead>` +
    `<tbody>${head.map((r) => `<tr>${df.columns.map((c) => cell(r[c])).join("")}</tr>`).join("")}</tbody></table>${more}`
  );
}

/** Shows a polars frame's first rows as a table. */
export function showFrame(df: pl.DataFrame, options: { rows?: number; caption?: string } = {}): void {
  if (!send("text/html", frameHtml(df, options)))
    process.stdout.write(`${df.head(options.rows ?? 10).toString()}\n`);
}

/** A DAG's graph as SVG (the web UI's layout), tasks outlined by their state when `states` is given. */
export function dagSvg(spec: Pick<DagSpec, "id" | "tasks">, states: Record<string, string> = {}): string {
  const l = layoutDag(spec);
  const path = (points: { x: number; y: number }[]) =>
    points.map((p, i) => `${i === 0 ? "M" : "L"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
  const edges = l.edges
    .map(
      (e) =>
        `<path d="${path(e.points)}" fill="none" stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/>`,
    )
    .join("");
  const nodes = l.nodes
    .map((n) => {
      const state = states[n.taskId];
      const stroke = state ? (STATE_COLOURS[state] ?? "#999") : "#0b6e99";
      const label = state ? `${n.taskId}: ${state}` : `${n.taskId} (${n.triggerRule})`;
      return (
        `<g><title>${escapeHtml(label)}</title><rect x="${n.x}" y="${n.y}" width="${n.width}" height="${n.height}" rx="6" fill="#fff" stroke="${stroke}" stroke-width="3"/>` +
        `<text x="${n.x + n.width / 2}" y="${n.y + n.height / 2 + 5}" text-anchor="middle" font-family="monospace" font-size="13">${escapeHtml(n.taskId)}</text></g>`
      );
    })
    .join("");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${l.height}" viewBox="0 0 ${l.width} ${l.height}">` +
    `<title>${escapeHtml(spec.id)}</title><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>` +
    `${edges}${nodes}</svg>`
  );
}

/** Draws a DAG's graph below the cell. */
export function showDag(
  dag: { spec: Pick<DagSpec, "id" | "tasks"> },
  states: Record<string, string> = {},
): void {
  if (!send("image/svg+xml", dagSvg(dag.spec, states)))
    process.stdout.write(`[graph of ${dag.spec.id}: ${dag.spec.tasks.map((t) => t.id).join(", ")}]\n`);
}

/**
 * A training progress display for notebooks: pass it as `onEpoch`; one output area, redrawn at every epoch
 * with a progress bar and the loss curves so far. Outside a kernel it prints a line per epoch.
 */
export function notebookProgress(title = "training"): (report: EpochReport) => void {
  const t = tslab();
  let target: TslabDisplay | undefined;
  const losses: number[] = [];
  const rmses: number[] = [];
  return (r) => {
    losses.push(r.loss);
    rmses.push(r.valRmse);
    const share = Math.round((100 * r.epoch) / r.epochs);
    const html =
      `<div><b>${escapeHtml(title)}</b>: epoch ${r.epoch} of ${r.epochs} ` +
      `<progress max="${r.epochs}" value="${r.epoch}"></progress> ${share}% &middot; loss ${r.loss.toFixed(4)}, ` +
      `validation RMSE ${r.valRmse.toFixed(3)} deg${r.best ? " (best so far)" : ""} &middot; ${r.seconds.toFixed(0)} s</div>` +
      sparkline(rmses);
    if (t) {
      try {
        target ??= t.newDisplay();
        target.html(html);
        return;
      } catch {
        // not in a kernel
      }
    }
    process.stdout.write(
      `${title}: epoch ${r.epoch}/${r.epochs}, loss ${r.loss.toFixed(4)}, validation RMSE ${r.valRmse.toFixed(3)}\n`,
    );
  };
}

/** A small SVG line of the validation RMSE per epoch. */
function sparkline(values: number[]): string {
  if (values.length < 2) return "";
  const w = 320;
  const h = 60;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const y = (v: number) => (hi === lo ? h / 2 : h - 4 - ((v - lo) / (hi - lo)) * (h - 8));
  const points = values.map(
    (v, i) => `${((i / (values.length - 1)) * (w - 8) + 4).toFixed(1)},${y(v).toFixed(1)}`,
  );
  return `<svg width="${w}" height="${h}"><polyline fill="none" stroke="#0b6e99" stroke-width="2" points="${points.join(" ")}"/><text x="4" y="12" font-size="10">validation RMSE ${hi.toFixed(2)} .. ${lo.toFixed(2)}</text></svg>`;
}
