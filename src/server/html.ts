/**
 * Server-rendered HTML: a tagged template that escapes every interpolated value, unless it is `Raw` (markup
 * built by this module). Pages are shells: the page scripts draw their content from the REST API with DOM
 * calls (text nodes, never innerHTML of data), so escaping happens in one place on each side.
 */

import { escapeHtml } from "../view/escape.js";
import {
  DEFAULT_LANG,
  LANG_NAMES,
  LANGS,
  type Lang,
  langHref,
  type MessageKey,
  type ParamsOf,
  type Translator,
  translator,
} from "./i18n.js";

export { escapeHtml };

/** Markup that is already safe (made by `html`). */
export class Raw {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

type Value = string | number | boolean | null | undefined | Raw | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof Raw) return value.html;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/** `html\`<p>${text}</p>\`` escapes `text`; nested `html` results pass through. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Raw {
  let out = strings[0] as string;
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] as string);
  });
  return new Raw(out);
}

/** What every page shell has. */
export interface ShellOptions {
  /** The UI's base path ("" or "/windflow"): every link starts with it. */
  base?: string;
  /** The page's language (`<html lang>`, the header's words; the page script reads it). @default "en" */
  lang?: Lang;
  /** The page's path and query as requested (with the base): the language switch's links come back to it. */
  url?: string;
  title: string;
  /** Which page script runs (`data-page`). */
  page: string;
  /** Extra `data-*` attributes for the page script (escaped). */
  data?: Record<string, string>;
  user?: { username: string; role: string; csrfToken: string };
  /** Load plotly.js (charts). */
  plotly?: boolean;
  /** Banners shown above the page (already safe markup). */
  banners?: Raw[];
  /** Server-rendered content (the sign-in form); else the page script fills `#app`. */
  body?: Raw;
}

/**
 * The EN | FR switch: links to this page with `?lang=`, which the server remembers in a cookie (app.ts). Plain
 * links, so that it works on the sign-in page, which runs no script.
 */
function langSwitch(tr: Translator, url: string): Raw {
  // Each link speaks its own language (its text, its title, its `lang`): who looks for English reads English.
  const links = LANGS.map(
    (l) =>
      html`<a href="${langHref(url, l)}" lang="${l}" hreflang="${l}" data-lang="${l}" title="${translator(l).t("lang.switchTo", { language: LANG_NAMES[l] })}"${l === tr.lang ? html` aria-current="true"` : ""}>${l.toUpperCase()}</a>`,
  );
  return html`<nav class="lang-switch" aria-label="${tr.t("lang.switch")}">${links.flatMap((a, i) => (i === 0 ? [a] : [html`<span aria-hidden="true">|</span>`, a]))}</nav>`;
}

export function shell(o: ShellOptions): string {
  const b = o.base ?? "";
  const tr = translator(o.lang ?? DEFAULT_LANG);
  const { t } = tr;
  const data = Object.entries(o.data ?? {}).map(([k, v]) => html` data-${k}="${v}"`);
  const switcher = langSwitch(tr, o.url ?? `${b}/`);
  const nav = o.user
    ? html`<header class="top">
  <a class="brand" href="${b}/">windflow</a>
  <nav>
    <a href="${b}/" data-nav="dags">${t("nav.dags")}</a>
    <a href="${b}/predictions" data-nav="predictions">${t("nav.predictions")}</a>
    <a href="${b}/models" data-nav="models">${t("nav.models")}</a>
    <a href="${b}/api/v1/openapi.json" data-nav="api">${t("nav.api")}</a>
  </nav>
  <span class="scheduler" id="scheduler-status" title="${t("header.schedulerTitle")}">…</span>
  <span class="who"><a href="${b}/account" title="${t("header.accountTitle")}">${o.user.username}</a> (${o.user.role})</span>
  <form method="post" action="${b}/logout" class="logout">
    <input type="hidden" name="_csrf" value="${o.user.csrfToken}">
    <button type="submit">${t("header.signOut")}</button>
  </form>
  ${switcher}
</header>`
    : html`<header class="top"><a class="brand" href="${b}/login">windflow</a><span class="spacer"></span>${switcher}</header>`;
  return html`<!doctype html>
<html lang="${tr.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · windflow</title>
${o.user ? html`<meta name="csrf-token" content="${o.user.csrfToken}">` : ""}
<link rel="stylesheet" href="${b}/static/app.css">
<link rel="icon" href="data:,">
${o.plotly ? html`<script src="${b}/static/plotly.min.js" defer></script>` : ""}
${o.user ? html`<script src="${b}/static/app.js" defer></script>` : ""}
</head>
<body data-page="${o.page}" data-base="${b}"${data}>
${nav}
<div id="banners">${o.banners ?? []}</div>
<main id="app">${o.body ?? ""}</main>
</body>
</html>
`.html;
}

/**
 * A message with markup in its placeholders (`<b>admin</b>`, a link): the message's text is escaped, the
 * values are markup made by `html`.
 */
export function htmlMessage<K extends MessageKey>(
  tr: Translator,
  key: K,
  params: Record<ParamsOf<K>, Raw>,
): Raw {
  const parts = (tr.parts as (key: MessageKey, params: Record<string, Raw>) => (string | Raw)[])(key, params);
  return html`${parts}`;
}
