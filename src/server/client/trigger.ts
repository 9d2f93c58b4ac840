/**
 * Trigger and Trigger with config. The form shows, before anything is created, the run id, the logical date
 * and the dated file names the run will use (the DAG's outputs with the run's stamp), refreshed as the user
 * types and, while no date is given, every second (the logical date is the trigger time).
 */
import type { DagJson, RunJson } from "../views.js";
import { api, describe, h, mount, toast, when, whileBusy } from "./dom.js";

interface Wait {
  runId: string;
  runType: string;
  state: string;
}

interface Preview {
  runId: string;
  logicalDate: string;
  stamp: string;
  outputs: string[];
  paused: boolean;
  waitsFor: Wait[];
  maxActiveRuns: number;
}

type Triggered = RunJson & { paused: boolean; waitsFor: Wait[]; maxActiveRuns: number };

const pausedNote = (dagId: string) => `DAG ${dagId} is OFF (paused): the run waits until you turn it ON.`;

/** Why a new run will not start at once: the runs it waits for, and the rule that makes it wait. */
export function waitNote(dagId: string, p: Pick<Preview, "waitsFor" | "maxActiveRuns">): string {
  if (p.waitsFor.length === 0) return "";
  const runs = p.waitsFor
    .map((w) => `${w.runId} (${w.state}${w.runType === "scheduled" ? ", created by the schedule" : ""})`)
    .join(", ");
  return (
    `It waits for ${runs} to end: ${dagId} runs at most ${p.maxActiveRuns} run${p.maxActiveRuns === 1 ? "" : "s"} at a time ` +
    "(its maxActiveRuns). It shows as queued in the grid meanwhile."
  );
}

/** What a trigger created, and whether it waits (toast text). */
function triggeredText(dagId: string, run: Triggered, withOutputs: boolean): string {
  return [
    `Triggered ${dagId}: ${run.runId}, files stamped ${run.stamp}${withOutputs && run.outputs.length ? ` (${run.outputs.join(", ")})` : ""}.`,
    run.paused ? pausedNote(dagId) : "",
    waitNote(dagId, run),
  ]
    .filter(Boolean)
    .join(" ");
}

/** Triggers a run now, with the DAG's default params; tells what was created. */
export async function triggerNow(dag: Pick<DagJson, "dagId">, onDone?: () => void): Promise<void> {
  try {
    const run = await api<Triggered>(`/dags/${encodeURIComponent(dag.dagId)}/runs`, {
      method: "POST",
      body: {},
    });
    toast(
      triggeredText(dag.dagId, run, true),
      "ok",
      run.waitsFor.length > 0 || run.paused ? 10_000 : undefined,
    );
    onDone?.();
  } catch (error) {
    toast(`Trigger failed: ${describe(error)}`, "error");
  }
}

