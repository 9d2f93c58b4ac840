/**
 * The page's language and its messages. The server chose the language (the `windflow_lang` cookie, else the
 * browser's Accept-Language) and wrote it in `<html lang>`: the page script follows it, so that what the server
 * rendered and what the script draws are in one language. `navigator.languages` (the same preferences as
 * Accept-Language) decides only if the page says nothing.
 */
import {
  isLang,
  type Lang,
  MESSAGE_KEYS,
  type MessageKey,
  pickLang,
  type Translator,
  translator,
} from "../i18n.js";

export function pageLang(): Lang {
  const lang = document.documentElement.lang;
  return isLang(lang) ? lang : pickLang(navigator.languages ?? [navigator.language]);
}

export const tr: Translator = translator(pageLang());
export const t: Translator["t"] = tr.t;
export const tn: Translator["tn"] = tr.tn;
export const num: Translator["num"] = tr.num;

/** A task or run state as the legend and the badges' titles say it (Airflow's keyword, glossed in French). */
export function stateLabel(state: string): string {
  const key = `state.${state}`;
  return MESSAGE_KEYS.has(key) ? tr.t(key as MessageKey & `state.${string}`) : state.replaceAll("_", " ");
}
