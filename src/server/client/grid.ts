/**
 * The grid of a DAG (the first tab of its page), drawn as Airflow's: a column per run, the oldest on the left.
 * At the top of a column, the run: its logical date (short, UTC) and its type (manual or scheduled, an icon
 * with a title), then its bar, as high as the run was long (the longest run shown fills the height; a running
 * run's bar grows), coloured by its state, with its duration above it. Under it, a square per task instance,
 * coloured by state, linking to its log. A running or queued run is drawn unlike a finished one (moving
 * stripes, a dashed outline): the running colour alone is close to success's.
 *
 * Every column and cell has a key (`data-key`): when a new run comes the columns move with their runs, and
 * the page updates them in place (see `mount` in dom.ts).
 */
import { STATE_COLOURS } from "../../view/colours.js";
import type { GridRun } from "../views.js";
import { duration, h, svg, u, when } from "./dom.js";
import { num, stateLabel, t } from "./lang.js";

export interface Grid {
  taskIds: string[];
  runs: GridRun[];
}

/** The tallest bar (the longest run shown), in px. */
const BAR_PX = 56;
/** The shortest bar of a run that started, in px: a run of a few ms still shows and can be clicked. */
const MIN_BAR_PX = 6;

/** A logical date in short, UTC: `["11-25", "17:30"]` (the whole date is in the column's title). */
export function shortDate(iso: string): [string, string] {
  return [iso.slice(5, 10), iso.slice(11, 16)];
}

/**
 * A duration in at most 5 characters, for a grid column: `85ms`, `4.2s`, `37s`, `1.5m`, `12m`, `2.1h`, `31h`
 * (`4,2s` in French: the page's decimal mark; the units are symbols, the same in both languages).
 */
export function shortDuration(ms: number | null): string {
  if (ms === null) return "";
  if (ms < 100) return `${num(ms)}ms`;
  if (ms < 9_950) return `${num(ms / 1000, 1)}s`;
  if (ms < 89_500) return `${num(ms / 1000)}s`;
  if (ms < 597_000) return `${num(ms / 60_000, 1)}m`;
  if (ms < 5_370_000) return `${num(ms / 60_000)}m`;
  if (ms < 35_820_000) return `${num(ms / 3_600_000, 1)}h`;
  return `${num(ms / 3_600_000)}h`;
}

/** A bar's height in px: proportional to the run's duration; null for a run that has not started. */
export function barHeight(durationMs: number | null, longestMs: number): number | null {
  if (durationMs === null) return null;
  return Math.max(MIN_BAR_PX, Math.round((BAR_PX * durationMs) / Math.max(longestMs, 1)));
}

const RUN_TYPES: Record<string, { title: () => string; icon: () => SVGElement }> = {
  manual: {
    title: () => t("runType.manualTitle"),
    icon: () =>
      svg(
        "svg",
        { viewBox: "0 0 10 10", width: 11, height: 11, "aria-hidden": "true" },
        svg("path", { d: "M2 1 L9 5 L2 9 Z", fill: "currentColor" }),
      ),
  },
  scheduled: {
    title: () => t("runType.scheduledTitle"),
    icon: () =>
      svg(
        "svg",
        { viewBox: "0 0 10 10", width: 11, height: 11, "aria-hidden": "true" },
        svg("circle", { cx: 5, cy: 5, r: 4, fill: "none", stroke: "currentColor", "stroke-width": 1.4 }),
        svg("path", {
          d: "M5 2.6 V5 H7.2",
          fill: "none",
          stroke: "currentColor",
          "stroke-width": 1.3,
          "stroke-linecap": "round",
        }),
      ),
  },
};

/** The icon of a run type, with its meaning as title. */
export function runTypeIcon(type: string): HTMLElement {
  const known = RUN_TYPES[type];
  return h(
    "span",
    {
      className: `run-type run-type-${type}`,
      title: known?.title() ?? t("runType.unknown", { type }),
      role: "img",
      "aria-label": t("runType.unknown", { type }),
      "data-run-type": type,
    },
    known ? known.icon() : type.slice(0, 1).toUpperCase(),
  );
}

/** The tooltip of a run's column. */
function runTitle(r: GridRun): string {
  const run = r.run;
  const going = run.state === "running";
  return [
    run.runId,
    `${run.state}, ${run.runType}`,
    t("grid.runLogicalDate", { date: when(run.logicalDate) }),
    run.startedAt ? t("grid.runStarted", { date: when(run.startedAt) }) : t("grid.runNotStarted"),
    run.endedAt ? t("grid.runEnded", { date: when(run.endedAt) }) : "",
    r.durationMs === null
      ? ""
      : t(going ? "grid.runDurationSoFar" : "grid.runDuration", { duration: duration(r.durationMs) }),
  ]
    .filter(Boolean)
    .join("\n");
}