/** Opens the Trigger with config form. */
export function openTriggerForm(dag: Pick<DagJson, "dagId" | "params">, onDone?: () => void): void {
  const conf = h("textarea", { name: "conf", rows: 8, spellcheck: "false", "aria-label": "conf (JSON)" });
  conf.value = JSON.stringify(dag.params, null, 2);
  const date = h("input", {
    name: "logicalDate",
    placeholder: "now (e.g. 2026-11-25T17:30:05Z)",
    "aria-label": "logical date",
  });
  const preview = h("div", { className: "preview", "aria-live": "polite" });
  const problem = h("p", { className: "error", hidden: true });
  const submit = h("button", { type: "submit" }, "Trigger");
  const cancel = h("button", { type: "button", className: "secondary" }, "Cancel");
  const form = h(
    "form",
    { method: "dialog", className: "trigger-form" },
    h("h2", {}, `Trigger ${dag.dagId} with config`),
    h("label", {}, "Conf (JSON: overrides the params)", conf),
    h("label", {}, "Logical date (UTC; empty: now)", date),
    preview,
    problem,
    h("div", { className: "buttons" }, submit, cancel),
  );
  const dialog = h("dialog", { className: "trigger" }, form);
  document.body.append(dialog);

  let stopped = false;
  const parseConf = (): Record<string, unknown> | string => {
    try {
      const value = JSON.parse(conf.value || "{}") as unknown;
      if (typeof value !== "object" || value === null || Array.isArray(value))
        return "the conf must be a JSON object";
      return value as Record<string, unknown>;
    } catch (error) {
      return `the conf is not JSON: ${(error as Error).message}`;
    }
  };
  const refresh = async () => {
    const query = date.value.trim() ? `?logicalDate=${encodeURIComponent(date.value.trim())}` : "";
    try {
      const p = await api<Preview>(`/dags/${encodeURIComponent(dag.dagId)}/triggerPreview${query}`);
      mount(
        preview,
        h(
          "dl",
          {},
          h("dt", {}, "run id"),
          h("dd", { "data-field": "runId" }, p.runId),
          h("dt", {}, "logical date"),
          h("dd", { "data-field": "logicalDate" }, when(p.logicalDate)),
          h("dt", {}, "files stamped"),
          h("dd", { "data-field": "stamp" }, p.stamp),
          h("dt", {}, "dated files"),
          h(
            "dd",
            { "data-field": "outputs" },
            p.outputs.length
              ? h(
                  "ul",
                  {},
                  p.outputs.map((o) => h("li", {}, h("code", {}, o))),
                )
              : "(the DAG declares none)",
          ),
        ),
        p.paused ? h("p", { className: "note" }, pausedNote(dag.dagId)) : null,
        p.waitsFor.length
          ? h("p", { className: "note", "data-field": "waits" }, waitNote(dag.dagId, p))
          : null,
      );
    } catch (error) {
      mount(preview, h("p", { className: "error" }, describe(error)));
    }
  };
  const tick = () => {
    if (stopped) return;
    if (!date.value.trim()) void refresh();
    window.setTimeout(tick, 1000);
  };
  date.addEventListener("input", () => void refresh());
  const close = () => {
    stopped = true;
    dialog.close();
    dialog.remove();
  };
  cancel.addEventListener("click", close);
  dialog.addEventListener("cancel", close);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const parsed = parseConf();
    if (typeof parsed === "string") {
      problem.hidden = false;
      mount(problem, parsed);
      return;
    }
    submit.disabled = true;
    try {
      const run = await api<Triggered>(`/dags/${encodeURIComponent(dag.dagId)}/runs`, {
        method: "POST",
        body: { conf: parsed, ...(date.value.trim() ? { logicalDate: date.value.trim() } : {}) },
      });
      close();
      toast(
        triggeredText(dag.dagId, run, false),
        "ok",
        run.waitsFor.length > 0 || run.paused ? 10_000 : undefined,
      );
      onDone?.();
    } catch (error) {
      problem.hidden = false;
      mount(problem, describe(error));
      submit.disabled = false;
    }
  });
  dialog.showModal();
  tick();
}

/**
 * The ON/OFF switch of a DAG. Its tooltip says what pausing does to scheduled and running work. `onChange`
 * refreshes the page: until that refresh is drawn the switch is busy, so that no refresh which fetched before
 * the change (a poll in flight) turns it back on the screen.
 */
export function pauseToggle(
  dag: Pick<DagJson, "dagId" | "isPaused">,
  canEdit: boolean,
  onChange: () => Promise<void>,
): HTMLElement {
  const change = async (event: Event) => {
    // The nodes on the page, reached through the event: after a refresh they are the kept ones (see dom.ts).
    const input = event.currentTarget as HTMLInputElement;
    const label = input.closest("label") ?? input;
    const text = label.querySelector(".switch-text");
    await whileBusy(label, async () => {
      input.disabled = true;
      try {
        const after = await api<{ createsNow?: { start: string; end: string; more: boolean } | null }>(
          `/dags/${encodeURIComponent(dag.dagId)}`,
          { method: "PATCH", body: { isPaused: !input.checked } },
        );
        // The switch's word follows at once, not at the next refresh of the page.
        if (text) text.textContent = input.checked ? "ON" : "OFF";
        if (!input.checked) toast(`${dag.dagId} is OFF (paused): no new run starts; running tasks finish.`);
        else if (after.createsNow)
          toast(
            `${dag.dagId} is ON. The scheduler creates its run for the interval ${when(after.createsNow.start)} to ` +
              `${when(after.createsNow.end)} now${after.createsNow.more ? ", then the other missed intervals (catch-up on)" : ""}: ` +
              "a scheduled run covers an interval that is over (Airflow does the same). You need not press Trigger for it.",
            "ok",
            12_000,
          );
        else toast(`${dag.dagId} is ON: its next scheduled run comes when its next interval is over.`);
        input.disabled = !canEdit;
        await onChange();
      } catch (error) {
        input.checked = !input.checked;
        toast(describe(error), "error");
      } finally {
        input.disabled = !canEdit;
      }
    });
  };
  return h(
    "label",
    {
      className: "switch",
      title:
        "ON: the scheduler creates this DAG's scheduled runs and runs its triggered runs. " +
        "OFF (paused): no new scheduled run is created and nothing new starts (triggered runs wait); " +
        "tasks already running finish.",
    },
    h("input", {
      type: "checkbox",
      className: "toggle",
      role: "switch",
      "aria-label": `${dag.dagId} ON/OFF`,
      "data-dag": dag.dagId,
      checked: !dag.isPaused,
      disabled: !canEdit,
      onchange: (event) => void change(event),
    }),
    h("span", { className: "switch-text" }, dag.isPaused ? "OFF" : "ON"),
  );
}
