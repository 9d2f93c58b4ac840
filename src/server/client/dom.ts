/**
 * The page scripts' toolbox: `h()` builds DOM nodes (strings always become text nodes: data from the API is
 * never parsed as HTML), `mount()` puts them in a container by updating what is there in place (morphdom),
 * `api()` calls the REST API with the session's CSRF token, `poll()` refreshes a view while the page is
 * visible.
 *
 * Why in place: a poll that rebuilt a table every 2-3 s replaced the button under the pointer between the
 * press and the release (the click was lost), the focused control (focus went back to the page) and the text
 * the user was selecting. `mount()` builds the new tree detached and morphs the container's children into it:
 * nodes that did not change stay the same nodes, so a click, the focus and a selection outlive a refresh.
 * Two rules follow for the code that draws:
 * - give repeated things a key (`data-key`, unique within the mounted container; an `id` counts as one), so
 *   that a row or a column follows its DAG or its run when others come or go, instead of being reused for
 *   another;
 * - a listener reaches its element through the event (`event.currentTarget`), never through a variable
 *   holding a node it built: after an update the node on the page is the old one, running the new tree's
 *   listener (the listeners `h()` adds move to the kept node).
 */
import morphdom from "morphdom";
import { num, stateLabel, t } from "./lang.js";

type Child = Node | string | number | null | undefined | false | readonly Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** The listeners `h()` added to each element, by event type: moved to the kept node by `mount()`. */
const listeners = new WeakMap<Element, Map<string, EventListener>>();

/** Adds a listener that `mount()` keeps up to date (one per element and event type, as `on*` attributes). */
export function on(el: Element, type: string, listener: EventListener): void {
  const mine = listeners.get(el) ?? new Map<string, EventListener>();
  listeners.set(el, mine);
  const before = mine.get(type);
  if (before) el.removeEventListener(type, before);
  mine.set(type, listener);
  el.addEventListener(type, listener);
}

/** `h("a", { href }, "text")`: an element; `on*` attributes are listeners, `false`/`null` attributes are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") on(el, key.slice(2), value);
    else if (key === "className") el.className = String(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** An SVG element. */
export function svg(
  tag: string,
  attrs: Record<string, string | number> = {},
  ...children: Child[]
): SVGElement {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  append(el, children);
  return el;
}

