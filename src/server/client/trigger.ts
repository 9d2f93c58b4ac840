/**
 * Trigger and Trigger with config. The form shows, before anything is created, the run id, the logical date
 * and the dated file names the run will use (the DAG's outputs with the run's stamp), refreshed as the user
 * types and, while no date is given, every second (the logical date is the trigger time).
 */
import type { DagJson, RunJson } from "../views.js";
import { api, describe, h, mount, toast, when, whileBusy } from "./dom.js";
import { t, tn } from "./lang.js";

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

const pausedNote = (dagId: string) => t("trigger.pausedNote", { dagId });

/** Why a new run will not start at once: the runs it waits for, and the rule that makes it wait. */
export function waitNote(dagId: string, p: Pick<Preview, "waitsFor" | "maxActiveRuns">): string {
  if (p.waitsFor.length === 0) return "";
  const runs = p.waitsFor
    .map((w) =>
      t(w.runType === "scheduled" ? "trigger.waitRunScheduled" : "trigger.waitRun", {
        runId: w.runId,
        state: w.state,
      }),
    )
    .join(", ");
  return tn("trigger.waitsFor", p.maxActiveRuns, { runs, dagId });
}

/** What a trigger created, and whether it waits (toast text). */
function triggeredText(dagId: string, run: Triggered, withOutputs: boolean): string {
  return [
    t("trigger.done", {
      dagId,
      runId: run.runId,
      stamp: run.stamp,
      outputs: withOutputs && run.outputs.length ? ` (${run.outputs.join(", ")})` : "",
    }),
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
    toast(t("trigger.failed", { reason: describe(error) }), "error");
  }
}

/** Opens the Trigger with config form. */
export function openTriggerForm(dag: Pick<DagJson, "dagId" | "params">, onDone?: () => void): void {
  const conf = h("textarea", {
    name: "conf",
    rows: 8,
    spellcheck: "false",
    "aria-label": t("trigger.confAria"),
  });
  conf.value = JSON.stringify(dag.params, null, 2);
  const date = h("input", {
    name: "logicalDate",
    placeholder: t("trigger.datePlaceholder", { example: "2026-11-25T17:30:05Z" }),
    "aria-label": t("run.logicalDate"),
  });
  const preview = h("div", { className: "preview", "aria-live": "polite" });
  const problem = h("p", { className: "error", hidden: true });
  const submit = h("button", { type: "submit" }, t("trigger.button"));
  const cancel = h("button", { type: "button", className: "secondary" }, t("trigger.cancel"));
  const form = h(
    "form",
    { method: "dialog", className: "trigger-form" },
    h("h2", {}, t("trigger.formTitle", { dagId: dag.dagId })),
    h("label", {}, t("trigger.confLabel"), conf),
    h("label", {}, t("trigger.dateLabel"), date),
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
        return t("trigger.confNotObject");
      return value as Record<string, unknown>;
    } catch (error) {
      return t("trigger.confNotJson", { error: (error as Error).message });
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
          h("dt", {}, t("run.id")),
          h("dd", { "data-field": "runId" }, p.runId),
          h("dt", {}, t("run.logicalDate")),
          h("dd", { "data-field": "logicalDate" }, when(p.logicalDate)),
          h("dt", {}, t("run.stamp")),
          h("dd", { "data-field": "stamp" }, p.stamp),
          h("dt", {}, t("run.outputs")),
          h(
            "dd",
            { "data-field": "outputs" },
            p.outputs.length
              ? h(
                  "ul",
                  {},
                  p.outputs.map((o) => h("li", {}, h("code", {}, o))),
                )
              : t("trigger.noOutputs"),
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
        if (text) text.textContent = t(input.checked ? "switch.on" : "switch.off");
        if (!input.checked) toast(t("switch.offToast", { dagId: dag.dagId }));
        else if (after.createsNow)
          toast(
            t("switch.onCreatesToast", {
              dagId: dag.dagId,
              start: when(after.createsNow.start),
              end: when(after.createsNow.end),
              more: after.createsNow.more ? t("switch.onCreatesMore") : "",
            }),
            "ok",
            12_000,
          );
        else toast(t("switch.onToast", { dagId: dag.dagId }));
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
      title: t("switch.title"),
    },
    h("input", {
      type: "checkbox",
      className: "toggle",
      role: "switch",
      "aria-label": t("switch.aria", { dagId: dag.dagId }),
      "data-dag": dag.dagId,
      checked: !dag.isPaused,
      disabled: !canEdit,
      onchange: (event) => void change(event),
    }),
    h("span", { className: "switch-text" }, t(dag.isPaused ? "switch.off" : "switch.on")),
  );
}
