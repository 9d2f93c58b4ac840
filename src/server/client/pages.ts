/**
 * The pages: each draws `#app` from the API and keeps it up to date by polling (no reload).
 */

import { STATE_COLOURS } from "../../view/colours.js";
import type { GraphLayout } from "../../view/graph.js";
import type { ModelJson, PredictionFile, PredictionRows } from "../files.js";
import { CATALOGUES, MESSAGE_KEYS, type MessageKey, scheduleText } from "../i18n.js";
import type { DagJson, GridRun, RunJson, SchedulerStatus, TaskInstanceJson, TryJson } from "../views.js";
import {
  api,
  describe,
  duration,
  h,
  mount,
  pageData,
  place,
  poll,
  stateBadge,
  svg,
  toast,
  u,
  when,
  whenNode,
  withCode,
} from "./dom.js";
import { type Grid, gridView, legend } from "./grid.js";
import { num, t, tn, tr } from "./lang.js";
import { openTriggerForm, pauseToggle, triggerNow } from "./trigger.js";

declare const Plotly: {
  react(
    el: HTMLElement,
    data: unknown[],
    layout: Record<string, unknown>,
    config?: Record<string, unknown>,
  ): Promise<unknown>;
  purge(el: HTMLElement): void;
  register(module: Record<string, unknown>): void;
};

let plotlyLocale: string | undefined;

/**
 * The charts' config, in the page's language: Plotly's words (its modebar's tooltips) from the catalogue, its
 * dates ("25 nov. 2026") and decimal mark from Intl. Plotly is told the French locale once, on first use.
 */
function chartConfig(): Record<string, unknown> {
  const config = { displaylogo: false, responsive: true };
  if (tr.lang === "en") return config;
  if (plotlyLocale === undefined) {
    const names = (options: Intl.DateTimeFormatOptions, count: number, at: (i: number) => number) =>
      Array.from({ length: count }, (_, i) =>
        new Intl.DateTimeFormat(tr.lang, { ...options, timeZone: "UTC" }).format(at(i)),
      );
    const month = (i: number) => Date.UTC(2021, i, 1);
    const day = (i: number) => Date.UTC(2021, 0, 3 + i); // 2021-01-03 was a Sunday, Plotly's first day
    const dictionary = Object.fromEntries(
      [...MESSAGE_KEYS]
        .filter((k) => k.startsWith("plotly."))
        .map((k) => [CATALOGUES.en[k as MessageKey], tr.t(k as MessageKey & `plotly.${string}`)]),
    );
    Plotly.register({
      moduleType: "locale",
      name: tr.lang,
      dictionary,
      format: {
        days: names({ weekday: "long" }, 7, day),
        shortDays: names({ weekday: "short" }, 7, day),
        months: names({ month: "long" }, 12, month),
        shortMonths: names({ month: "short" }, 12, month),
        date: "%d/%m/%Y",
        decimal: num(1.5, 1).slice(1, 2),
        thousands: num(1000).slice(1, 2),
        year: "%Y",
        month: "%b %Y",
        dayMonth: "%-d %b",
        dayMonthYear: "%-d %b %Y",
      },
    });
    plotlyLocale = tr.lang;
  }
  return { ...config, locale: plotlyLocale };
}

const app = () => document.getElementById("app") as HTMLElement;
const enc = encodeURIComponent;
let canEdit = false;

// --- header: who, and whether a scheduler runs -----------------------------------------------------------

export async function header(): Promise<void> {
  const me = await api<{ canEdit: boolean }>("/me");
  canEdit = me.canEdit;
  const status = document.getElementById("scheduler-status");
  const banners = document.getElementById("banners") as HTMLElement;
  const box = h("p", { className: "banner error", id: "scheduler-banner", hidden: true });
  banners.append(box);
  poll(
    async () => {
      const health = await api<{ scheduler: SchedulerStatus }>("/health");
      const s = health.scheduler;
      const message = schedulerMessage(s);
      if (status) {
        status.className = `scheduler scheduler-${s.status}`;
        mount(status, t(s.status === "running" ? "scheduler.badgeRunning" : "scheduler.badgeDown"));
        status.title = message.replaceAll("`", "");
      }
      box.hidden = s.status === "running";
      mount(box, ...withCode(message));
    },
    5000,
    undefined,
    "header",
  );
}

/** What the scheduler's status means for the user (the server's `message`, in the page's language). */
function schedulerMessage(s: SchedulerStatus): string {
  if (s.status === "never") return t("scheduler.never");
  if (s.status === "running") return t("scheduler.running", { host: s.hostname ?? "?" });
  const age = s.ageMs ?? 0;
  const ago = age < 90_000 ? `${num(age / 1000)} s` : `${num(age / 60_000)} min`;
  return t(s.stopped ? "scheduler.stopped" : "scheduler.silent", { ago });
}

