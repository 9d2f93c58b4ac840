/**
 * The web UI's languages: which one a request gets, and the messages in it. Shared by the server (the pages it
 * renders) and the page scripts (bundled by esbuild), so it uses neither Node nor the DOM.
 *
 * Which language: the user's choice, remembered in the `windflow_lang` cookie (the EN | FR switch of every
 * page), else the browser's languages (Accept-Language; the first English or French one in the order of
 * preference: fr-CA is French, de then fr is French, none of them is English). The server writes its choice in
 * `<html lang>`, and the page scripts read it there, so that the two halves of a page never disagree.
 */
import { EN, FR, type MessageKey } from "./messages.js";

export type { MessageKey } from "./messages.js";

export const LANGS = ["en", "fr"] as const;
/** A language of the UI. */
export type Lang = (typeof LANGS)[number];
/** The language when nothing says otherwise. */
export const DEFAULT_LANG: Lang = "en";
/** The cookie that keeps the user's choice. */
export const LANG_COOKIE = "windflow_lang";
/** Each language by its own name (the switch's titles: a name is written as its speakers write it). */
export const LANG_NAMES: Readonly<Record<Lang, string>> = { en: "English", fr: "français" };

/** Every message's name. */
export const MESSAGE_KEYS: ReadonlySet<string> = new Set(Object.keys(EN));

export const CATALOGUES: Readonly<Record<Lang, Readonly<Record<MessageKey, string>>>> = { en: EN, fr: FR };

export const isLang = (value: unknown): value is Lang => value === "en" || value === "fr";

/** The first language of `preferred` (language tags, best first) that the UI speaks; English if none. */
export function pickLang(preferred: readonly string[]): Lang {
  for (const tag of preferred) {
    const primary = tag.trim().toLowerCase().split(/[-_]/)[0];
    if (isLang(primary)) return primary;
  }
  return DEFAULT_LANG;
}

/**
 * The language tags of an Accept-Language header, best first (by `q`, then by order; `q=0` and `*` left
 * out). RFC 9110 §12.5.4.
 */
export function acceptedLanguages(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(",")
    .map((part, index) => {
      const [tag = "", ...params] = part.split(";").map((s) => s.trim());
      const q = params.find((p) => /^q=/i.test(p));
      const weight = q === undefined ? 1 : Number(q.slice(2));
      return { tag, weight: Number.isFinite(weight) ? weight : 0, index };
    })
    .filter((l) => l.tag !== "" && l.tag !== "*" && l.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.index - b.index)
    .map((l) => l.tag);
}

/** The language of a request: its cookie when it holds a language, else its Accept-Language. */
export function requestLang(cookie: string | undefined, acceptLanguage: string | undefined): Lang {
  return isLang(cookie) ? cookie : pickLang(acceptedLanguages(acceptLanguage));
}

// --- messages ----------------------------------------------------------------------------------------------

/** The `{name}`s of a message (from its English text, at the type level). */
type Placeholders<S extends string> = S extends `${string}{${infer P}}${infer Rest}`
  ? P | Placeholders<Rest>
  : never;
/** The names a message needs values for. */
export type ParamsOf<K extends MessageKey> = Placeholders<(typeof EN)[K]>;
/** The values of a message's placeholders but `Given`, when it has others: `t("a")`, `t("b", { dagId })`. */
type Args<K extends MessageKey, V, Given extends string = never> = [Exclude<ParamsOf<K>, Given>] extends [
  never,
]
  ? []
  : [Record<Exclude<ParamsOf<K>, Given>, V>];
/** The messages that come as a pair `x.one` / `x.other`: `tn("x", count)`. */
export type PluralKey = {
  [K in MessageKey]: K extends `${infer Base}.one`
    ? `${Base}.other` extends MessageKey
      ? Base
      : never
    : never;
}[MessageKey];

const PLACEHOLDER = /\{(\w+)\}/g;

/** The names in a message's text, in order (the test compares English and French with it). */
export function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
}

/**
 * French typography: a non-breaking space before `:` `%` (U+00A0) and a narrow one before `;` `!` `?` (U+202F),
 * so that a line never starts with one. Applied to the catalogue's text, never to the values put in.
 */
export function frenchSpacing(text: string): string {
  return text.replace(/ ([:%])/g, "\u00a0$1").replace(/ ([;!?])/g, "\u202f$1");
}