function append(el: Element, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/**
 * Puts these nodes in `el` in place of what it holds: for a page's skeleton, drawn once, whose containers the
 * page keeps references to (the nodes passed are the nodes on the page). Views that are redrawn use `mount`.
 */
export function place(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** Elements in the middle of an interaction (a switch whose PATCH is in flight): `mount()` leaves them as they are. */
const busyEls = new WeakMap<Element, number>();

/**
 * Runs `work` with `el` marked busy: while it runs, refreshes leave `el` and what it holds as the user left them
 * (a refresh that fetched before the change would otherwise undo it on the screen).
 */
export async function whileBusy<T>(el: Element, work: () => Promise<T>): Promise<T> {
  // A count: a second click on a busy switch is busy on its own.
  busyEls.set(el, (busyEls.get(el) ?? 0) + 1);
  try {
    return await work();
  } finally {
    const left = (busyEls.get(el) ?? 1) - 1;
    if (left > 0) busyEls.set(el, left);
    else busyEls.delete(el);
  }
}

/** A message's text with its `backticked` parts (commands) as <code>, the rest as text. */
export function withCode(text: string): Child[] {
  return text.split("`").map((part, i) => (i % 2 === 1 ? h("code", {}, part) : part));
}

/** A node's key for `mount()`: `data-key`, else its `id`. */
const keyOf = (node: Node): string | undefined =>
  node instanceof Element ? (node.getAttribute("data-key") ?? (node.id || undefined)) : undefined;

/**
 * Makes the children of `el` these: the nodes already there are updated in place (same nodes, their text and
 * attributes changed where they differ), keyed nodes follow their key, the rest is added or removed. Elements
 * marked busy (`whileBusy`) and elements whose content a library draws (`data-owner`, e.g. a Plotly chart)
 * are left as they are. Keep references only to containers mounted once: a node passed here may be merged
 * into one already on the page.
 */
export function mount(el: Element, ...children: Child[]): void {
  const next = el.cloneNode(false) as Element;
  append(next, children);
  morphdom(el, next, {
    childrenOnly: true,
    getNodeKey: keyOf,
    onBeforeElUpdated(from, to) {
      if (busyEls.has(from) || from.hasAttribute("data-owner")) return false;
      // The new tree's listeners (closures over the new data) replace the old ones on the kept node.
      const old = listeners.get(from);
      const fresh = listeners.get(to);
      if (old) for (const [type, listener] of old) from.removeEventListener(type, listener);
      if (fresh) for (const [type, listener] of fresh) from.addEventListener(type, listener);
      if (fresh) listeners.set(from, fresh);
      else listeners.delete(from);
      return true;
    },
  });
}

/** An API error with the server's message and hint, and its `reason` when the server gives one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint?: string,
    readonly reason?: string,
    /** Seconds to wait before trying again (a 429's Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** The UI's base path ("" or "/windflow", from the page): every URL of the UI starts with it. */
export const base = (): string => document.body.dataset.base ?? "";
/** A path of the UI (`/dags/x`) as a URL under the base path. */
export const u = (path: string): string => `${base()}${path}`;

const csrf = () => document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? "";

/** Calls `/api/v1{path}`; JSON in and out; an ApiError for a non-2xx answer (a 401 goes to the sign-in page). */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(u(`/api/v1${path}`), {
    method: init.method ?? "GET",
    headers: {
      Accept: "application/json",
      ...(init.body === undefined ? {} : { "Content-Type": "application/json" }),
      ...(init.method && init.method !== "GET" ? { "X-CSRF-Token": csrf() } : {}),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    credentials: "same-origin",
  }).catch(() => {
    // The browser's own words ("Failed to fetch") say neither what happened nor in the user's language.
    throw new ApiError(0, t("error.unreachable"));
  });
  if (response.status === 401) {
    location.assign(u(`/login?next=${encodeURIComponent(location.pathname + location.search)}`));
    throw new ApiError(401, "signed out");
  }
  const data = (await response.json().catch(() => ({}))) as {
    error?: string;
    hint?: string;
    reason?: string;
  };
  if (!response.ok)
    throw new ApiError(
      response.status,
      data.error ?? response.statusText,
      data.hint,
      data.reason,
      Number(response.headers.get("Retry-After")) || undefined,
    );
  return data as T;
}

/** A polled view: `now()` refreshes it at once (after a refresh in flight, whose data may be older). */
export interface Poller {
  now(): Promise<void>;
}

/** For the browser tests: a shorter poll interval (set before the page loads), and a count of refreshes by view. */
interface TestHooks {
  windflowPollMs?: number;
  windflowRefreshes?: Record<string, number>;
}

/**
 * Calls `refresh` now and every `ms` while the page is visible; errors are shown in `errorBox`. Refreshes of a
 * view never overlap: `now()` during a refresh runs another one after it, so what the user just changed shows
 * (the refresh in flight may have fetched before the change). `name` counts the view's refreshes in
 * `window.windflowRefreshes`, which the browser tests read to click while one is in flight.
 */
export function poll(
  refresh: () => Promise<void>,
  ms: number,
  errorBox?: HTMLElement,
  name = "view",
): Poller {
  const hooks = window as unknown as TestHooks;
  const interval = hooks.windflowPollMs ?? ms;
  let timer: number | undefined;
  let running: Promise<void> | undefined;
  let again: Promise<void> | undefined;
  const once = async () => {
    try {
      await refresh();
      if (errorBox) errorBox.hidden = true;
    } catch (error) {
      if (errorBox) {
        errorBox.hidden = false;
        mount(errorBox, describe(error));
      }
    } finally {
      hooks.windflowRefreshes ??= {};
      hooks.windflowRefreshes[name] = (hooks.windflowRefreshes[name] ?? 0) + 1;
    }
  };
  const run = (): Promise<void> => {
    window.clearTimeout(timer);
    if (running) {
      again ??= running.then(() => {
        again = undefined;
        return run();
      });
      return again;
    }
    const current = once().finally(() => {
      running = undefined;
      timer = window.setTimeout(tick, interval);
    });
    running = current;
    return current;
  };
  const tick = () => {
    if (document.hidden) timer = window.setTimeout(tick, interval);
    else void run();
  };
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) void run();
  });
  void run();
  return { now: run };
}

/**
 * An error as a sentence, with its hint. The reasons the server names are said in the page's language; other
 * messages are the server's own (in English: they name the DAG, the run, the file, as the CLI says them).
 */
export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.reason === "csrf") return t("error.csrf");
    if (error.reason === "read_only") return t("error.readOnly");
    if (error.reason === "wrong_password") return t("account.wrongCurrent");
    if (error.reason === "throttled") return t("account.tooMany", { seconds: error.retryAfter ?? 1 });
    return error.hint ? `${error.message} (${error.hint})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A coloured state badge: Airflow's keyword, what it means as its title. */
export function stateBadge(state: string | null | undefined, text?: string): HTMLElement {
  const s = state ?? "none";
  return h("span", { className: `state state-${s}`, title: stateLabel(s) }, text ?? s);
}

/** "850 ms", "3.5 s", "2.0 min", "1.5 h" (the decimal mark of the page's language). */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return `${num(ms)} ms`;
  if (ms < 90_000) return `${num(ms / 1000, 1)} s`;
  if (ms < 5_400_000) return `${num(ms / 60_000, 1)} min`;
  return `${num(ms / 3_600_000, 1)} h`;
}

/** An ISO instant as `2026-11-25 17:30:05 UTC`. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "";
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/**
 * `when()` as a node that breaks between the day and the time only: a date cut at its hyphens ("2026-\n11-28")
 * reads badly, and narrow cells (French headers are longer) cut it so. Its text is `when()`'s.
 */
export function whenNode(iso: string | null | undefined): HTMLElement {
  const text = when(iso);
  const space = text.indexOf(" ");
  return h(
    "span",
    { className: "date" },
    h("span", {}, text.slice(0, space)),
    " ",
    h("span", {}, text.slice(space + 1)),
  );
}

/** A short-lived message at the top of the page. */
export function toast(text: string, kind: "ok" | "error" = "ok", ms?: number): void {
  const box = h("p", { className: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  document.body.append(box);
  window.setTimeout(() => box.remove(), ms ?? (kind === "error" ? 8000 : 4000));
}

/** The `data-*` of the page's body. */
export const pageData = (name: string): string => document.body.dataset[name] ?? "";