/** The Trigger and Trigger with config buttons of a DAG (disabled for a viewer). */
function triggerButtons(d: DagJson, refresh: () => Promise<void>): Node[] {
  return [
    h(
      "button",
      {
        type: "button",
        disabled: !canEdit,
        "data-action": "trigger",
        onclick: () => void triggerNow(d, () => void refresh()),
      },
      t("trigger.button"),
    ),
    document.createTextNode(" "),
    h(
      "button",
      {
        type: "button",
        className: "secondary",
        disabled: !canEdit,
        "data-action": "trigger-config",
        onclick: () => openTriggerForm(d, () => void refresh()),
      },
      t("trigger.withConfig"),
    ),
  ];
}

/** The actions by hand on a task instance, each enabled when it applies to the state (and the user may edit). */
type TaskActionName = "clear" | "success" | "failed" | "stop";
const ACTION_APPLIES: Record<TaskActionName, (state: string) => boolean> = {
  clear: (s) => s !== "none" && s !== "removed",
  success: (s) => s !== "success" && s !== "removed",
  failed: (s) => s !== "failed" && s !== "removed",
  stop: (s) => s === "running" || s === "queued",
};
const ACTION_LABEL: Record<
  TaskActionName,
  "action.clear" | "action.success" | "action.failed" | "action.stop"
> = {
  clear: "action.clear",
  success: "action.success",
  failed: "action.failed",
  stop: "action.stop",
};

function taskActionButtons(
  dagId: string,
  runId: string,
  ti: Pick<TaskInstanceJson, "taskId" | "state">,
  refresh: () => void,
): Node[] {
  const run = async (action: TaskActionName) => {
    if (action === "clear" && !confirm(t("action.confirmClear", { taskId: ti.taskId, runId }))) return;
    if (action === "stop" && !confirm(t("action.confirmStop", { taskId: ti.taskId, runId }))) return;
    const label = t(ACTION_LABEL[action]);
    try {
      const done = await api<{ changed: unknown[] }>(
        `/dags/${enc(dagId)}/runs/${enc(runId)}/taskInstances/${enc(ti.taskId)}/actions`,
        { method: "POST", body: { action } },
      );
      toast(tn("action.done", done.changed.length, { taskId: ti.taskId, action: label }));
      refresh();
    } catch (error) {
      toast(t("action.failedToast", { action: label, reason: describe(error) }), "error");
    }
  };
  return (Object.keys(ACTION_APPLIES) as TaskActionName[]).map((action) =>
    h(
      "button",
      {
        type: "button",
        className: action === "clear" ? "" : "secondary",
        disabled: !canEdit || !ACTION_APPLIES[action](ti.state),
        "data-action": `ti-${action}`,
        ...(action === "clear" ? { title: t("action.clearTitle") } : {}),
        ...(action === "stop" ? { title: t("action.stopTitle") } : {}),
        onclick: () => void run(action),
      },
      t(ACTION_LABEL[action]),
    ),
  );
}

// --- DAG list --------------------------------------------------------------------------------------------