/** What the grid tab shows: the table, and its legend. */
export function gridView(
  g: Grid,
  o: { dagId: string; selected: string | undefined; select: (runId: string) => void },
): Node[] {
  if (g.runs.length === 0) return [h("p", {}, t("grid.empty")), legend(true)];
  const longest = Math.max(1, ...g.runs.map((r) => r.durationMs ?? 0));
  const selected = (r: GridRun) => (r.run.runId === o.selected ? "selected" : "");
  const logLink = (runId: string, taskId: string, tryNumber: number) =>
    u(
      `/dags/${encodeURIComponent(o.dagId)}/runs/${encodeURIComponent(runId)}/tasks/${encodeURIComponent(taskId)}/logs${tryNumber > 0 ? `?try=${tryNumber}` : ""}`,
    );
  const runHead = (r: GridRun) => {
    const { runId, state, runType, logicalDate } = r.run;
    const height = barHeight(r.durationMs, longest);
    const [day, time] = shortDate(logicalDate);
    return h(
      "th",
      {
        className: `run-col ${selected(r)}`,
        scope: "col",
        title: runTitle(r),
        "data-key": `run:${runId}`,
        // The whole column head selects the run (the bar is the button: keyboard and screen readers).
        onclick: () => o.select(runId),
      },
      h(
        "div",
        { className: "run-label" },
        h("span", { className: "run-date" }, day),
        h("span", { className: "run-time" }, time),
        runTypeIcon(runType),
      ),
      h(
        "div",
        { className: "bar-box" },
        h("span", { className: "run-duration", "data-run-duration": runId }, shortDuration(r.durationMs)),
        h("button", {
          type: "button",
          className: `cell run state-${state}${height === null ? " unstarted" : ""}`,
          style: height === null ? null : `height: ${height}px`,
          "aria-label": `${runId}: ${state}`,
          "aria-pressed": selected(r) ? "true" : "false",
          "data-run": runId,
          "data-state": state,
        }),
      ),
    );
  };
  const taskCell = (r: GridRun, taskId: string) => {
    const ti = r.tasks[taskId];
    const state = ti?.state ?? "none";
    return h(
      "td",
      { className: selected(r), "data-key": `ti:${r.run.runId}/${taskId}` },
      h("a", {
        className: `cell state-${state}`,
        href: logLink(r.run.runId, taskId, ti?.tryNumber ?? 0),
        title: `${t("grid.cellTitle", { taskId, runId: r.run.runId, state })}${ti?.durationMs ? `, ${duration(ti.durationMs)}` : ""}`,
        "data-task": taskId,
        "data-run": r.run.runId,
        "data-state": state,
      }),
    );
  };
  return [
    h(
      "div",
      { className: "grid-scroll" },
      h(
        "table",
        { className: "grid" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h(
              "th",
              { className: "corner", scope: "col" },
              h("div", { className: "run-label" }, t("grid.cornerDate"), h("br"), t("grid.cornerType")),
              h("div", { className: "bar-box" }, t("grid.cornerDuration")),
            ),
            g.runs.map(runHead),
          ),
        ),
        h(
          "tbody",
          {},
          g.taskIds.map((taskId) =>
            h(
              "tr",
              { "data-key": `task:${taskId}` },
              h("th", { className: "task", scope: "row" }, taskId),
              g.runs.map((r) => taskCell(r, taskId)),
            ),
          ),
        ),
      ),
    ),
    legend(true),
  ];
}

/** The states' colours (the grid, the graph), and for the grid what a run's bar and icon say. */
export function legend(forRuns: boolean): HTMLElement {
  const item = (swatch: Node, text: string) => h("span", { className: "legend-item" }, swatch, text);
  return h(
    "div",
    { className: "legend" },
    h(
      "p",
      {},
      h("b", {}, `${t("legend.states")} `),
      Object.keys(STATE_COLOURS).map((s) =>
        item(h("span", { className: `swatch cell state-${s}` }), stateLabel(s)),
      ),
    ),
    forRuns
      ? h(
          "p",
          {},
          h("b", {}, `${t("legend.runs")} `),
          item(h("span", { className: "swatch cell bar-swatch state-success" }), t("legend.barHeight")),
          item(h("span", { className: "swatch cell bar-swatch state-running" }), t("legend.running")),
          item(h("span", { className: "swatch cell bar-swatch unstarted state-queued" }), t("legend.queued")),
          item(runTypeIcon("manual"), t("runType.manual")),
          item(runTypeIcon("scheduled"), t("runType.scheduled")),
        )
      : null,
  );
}
