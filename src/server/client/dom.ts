/**
 * The page scripts' toolbox: `h()` builds DOM nodes (strings always become text nodes: data from the API is
 * never parsed as HTML), `api()` calls the REST API with the session's CSRF token, `poll()` refreshes a view
 * while the page is visible.
 */

type Child = Node | string | number | null | undefined | false | readonly Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** `h("a", { href }, "text")`: an element; `on*` attributes are listeners, `false`/`null` attributes are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
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

/** Replaces the children of `el`. */
export function mount(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** An API error with the server's message and hint. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint?: string,
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
  });
  if (response.status === 401) {
    location.assign(u(`/login?next=${encodeURIComponent(location.pathname + location.search)}`));
    throw new ApiError(401, "signed out");
  }
  const data = (await response.json().catch(() => ({}))) as { error?: string; hint?: string };
  if (!response.ok) throw new ApiError(response.status, data.error ?? response.statusText, data.hint);
  return data as T;
}

/** Calls `refresh` now and every `ms` while the page is visible; errors are shown in `errorBox`. */
export function poll(refresh: () => Promise<void>, ms: number, errorBox?: HTMLElement): void {
  let timer: number | undefined;
  const run = async () => {
    try {
      await refresh();
      if (errorBox) errorBox.hidden = true;
    } catch (error) {
      if (errorBox) {
        errorBox.hidden = false;
        mount(errorBox, describe(error));
      }
    }
    timer = window.setTimeout(tick, ms);
  };
  const tick = () => {
    if (document.hidden) timer = window.setTimeout(tick, ms);
    else void run();
  };
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && timer !== undefined) {
      window.clearTimeout(timer);
      void run();
    }
  });
  void run();
}

/** An error as a sentence, with its hint. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return error.hint ? `${error.message} (${error.hint})` : error.message;
  return error instanceof Error ? error.message : String(error);
}

/** A coloured state badge. */
export function stateBadge(state: string | null | undefined, text?: string): HTMLElement {
  const s = state ?? "none";
  return h("span", { className: `state state-${s}`, title: s }, text ?? s);
}

/** "3 s", "2 min", "1.5 h". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 90_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 5_400_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** An ISO instant as `2026-11-25 17:30:05 UTC`. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "";
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** A short-lived message at the top of the page. */
export function toast(text: string, kind: "ok" | "error" = "ok", ms?: number): void {
  const box = h("p", { className: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  document.body.append(box);
  window.setTimeout(() => box.remove(), ms ?? (kind === "error" ? 8000 : 4000));
}

/** The `data-*` of the page's body. */
export const pageData = (name: string): string => document.body.dataset[name] ?? "";