export function dagsPage(): void {
  const banners = h("div", { id: "import-errors" });
  document.getElementById("banners")?.append(banners);
  const table = h("tbody");
  const error = h("p", { className: "error", hidden: true });
  place(
    app(),
    h("h1", {}, t("nav.dags")),
    error,
    h(
      "table",
      { className: "dags" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          [
            t("dags.colOnOff"),
            t("dags.colDag"),
            t("dags.colSchedule"),
            t("dags.colLastRun"),
            t("dags.colNextRun"),
            t("dags.colActions"),
          ].map((text) => h("th", {}, text)),
        ),
      ),
      table,
    ),
  );
  const refresh = async () => {
    const [{ dags }, { importErrors }] = await Promise.all([
      api<{ dags: DagJson[] }>("/dags"),
      api<{ importErrors: { file: string; message: string }[] }>("/importErrors"),
    ]);
    mount(
      banners,
      importErrors.length
        ? h(
            "div",
            { className: "banner error", id: "broken-dags", role: "alert" },
            // (A plural on its own: "Broken DAGs:", with no count in it.)
            h("b", {}, t(importErrors.length > 1 ? "dags.brokenTitle.other" : "dags.brokenTitle.one")),
            h(
              "ul",
              {},
              importErrors.map((e) =>
                h("li", {}, h("code", {}, e.file), ": ", h("pre", { className: "import-error" }, e.message)),
              ),
            ),
          )
        : null,
    );
    mount(
      table,
      dags.length === 0 ? h("tr", {}, h("td", { colspan: 6 }, t("dags.empty"))) : null,
      dags.map((d) => {
        const descr = h("div", { className: "description" });
        // Markdown rendered by the server with raw HTML escaped (markdown-it, html: false).
        descr.innerHTML = d.descriptionHtml;
        return h(
          "tr",
          { "data-dag": d.dagId, "data-key": `dag:${d.dagId}` },
          h("td", {}, pauseToggle(d, canEdit, view.now)),
          h(
            "td",
            {},
            h("a", { href: u(`/dags/${enc(d.dagId)}`), className: "dag-id" }, d.dagId),
            descr,
            h(
              "div",
              { className: "tags" },
              d.tags.map((tag) => h("span", { className: "tag" }, tag)),
            ),
          ),
          h("td", {}, scheduleText(tr, d.schedule)),
          h(
            "td",
            { className: "last-run" },
            d.lastRun
              ? [
                  stateBadge(d.lastRun.state),
                  " ",
                  h(
                    "a",
                    { href: u(`/dags/${enc(d.dagId)}?run=${enc(d.lastRun.runId)}`) },
                    whenNode(d.lastRun.logicalDate),
                  ),
                ]
              : t("dags.never"),
          ),
          h(
            "td",
            { className: "next-run" },
            d.nextRun?.logicalDate
              ? nextRunText(d.nextRun)
              : d.isPaused && d.schedule !== "manual only"
                ? t("dags.paused")
                : "",
          ),
          h("td", { className: "actions" }, triggerButtons(d, view.now)),
        );
      }),
    );
  };
  const view = poll(refresh, 3000, error, "dags");
}

/**
 * When the next scheduled run starts, and the interval it covers. A scheduled run is dated by the start of its
 * interval (its logical date) and starts once the interval is over (Airflow's convention): showing the logical
 * date alone reads as a date in the past.
 */
function nextRunText(next: { logicalDate: string | null; dueAt: string | null }): HTMLElement {
  const due = next.dueAt ? Date.parse(next.dueAt) : Number.NaN;
  const title = t("next.title", { date: when(next.logicalDate) });
  const text = Number.isNaN(due)
    ? tr.parts("next.for", { date: whenNode(next.logicalDate) })
    : due <= Date.now()
      ? t("next.dueNow")
      : tr.parts("next.at", { date: whenNode(next.dueAt) });
  return h(
    "span",
    { title },
    h("span", { className: "when" }, text),
    h(
      "small",
      { className: "interval" },
      " ",
      tr.parts("next.interval", { date: whenNode(next.logicalDate) }),
    ),
  );
}

// --- a DAG -----------------------------------------------------------------------------------------------