/** A message's text in `lang`, cut at its placeholders: text, value, text, value... */
function split<V>(lang: Lang, key: MessageKey, params: Record<string, V> | undefined): (string | V)[] {
  const raw = CATALOGUES[lang][key];
  const text = lang === "fr" ? frenchSpacing(raw) : raw;
  const out: (string | V)[] = [];
  let at = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const name = m[1] as string;
    out.push(text.slice(at, m.index));
    out.push(params && Object.hasOwn(params, name) ? (params[name] as V) : m[0]);
    at = (m.index ?? 0) + m[0].length;
  }
  out.push(text.slice(at));
  return out.filter((p) => p !== "");
}

/** The messages and formats of one language. */
export interface Translator {
  readonly lang: Lang;
  /** A message as text: `t("trigger.done", { dagId, runId, stamp, outputs })`. */
  t<K extends MessageKey>(key: K, ...params: Args<K, string | number>): string;
  /** A message for a count: `tn("predictions.rows", 3)` (`{count}` is the count, written in the language). */
  tn<K extends PluralKey>(
    key: K,
    count: number,
    ...params: Args<`${K}.other` & MessageKey, string | number, "count">
  ): string;
  /**
   * A message cut at its placeholders, values left as they are: to put markup or DOM nodes in a sentence
   * (`parts("login.noAccount", { command: codeElement })`).
   */
  parts<K extends MessageKey, P extends Record<ParamsOf<K>, unknown>>(
    key: K,
    ...params: [ParamsOf<K>] extends [never] ? [] : [P]
  ): (string | P[keyof P])[];
  /** A number in the language's way (`0.491`, `0,491`; grouped thousands), with `digits` decimals. */
  num(value: number, digits?: number): string;
}

const translators = new Map<Lang, Translator>();

/** The translator of `lang` (one per language, kept). */
export function translator(lang: Lang): Translator {
  const known = translators.get(lang);
  if (known) return known;
  const formats = new Map<number, Intl.NumberFormat>();
  const plural = new Intl.PluralRules(lang);
  const num = (value: number, digits = 0) => {
    let f = formats.get(digits);
    if (!f) {
      f = new Intl.NumberFormat(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
      formats.set(digits, f);
    }
    return f.format(value);
  };
  const text = (key: MessageKey, params?: Record<string, string | number>) =>
    split(lang, key, params)
      .map((p) => String(p))
      .join("");
  const made: Translator = {
    lang,
    t: (key, ...params) => text(key, params[0] as Record<string, string | number> | undefined),
    tn: (key, count, ...params) =>
      text(`${key}.${plural.select(count) === "one" ? "one" : "other"}` as MessageKey, {
        ...(params[0] as Record<string, string | number> | undefined),
        count: num(count),
      }),
    parts: <P>(key: MessageKey, ...params: [] | [P]) =>
      split(lang, key, params[0] as Record<string, P[keyof P]> | undefined),
    num,
  };
  translators.set(lang, made);
  return made;
}

/**
 * A schedule as `describeSchedule` (orchestration/schedule.ts) words it, in `lang`: "manual only" and
 * "every 5m" have words; a cron expression or a preset (`@daily`) is shown as it is.
 */
export function scheduleText(tr: Translator, schedule: string): string {
  if (schedule === "manual only") return tr.t("schedule.manualOnly");
  const every = /^every (.+)$/.exec(schedule);
  return every ? tr.t("schedule.every", { every: every[1] as string }) : schedule;
}

/** The URL `path` (path and query, as in a request) with `?lang=` set to `lang`: the switch's links. */
export function langHref(url: string, lang: Lang): string {
  const [path, params] = splitUrl(url);
  params.set("lang", lang);
  return `${path}?${params}`;
}

/** A URL's path and its query's parameters. */
export function splitUrl(url: string): [string, URLSearchParams] {
  const q = url.indexOf("?");
  return q < 0 ? [url, new URLSearchParams()] : [url.slice(0, q), new URLSearchParams(url.slice(q + 1))];
}

/**
 * `url` (path and query) without its `lang` parameter: where the language switch sends back to. A path that
 * is not a plain local one (`//host/...`) goes to `fallback`: never to another site.
 */
export function withoutLang(url: string, fallback: string): string {
  const [path, params] = splitUrl(url);
  if (!/^\/(?![/\\])/.test(path)) return fallback;
  params.delete("lang");
  const rest = params.toString();
  return rest ? `${path}?${rest}` : path;
}
