/**
 * The web UI's two languages (fast lane: no server, no browser): the catalogues match key for key and
 * placeholder for placeholder, none is empty, French is no copy of English but where the allow-list says so;
 * the language a request gets (cookie, then Accept-Language), the messages' values, plurals, numbers, French
 * spacing, the schedules' words and the switch's URLs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { describeSchedule } from "../src/orchestration/schedule.js";
import {
  acceptedLanguages,
  CATALOGUES,
  frenchSpacing,
  LANGS,
  langHref,
  MESSAGE_KEYS,
  pickLang,
  placeholders,
  requestLang,
  scheduleText,
  translator,
  withoutLang,
} from "../src/server/i18n.js";
import { EN, FR, type MessageKey, SAME_IN_FRENCH } from "../src/server/messages.js";

const keys = Object.keys(EN) as MessageKey[];

describe("i18n: the catalogues", () => {
  test("English and French have the same keys", () => {
    assert.deepEqual(Object.keys(FR).sort(), [...keys].sort());
    assert.deepEqual([...MESSAGE_KEYS].sort(), [...keys].sort());
    assert.ok(keys.length > 150, `${keys.length} messages`);
  });

  test("no message is empty or blank, in either language", () => {
    for (const lang of LANGS)
      for (const key of keys) assert.notEqual(CATALOGUES[lang][key].trim(), "", `${lang} ${key} is empty`);
  });

  test("each French message has the English one's placeholders, as many times", () => {
    for (const key of keys)
      assert.deepEqual(placeholders(FR[key]).sort(), placeholders(EN[key]).sort(), `${key}: ${FR[key]}`);
  });

  test("no French message is a copy of the English one, but the allow-list's (and these still are)", () => {
    const copies = keys.filter((k) => FR[k] === EN[k] && !SAME_IN_FRENCH.has(k));
    assert.deepEqual(copies, [], "French messages still in English");
    for (const k of SAME_IN_FRENCH) assert.equal(FR[k], EN[k], `${k} is allowed to be the same, and is not`);
  });

  test("plurals come in pairs: x.one and x.other (no other key ends so)", () => {
    for (const key of keys) {
      const pair = /^(.*)\.(one|other)$/.exec(key);
      if (!pair) continue;
      const other = `${pair[1]}.${pair[2] === "one" ? "other" : "one"}`;
      assert.ok(other in EN, `${key} has no ${other}`);
    }
    assert.ok(placeholders(EN["predictions.rows.one"]).includes("count"));
  });

  test("the plotly.* messages' English are Plotly's own words (the keys of its locale dictionary)", () => {
    const bundle = readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), "utf8");
    const plotly = keys.filter((k) => k.startsWith("plotly."));
    assert.ok(plotly.length >= 10);
    for (const k of plotly) assert.ok(bundle.includes(`"${EN[k]}"`), `${k}: Plotly has no "${EN[k]}"`);
  });

  test("French is written with plain spaces before : ; ! ? % (t() makes them non-breaking)", () => {
    for (const key of keys)
      assert.doesNotMatch(FR[key], /[\u00a0\u202f]/, `${key}: a typed non-breaking space (t() adds them)`);
    // And English never has a space before a colon (a sign of French pasted in the wrong catalogue).
    for (const key of keys) assert.doesNotMatch(EN[key], / :/, `${key}: "${EN[key]}"`);
  });
});

describe("i18n: which language a request gets", () => {
  test("Accept-Language: the tags by preference (q, then order), without q=0 and *", () => {
    assert.deepEqual(acceptedLanguages("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7"), [
      "fr-FR",
      "fr",
      "en-US",
      "en",
    ]);
    assert.deepEqual(acceptedLanguages("en;q=0.5, fr"), ["fr", "en"]);
    assert.deepEqual(acceptedLanguages("fr;q=0, de, *;q=0.1"), ["de"]);
    assert.deepEqual(acceptedLanguages("fr;q=nonsense, en"), ["en"]);
    assert.deepEqual(acceptedLanguages(""), []);
    assert.deepEqual(acceptedLanguages(undefined), []);
  });

  test("fr* is French, en* English, the first of them that the browser prefers; nothing else is English", () => {
    const table: [string | undefined, string][] = [
      ["fr-FR,fr;q=0.9,en;q=0.8", "fr"],
      ["fr-CA", "fr"],
      ["FR", "fr"],
      ["en-US,en;q=0.9,fr;q=0.8", "en"],
      ["en-GB", "en"],
      ["de-DE,de;q=0.9,fr;q=0.8", "fr"],
      ["de-DE,de;q=0.9", "en"],
      ["de-DE,en;q=0.5,fr;q=0.4", "en"],
      ["fr;q=0,en", "en"],
      ["*", "en"],
      ["", "en"],
      [undefined, "en"],
    ];
    for (const [header, lang] of table)
      assert.equal(requestLang(undefined, header), lang, `Accept-Language: ${header}`);
    assert.equal(pickLang(["fr_FR"]), "fr", "a locale name (navigator.languages never has one, but)");
  });

  test("the switch's cookie wins over the browser; a cookie that is not a language is ignored", () => {
    assert.equal(requestLang("en", "fr-FR,fr"), "en");
    assert.equal(requestLang("fr", "en-US"), "fr");
    assert.equal(requestLang("fr", undefined), "fr");
    assert.equal(requestLang("de", "fr"), "fr");
    assert.equal(requestLang("", "en"), "en");
  });

  test("the switch's links: this page with ?lang=; the way back drops it and never leaves the site", () => {
    assert.equal(langHref("/", "fr"), "/?lang=fr");
    assert.equal(langHref("/dags/train?run=manual__1&lang=en", "fr"), "/dags/train?run=manual__1&lang=fr");
    assert.equal(langHref("/login?next=%2Fmodels", "en"), "/login?next=%2Fmodels&lang=en");
    assert.equal(withoutLang("/dags/train?run=manual__1&lang=fr", "/"), "/dags/train?run=manual__1");
    assert.equal(withoutLang("/?lang=fr", "/"), "/");
    assert.equal(withoutLang("/a?x=1?2&lang=fr", "/"), "/a?x=1%3F2");
    for (const evil of ["//evil.example/?lang=fr", "/\\evil.example?lang=fr", "http://evil.example/?lang=fr"])
      assert.equal(withoutLang(evil, "/windflow/"), "/windflow/", evil);
  });
});

describe("i18n: messages", () => {
  const en = translator("en");
  const fr = translator("fr");

  test("values go into their placeholders; French gets non-breaking spaces, the values stay as they are", () => {
    assert.equal(
      en.t("trigger.done", { dagId: "train", runId: "manual__1", stamp: "20261125-173005", outputs: "" }),
      "Triggered train: manual__1, files stamped 20261125-173005.",
    );
    assert.equal(
      fr.t("trigger.done", { dagId: "a : b", runId: "r", stamp: "s", outputs: "" }),
      "a : b déclenché\u00a0: r, fichiers horodatés s.",
    );
    assert.equal(
      frenchSpacing("Première fois ? Oui ; 10 % : non !"),
      "Première fois\u202f? Oui\u202f; 10\u00a0%\u00a0: non\u202f!",
    );
    assert.equal(en.t("nav.dags"), "DAGs");
    assert.equal(fr.t("nav.dags"), "DAG");
  });

  test("parts: a message cut at its placeholders, for markup or DOM nodes", () => {
    const code = { node: "code" };
    assert.deepEqual(en.parts("login.noAccount", { command: code }), [
      "No account? Ask your trainer, or run ",
      code,
      " in a terminal.",
    ]);
    assert.deepEqual(fr.parts("banner.changeIt"), ["Changez-le"]);
  });

  test("plurals follow each language's rule (French: 0 and 1 singular); the count is written in the language", () => {
    assert.deepEqual(
      [0, 1, 2].map((n) => en.tn("predictions.rows", n)),
      ["0 rows", "1 row", "2 rows"],
    );
    assert.deepEqual(
      [0, 1, 2].map((n) => fr.tn("predictions.rows", n)),
      ["0 ligne", "1 ligne", "2 lignes"],
    );
    assert.equal(fr.tn("predictions.rows", 12345), "12\u202f345 lignes");
    assert.match(en.tn("trigger.waitsFor", 2, { runs: "r1", dagId: "d" }), /runs at most 2 runs at a time/);
    assert.match(fr.tn("trigger.waitsFor", 1, { runs: "r1", dagId: "d" }), /au plus 1 exécution à la fois/);
  });

  test("numbers: the language's decimal mark and grouping", () => {
    assert.equal(en.num(0.49123, 3), "0.491");
    assert.equal(fr.num(0.49123, 3), "0,491");
    assert.equal(en.num(4.25, 1), "4.3");
    assert.equal(fr.num(1234.5, 1), "1\u202f234,5");
    assert.equal(en.num(1234), "1,234");
  });

  test("schedules: describeSchedule's words in each language; cron expressions and presets as they are", () => {
    const schedules = [null, { every: "2m" }, { cron: "0 * * * *" }, { cron: "@daily" }] as const;
    assert.deepEqual(
      schedules.map((s) => scheduleText(en, describeSchedule(s))),
      ["manual only", "every 2m", "cron 0 * * * *", "@daily"],
    );
    assert.deepEqual(
      schedules.map((s) => scheduleText(fr, describeSchedule(s))),
      ["manuelle uniquement", "toutes les 2m", "cron 0 * * * *", "@daily"],
    );
  });

  test("a placeholder without its value shows as itself (never 'undefined')", () => {
    const loose = en.t as (key: string, params?: Record<string, string>) => string;
    assert.equal(loose("error.noPage", {}), "No page {path}.");
  });
});