export function dagPage(): void {
  const dagId = pageData("dagId");
  let selected = new URLSearchParams(location.search).get("run") ?? "";
  let tab = location.hash.slice(1) || "grid";
  let dag: DagJson | undefined;
  let grid: Grid | undefined;
  let layout: GraphLayout | undefined;
  const head = h("div", { className: "dag-head" });
  const error = h("p", { className: "error", hidden: true });
  const panels: Record<string, HTMLElement> = {
    grid: h("section", { id: "panel-grid" }),
    graph: h("section", { id: "panel-graph" }),
    gantt: h("section", { id: "panel-gantt" }),
    code: h("section", { id: "panel-code" }),
    details: h("section", { id: "panel-details" }),
  };
  const tabNames: Record<string, string> = {
    grid: t("dag.tabGrid"),
    graph: t("dag.tabGraph"),
    gantt: t("dag.tabGantt"),
    code: t("dag.tabCode"),
    details: t("dag.tabDetails"),
  };
  const tabs = h(
    "nav",
    { className: "tabs", role: "tablist" },
    Object.keys(panels).map((name) =>
      h(
        "a",
        { href: `#${name}`, role: "tab", "data-tab": name, onclick: () => show(name) },
        tabNames[name] ?? name,
      ),
    ),
  );
  place(app(), head, error, tabs, Object.values(panels));
  const show = (name: string) => {
    tab = name;
    for (const [k, el] of Object.entries(panels)) el.hidden = k !== name;
    for (const a of tabs.querySelectorAll("a")) a.classList.toggle("active", a.dataset.tab === name);
    void draw();
    if (name === "code") void drawCode();
  };
  const selectedRun = (): GridRun | undefined =>
    grid?.runs.find((r) => r.run.runId === selected) ?? grid?.runs.at(-1);

  /** Draws the tab shown; a refresh waits for it, so that refreshes of the page never overlap. */
  const draw = async () => {
    if (!dag || !grid) return;
    if (tab === "grid") drawGrid();
    if (tab === "graph") await drawGraph();
    if (tab === "gantt") await drawGantt();
    if (tab === "details") await drawDetails();
  };

  const drawHead = () => {
    if (!dag) return;
    const d = dag;
    const descr = h("div", { className: "description" });
    descr.innerHTML = d.descriptionHtml;
    mount(
      head,
      h("h1", {}, pauseToggle(d, canEdit, view.now), " ", d.dagId),
      descr,
      h(
        "p",
        { className: "meta" },
        t("dag.schedule", { schedule: scheduleText(tr, d.schedule) }),
        d.nextRun?.logicalDate ? [` · ${t("dag.nextRun")} `, nextRunText(d.nextRun)] : "",
        ` · ${t(d.catchup ? "dag.catchupOn" : "dag.catchupOff")} · ${tn("dag.maxActiveRuns", d.maxActiveRuns)} · ${t("dag.file")} `,
        h("code", {}, d.file),
        d.tags.length ? [" · ", d.tags.map((tag) => h("span", { className: "tag" }, tag))] : null,
      ),
      h("p", { className: "actions" }, triggerButtons(d, view.now)),
    );
  };

  const drawGrid = () => {
    if (!grid) return;
    mount(
      panels.grid as HTMLElement,
      gridView(grid, {
        dagId,
        selected: selectedRun()?.run.runId,
        select: (runId) => {
          selected = runId;
          history.replaceState(null, "", `?run=${enc(selected)}#${tab}`);
          void draw();
        },
      }),
    );
  };

  const drawGraph = async () => {
    layout ??= await api<GraphLayout>(`/dags/${enc(dagId)}/graph`);
    const run = selectedRun();
    const l = layout;
    const path = (points: { x: number; y: number }[]) =>
      points.map((p, i) => `${i === 0 ? "M" : "L"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
    const picture = svg(
      "svg",
      {
        width: l.width,
        height: l.height,
        viewBox: `0 0 ${l.width} ${l.height}`,
        class: "graph",
        role: "img",
      },
      svg(
        "defs",
        {},
        svg(
          "marker",
          {
            id: "arrow",
            viewBox: "0 0 10 10",
            refX: 9,
            refY: 5,
            markerWidth: 7,
            markerHeight: 7,
            orient: "auto-start-reverse",
          },
          svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#555" }),
        ),
      ),
      l.edges.map((e) =>
        svg("path", {
          d: path(e.points),
          fill: "none",
          stroke: "#555",
          "stroke-width": 1.5,
          "marker-end": "url(#arrow)",
        }),
      ),
      l.nodes.map((n) => {
        const state = run?.tasks[n.taskId]?.state ?? "none";
        return svg(
          "g",
          { "data-task": n.taskId, "data-state": state, class: "node" },
          svg("title", {}, t("graph.nodeTitle", { taskId: n.taskId, state, rule: n.triggerRule })),
          svg("rect", {
            x: n.x,
            y: n.y,
            width: n.width,
            height: n.height,
            rx: 6,
            fill: "#fff",
            stroke: STATE_COLOURS[state] ?? "#999",
            "stroke-width": 3,
          }),
          svg("text", { x: n.x + n.width / 2, y: n.y + n.height / 2 + 5, "text-anchor": "middle" }, n.taskId),
        );
      }),
    );
    mount(
      panels.graph as HTMLElement,
      h(
        "p",
        { className: "meta" },
        run ? t("graph.statesIn", { runId: run.run.runId, state: run.run.state }) : t("graph.noRuns"),
      ),
      picture,
      legend(false),
    );
  };

  /** A run of this DAG with its task instances (the Gantt and Details tabs). */
  const runDetail = (runId: string) =>
    api<RunJson & { taskInstances: TaskInstanceJson[] }>(`/dags/${enc(dagId)}/runs/${enc(runId)}`);

  const drawGantt = async () => {
    const run = selectedRun();
    const box = panels.gantt as HTMLElement;
    if (!run) {
      mount(box, h("p", {}, t("dag.noRuns")));
      return;
    }
    const detail = await runDetail(run.run.runId);
    const started = detail.taskInstances.filter((ti) => ti.startedAt);
    let chart = box.querySelector<HTMLElement>(".gantt");
    if (!chart) {
      chart = h("div", { className: "gantt chart", "data-owner": "plotly" });
      place(box, h("p", { className: "meta", id: "gantt-title" }), chart);
    }
    mount(
      box.querySelector("#gantt-title") as HTMLElement,
      t("gantt.title", { runId: detail.runId, state: detail.state }),
    );
    if (started.length === 0) {
      Plotly.purge(chart);
      place(chart, h("p", {}, t("gantt.nothingStarted")));
      return;
    }
    const now = Date.now();
    await Plotly.react(
      chart,
      [
        {
          type: "bar",
          orientation: "h",
          y: started.map((ti) => ti.taskId),
          base: started.map((ti) => ti.startedAt),
          x: started.map(
            (ti) => (ti.endedAt ? Date.parse(ti.endedAt) : now) - Date.parse(ti.startedAt as string),
          ),
          marker: { color: started.map((ti) => STATE_COLOURS[ti.state] ?? "#999") },
          text: started.map(
            (ti) => `${ti.state}, ${duration(ti.durationMs ?? now - Date.parse(ti.startedAt as string))}`,
          ),
          hovertemplate: "%{y}: %{text}<extra></extra>",
        },
      ],
      {
        margin: { l: 140, r: 20, t: 10, b: 40 },
        height: 80 + 36 * started.length,
        xaxis: { type: "date", title: { text: t("chart.timeUtc") } },
        yaxis: { autorange: "reversed" },
      },
      chartConfig(),
    );
  };

  const drawCode = async () => {
    const box = panels.code as HTMLElement;
    if (box.dataset.loaded) return;
    const { file, source } = await api<{ file: string; source: string }>(`/dags/${enc(dagId)}/source`);
    box.dataset.loaded = "1";
    mount(
      box,
      h("p", { className: "meta" }, h("code", {}, file)),
      h("pre", { className: "source" }, h("code", {}, source)),
    );
  };

  const drawDetails = async () => {
    const run = selectedRun();
    const box = panels.details as HTMLElement;
    if (!run) {
      mount(box, h("p", {}, t("dag.noRuns")));
      return;
    }
    const d = await runDetail(run.run.runId);
    const row = (k: string, v: Node | string) => h("tr", {}, h("th", {}, k), h("td", {}, v));
    mount(
      box,
      h(
        "table",
        { className: "details" },
        row(t("run.id"), d.runId),
        row(t("run.state"), stateBadge(d.state)),
        row(t("run.type"), d.runType),
        row(t("run.logicalDate"), when(d.logicalDate)),
        row(t("run.stamp"), d.stamp),
        row(
          t("run.outputs"),
          d.outputs.length
            ? h(
                "ul",
                {},
                d.outputs.map((o) => h("li", {}, h("code", {}, o))),
              )
            : t("run.noOutputs"),
        ),
        row(t("run.dataInterval"), `${when(d.dataIntervalStart)} – ${when(d.dataIntervalEnd)}`),
        row(t("run.started"), when(d.startedAt)),
        row(t("run.ended"), when(d.endedAt)),
        row(t("run.conf"), h("pre", {}, JSON.stringify(d.conf, null, 2))),
      ),
      h("h3", {}, t("run.taskInstances")),
      h(
        "table",
        { className: "tis" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            [
              t("ti.task"),
              t("ti.state"),
              t("ti.try"),
              t("ti.duration"),
              t("ti.result"),
              t("ti.log"),
              t("ti.actions"),
            ].map((text) => h("th", {}, text)),
          ),
        ),
        h(
          "tbody",
          {},
          d.taskInstances.map((ti) =>
            h(
              "tr",
              { "data-task": ti.taskId, "data-key": `ti:${ti.taskId}` },
              h("td", {}, ti.taskId),
              h(
                "td",
                {},
                stateBadge(ti.state),
                ti.setBy ? h("div", { className: "meta" }, t("action.setBy", { user: ti.setBy })) : "",
              ),
              h("td", {}, `${ti.tryNumber}/${ti.maxTries}`),
              h("td", {}, duration(ti.durationMs)),
              h(
                "td",
                {},
                // The error first: a task marked failed keeps the value its successful try returned.
                ti.error
                  ? h("pre", { className: "error-text" }, ti.error)
                  : ti.returnValue !== undefined
                    ? h("code", {}, JSON.stringify(ti.returnValue))
                    : "",
              ),
              h(
                "td",
                {},
                ti.tryNumber > 0
                  ? h(
                      "a",
                      {
                        href: u(
                          `/dags/${enc(dagId)}/runs/${enc(d.runId)}/tasks/${enc(ti.taskId)}/logs?try=${ti.tryNumber}`,
                        ),
                      },
                      t("ti.log"),
                    )
                  : "",
              ),
              h(
                "td",
                { className: "ti-actions" },
                taskActionButtons(dagId, d.runId, ti, () => view.now()),
              ),
            ),
          ),
        ),
      ),
    );
  };

  const refresh = async () => {
    [dag, grid] = await Promise.all([
      api<DagJson>(`/dags/${enc(dagId)}`),
      api<Grid>(`/dags/${enc(dagId)}/grid?limit=25`),
    ]);
    drawHead();
    await draw();
  };
  show(tab);
  const view = poll(refresh, 2000, error, "dag");
}

// --- a try's log -----------------------------------------------------------------------------------------

/** How much of a log the page loads at once: the tail first, then earlier windows on demand. */
const LOG_WINDOW = 64 * 1024;

export function logPage(): void {
  const [dagId, runId, taskId] = [pageData("dagId"), pageData("runId"), pageData("taskId")];
  const base = `/dags/${enc(dagId)}/runs/${enc(runId)}/taskInstances/${enc(taskId)}`;
  const pre = h("pre", { className: "log", id: "log" });
  const status = h("p", { className: "meta", id: "log-status" });
  const tries = h("nav", { className: "tries" });
  const error = h("p", { className: "error", hidden: true });
  // A long log opens on its tail; this button loads the part before, a window at a time.
  const earlier = h("button", { type: "button", id: "log-earlier", hidden: true });
  place(
    app(),
    h(
      "h1",
      {},
      h("a", { href: u(`/dags/${enc(dagId)}?run=${enc(runId)}`) }, dagId),
      ` / ${runId} / ${taskId}`,
    ),
    tries,
    status,
    error,
    earlier,
    pre,
  );
  let tryNumber = Number(pageData("try")) || 0;
  let offset = 0;
  let started = false;
  /** Where the text shown begins (bytes): what is before it loads on demand. */
  let start = 0;
  let finished = false;
  const showEarlier = () => {
    earlier.hidden = start === 0;
    earlier.textContent = t("log.earlier", { kb: Math.ceil(start / 1024) });
  };
  earlier.addEventListener("click", async () => {
    earlier.disabled = true;
    try {
      const chunk = await api<{ content: string; start: number }>(
        `${base}/logs/${tryNumber}?tail=${LOG_WINDOW}&end=${start}`,
      );
      const height = pre.scrollHeight;
      pre.prepend(document.createTextNode(chunk.content));
      pre.scrollTop += pre.scrollHeight - height;
      start = chunk.start;
      showEarlier();
    } finally {
      earlier.disabled = false;
    }
  });
  const refresh = async () => {
    const info = await api<{ taskInstance: TaskInstanceJson; tries: TryJson[] }>(`${base}/tries`);
    const ti = info.taskInstance;
    if (tryNumber === 0) tryNumber = Math.max(ti.tryNumber, 1);
    mount(
      tries,
      `${t("log.tries")} `,
      info.tries.map((one) => [
        h(
          "a",
          { href: `?try=${one.tryNumber}`, className: one.tryNumber === tryNumber ? "active" : "" },
          `${one.tryNumber}`,
        ),
        " ",
        stateBadge(one.state),
        " ",
      ]),
    );
    if (ti.tryNumber === 0) {
      mount(status, t("log.noTry", { state: ti.state }));
      return;
    }
    if (finished) return;
    const chunk = await api<{
      content: string;
      start: number;
      nextOffset: number;
      finished: boolean;
      exists: boolean;
    }>(`${base}/logs/${tryNumber}?${started ? `offset=${offset}` : `tail=${LOG_WINDOW}`}`);
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    if (chunk.content) pre.append(document.createTextNode(chunk.content));
    if (!started && chunk.exists) {
      started = true;
      start = chunk.start;
      showEarlier();
    }
    offset = chunk.nextOffset;
    finished = chunk.finished && chunk.content === "";
    if (atBottom) pre.scrollTop = pre.scrollHeight;
    mount(
      status,
      stateBadge(ti.state),
      " ",
      t(finished || chunk.finished ? "log.ended" : "log.following", { n: tryNumber }),
    );
  };
  poll(refresh, 1000, error, "log");
}

// --- predictions -----------------------------------------------------------------------------------------

export function predictionsPage(): void {
  const table = h("tbody");
  const chartLatest = h("div", { className: "chart", id: "chart-latest", "data-owner": "plotly" });
  const note = h("p", { className: "meta" });
  const chartTime = h("div", { className: "chart", id: "chart-time", "data-owner": "plotly" });
  const error = h("p", { className: "error", hidden: true });
  const rows = h("div", { id: "rows" });
  place(
    app(),
    h("h1", {}, t("nav.predictions")),
    error,
    h("p", { className: "meta" }, t("predictions.intro")),
    h("h2", {}, t("predictions.latestTitle")),
    note,
    chartLatest,
    h("h2", {}, t("predictions.overTime")),
    chartTime,
    h("h2", {}, t("predictions.files")),
    h(
      "table",
      { className: "files" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          [t("predictions.colFile"), t("predictions.colTime"), t("predictions.colSize")].map((text) =>
            h("th", {}, text),
          ),
        ),
      ),
      table,
    ),
    rows,
  );
  let shown = "";
  const refresh = async () => {
    const [{ predictions }, { models }] = await Promise.all([
      api<{ predictions: PredictionFile[] }>("/predictions"),
      api<{ models: ModelJson[] }>("/models"),
    ]);
    mount(
      table,
      predictions.length === 0 ? h("tr", {}, h("td", { colspan: 3 }, t("predictions.empty"))) : null,
      predictions
        .slice(0, 200)
        .map((p) =>
          h(
            "tr",
            { "data-file": p.name, "data-key": `file:${p.name}` },
            h("td", {}, h("a", { href: `#${p.name}`, onclick: () => void showRows(p.name) }, p.name)),
            h("td", {}, whenNode(p.time)),
            h("td", {}, t("predictions.bytes", { n: num(p.bytes) })),
          ),
        ),
    );
    const key = predictions
      .map((p) => p.name)
      .slice(0, 30)
      .join(",");
    if (key === shown || predictions.length === 0) return;
    shown = key;
    const recent = await Promise.all(
      predictions.slice(0, 30).map((p) => api<PredictionRows>(`/predictions/${enc(p.name)}`)),
    );
    const latest = recent[0] as PredictionRows;
    const model = models.find((m) => m.latest) ?? models[0];
    const hist = model?.targetHistogram;
    const traces: unknown[] = [];
    if (hist?.counts.length) {
      const total = hist.counts.reduce((a, b) => a + b, 0);
      traces.push({
        type: "bar",
        name: t("predictions.targetTrace", { model: model?.name ?? "?" }),
        x: hist.counts.map((_, i) => ((hist.edges[i] as number) + (hist.edges[i + 1] as number)) / 2),
        y: hist.counts.map((c, i) => c / total / ((hist.edges[i + 1] as number) - (hist.edges[i] as number))),
        marker: { color: "rgba(70,130,180,0.45)" },
        hovertemplate: `${t("predictions.densityHover", { x: "%{x:.1f}", y: "%{y:.4f}" })}<extra></extra>`,
      });
    }
    mount(note, hist?.counts.length ? "" : t("predictions.noHistogram"));
    traces.push({
      type: "scatter",
      mode: "markers",
      name: t("predictions.latestTrace", { file: latest.name }),
      x: latest.predictions,
      y: latest.predictions.map(() => 0),
      marker: { color: "#d9534f", size: 12, symbol: "line-ns-open", line: { width: 3 } },
      hovertemplate: `${t("predictions.degHover", { x: "%{x:.2f}" })}<extra></extra>`,
    });
    await Plotly.react(
      chartLatest,
      traces,
      {
        margin: { t: 10, r: 10, l: 60, b: 50 },
        height: 320,
        xaxis: { title: { text: t("predictions.pitchAxis") } },
        yaxis: { title: { text: t("predictions.density") } },
        bargap: 0,
        legend: { orientation: "h", y: -0.25 },
      },
      chartConfig(),
    );
    const times: string[] = [];
    const values: number[] = [];
    recent.forEach((r, i) => {
      const t = predictions[i]?.time as string;
      for (const v of r.predictions) {
        times.push(t);
        values.push(v);
      }
    });
    await Plotly.react(
      chartTime,
      [
        {
          type: "scatter",
          mode: "markers",
          x: times,
          y: values,
          name: t("predictions.trace"),
          marker: { color: "#2e8b57" },
        },
      ],
      {
        margin: { t: 10, r: 10, l: 60, b: 50 },
        height: 300,
        xaxis: { type: "date", title: { text: t("predictions.runAxis") } },
        yaxis: { title: { text: t("predictions.predictedAxis") } },
      },
      chartConfig(),
    );
  };
  const showRows = async (name: string) => {
    const r = await api<PredictionRows>(`/predictions/${enc(name)}`);
    mount(
      rows,
      h("h2", {}, name),
      h(
        "p",
        { className: "meta" },
        tn("predictions.rows", r.rows),
        r.truncated ? ` ${t("predictions.truncated")}` : "",
      ),
      h(
        "table",
        { className: "rows" },
        h("thead", {}, h("tr", {}, h("th", {}, "predictions"), h("th", {}, "predictions_time"))),
        h(
          "tbody",
          {},
          r.predictions
            .slice(0, 500)
            .map((p, i) => h("tr", {}, h("td", {}, num(p, 4)), h("td", {}, r.predictionsTime[i] ?? ""))),
        ),
      ),
    );
  };
  poll(refresh, 5000, error, "predictions");
}

// --- models ----------------------------------------------------------------------------------------------

export function modelsPage(): void {
  const table = h("tbody");
  const error = h("p", { className: "error", hidden: true });
  place(
    app(),
    h("h1", {}, t("nav.models")),
    error,
    h("p", { className: "meta" }, t("models.intro")),
    // Eleven columns: on a narrow window the table scrolls, not the page.
    h(
      "div",
      { className: "table-scroll" },
      h(
        "table",
        { className: "models" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            [
              t("models.colModel"),
              t("models.colCreated"),
              t("models.colTestRmse"),
              t("models.colTestMae"),
              t("models.colTestR2"),
              t("models.colBaselineRmse"),
              t("models.colValidationRmse"),
              t("models.colRows"),
              t("models.colEpochs"),
              t("models.colTraining"),
              t("models.colBackend"),
            ].map((text) => h("th", {}, text)),
          ),
        ),
        table,
      ),
    ),
  );
  poll(
    async () => {
      const { models } = await api<{ models: ModelJson[] }>("/models");
      const f = (v: number | undefined, d: number) => (v === undefined ? "" : num(v, d));
      mount(
        table,
        models.length === 0 ? h("tr", {}, h("td", { colspan: 11 }, t("models.empty"))) : null,
        models.map((m) => {
          // Models saved before the test split were scored on their validation rows only: no test columns.
          const test = m.scoredOn === "test" ? m.metrics : null;
          return h(
            "tr",
            { "data-model": m.name, "data-key": `model:${m.name}` },
            h(
              "td",
              {},
              h("span", { className: "model-name" }, m.name),
              m.latest ? [" ", h("span", { className: "tag" }, t("models.latest"))] : null,
              m.error ? h("p", { className: "error" }, m.error) : null,
              m.scoredOn === "validation" ? h("p", { className: "meta" }, t("models.validationOnly")) : null,
            ),
            h("td", {}, whenNode(m.createdAt)),
            h("td", {}, f(test?.rmse, 3)),
            h("td", {}, f(test?.mae, 3)),
            h("td", {}, f(test?.r2, 4)),
            h("td", {}, f(test?.baselineRmse, 3)),
            h("td", {}, f(m.validationMetrics?.rmse, 3)),
            h(
              "td",
              { className: "rows-split" },
              `${num(m.trainingRows)} + ${num(m.validationRows)}${m.scoredOn === "test" ? ` + ${num(m.testRows)}` : ""}`,
            ),
            h("td", {}, `${m.epochsRun} (${m.bestEpoch})`),
            h("td", {}, `${num(m.trainingSeconds, 1)} s`),
            h("td", {}, m.backend),
          );
        }),
      );
    },
    10_000,
    error,
    "models",
  );
}

// --- account ---------------------------------------------------------------------------------------------

export function accountPage(): void {
  const current = h("input", {
    type: "password",
    name: "currentPassword",
    autocomplete: "current-password",
    required: true,
  });
  const next = h("input", {
    type: "password",
    name: "newPassword",
    autocomplete: "new-password",
    required: true,
    minlength: 8,
  });
  const again = h("input", {
    type: "password",
    name: "confirm",
    autocomplete: "new-password",
    required: true,
  });
  const message = h("p", { role: "status" });
  const form = h(
    "form",
    { className: "account" },
    h("h1", {}, t("account.heading")),
    h("label", {}, t("account.current"), current),
    h("label", {}, t("account.new"), next),
    h("label", {}, t("account.again"), again),
    h("button", { type: "submit" }, t("account.submit")),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (next.value !== again.value) {
      mount(message, t("account.differ"));
      message.className = "error";
      return;
    }
    try {
      await api("/me/password", {
        method: "POST",
        body: { currentPassword: current.value, newPassword: next.value },
      });
      mount(message, t("account.changed"));
      message.className = "ok";
      document.getElementById("default-password-banner")?.remove();
      form.reset();
    } catch (error) {
      mount(message, describe(error));
      message.className = "error";
    }
  });
  place(app(), form);
}

export { toast };
