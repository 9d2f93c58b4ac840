/**
 * The web UI in a real browser (Debian Chromium + playwright-core), against `windflow standalone` (scheduler +
 * web server, the real CLI) on a small copy of the project: the course's three DAG files as they are, a
 * synthetic dataset of 3 days. As a trainee does it: sign in; turn `train` ON; trigger it; watch both tasks
 * turn success in the grid without reloading; open a task's log; follow a running task's log live; trigger
 * `predict` with config (the form shows the logical date and the dated file) and see the new file in
 * Predictions with its chart; a broken DAG file shows in the banner; HTML in a description and in a log line is
 * shown as text. Screenshots of each page go to artifacts/screenshots/.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { synthesizeDataset } from "../src/data/synthetic.js";
import { isProcessAlive } from "../src/orchestration/executor/local.js";
import { loadDagFile } from "../src/orchestration/loader.js";
import { runIdFor } from "../src/orchestration/schedule.js";
import { runTasksOf } from "../src/orchestration/store/records.js";
import { launchChromium, screenshot, watchErrors } from "./helpers/browser.js";
import { FIXTURES, ROOT } from "./helpers/scheduler-env.js";
import { type WebClient, type WebEnv, webEnv } from "./helpers/web-env.js";

// Under the project, so that the copied DAG files' `import ... from "windflow"` resolves (node_modules/windflow).
const E2E = join(ROOT, ".e2e");
let project = "";
let server: ChildProcess | undefined;
let url = "";
let browser: Browser;
let page: Page;
let errors: string[] = [];
const serverLog: string[] = [];
const basic = { authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}` };

async function api<T>(path: string): Promise<T> {
  const r = await fetch(`${url}/api/v1${path}`, { headers: basic });
  assert.equal(r.status, 200, `${path}: ${r.status}`);
  return (await r.json()) as T;
}

/** Waits for the run of `dagId` with this id (or the first manual one) to end; returns its state. */
async function runEnds(dagId: string, runId: string | undefined, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { runs } = await api<{ runs: { runId: string; state: string; runType: string }[] }>(
      `/dags/${dagId}/runs`,
    );
    const run = runs.find((r) => (runId ? r.runId === runId : r.runType === "manual"));
    if (run && (run.state === "success" || run.state === "failed")) return run.state;
    assert.ok(
      Date.now() < deadline,
      `${dagId} ${runId ?? "manual run"} did not end: ${JSON.stringify(runs)}\n${serverLog.join("")}`,
    );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * English words of the UI that a French page must not show (words of data, such as the course DAGs'
 * descriptions, log lines and file names, are left out of the check; Airflow's state and run-type keywords are
 * shown in both languages on purpose).
 */
const ENGLISH_UI = [
  /\bSign (in|out)\b/,
  /\bUsername\b/,
  /\bPassword\b/,
  /\bFirst time\b/,
  /\bdefault password\b/,
  /\bChange it\b/,
  /\bPredictions\b/,
  /\bModels\b/,
  /\bAccount\b/,
  /\bSchedule\b/,
  /\b(Last|Next|next) run\b/,
  /\bTrigger(ed)?\b/,
  /\bwith config\b/,
  /\bnever\b/,
  /\bNo (runs|DAGs|models|predictions|try)\b/,
  /\blogical date\b/i,
  /\bduration\b/i,
  /\b(States|Runs):/,
  /\bbar height\b/,
  /\bmoving stripes\b/,
  /\bnot started\b/,
  /\bTask (instances|states)\b/i,
  /\bfiles stamped\b/,
  /\bdated files\b/,
  /\bdata interval\b/,
  /\bcatch-up\b/,
  /\bscheduler: /,
  /\bis (not )?running\b/,
  /\bTries\b/,
  /\bfollowing live\b/,
  /\bLatest predictions\b/,
  /\bover time\b/,
  /\bFiles\b/,
  /\b(size|rows|epochs|baseline|created|training target|density|pitch angle)\b/,
  /\bChange (your|the) password\b/,
  /\b(Current|New) password\b/,
  /\b(Grid|Graph|Details)\b/,
  /\binterval from\b/,
  /\bdue now\b/,
  /\bmanual only\b/,
  /\bevery \d/,
  /\bCancel\b/,
  /\boverrides\b/,
  /\bis (ON|OFF)\b/,
  /\bON\/OFF\b/,
  /^(ON|OFF)$/m,
  /\bchange your password\b/,
  /\bscheduler status\b/,
  /\btrained before\b/,
  /\b(ended|started)\b/,
  // Plotly's own words: its date ticks and its modebar's tooltips.
  /\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}(, \d{4})?\b/,
  /\b(Download plot|Zoom (in|out)|Autoscale|Reset axes|Box Select|Lasso Select|on hover)\b/,
];

/**
 * The English UI words a page shows: in its text (data apart: descriptions, tags, logs, code, file names) and in
 * its titles, labels and placeholders; `[]` when there are none.
 */
async function englishLeft(p: Page): Promise<string[]> {
  const texts = await p.evaluate(() => {
    const data = ".description, .tags, pre, code, .dag-head .tag, .lang-switch";
    const body = document.body.cloneNode(true) as HTMLElement;
    for (const el of body.querySelectorAll(data)) el.remove();
    // innerText needs a rendered node: the clone goes off-screen for a moment.
    body.style.cssText = "position: absolute; left: -10000px; top: 0";
    document.documentElement.append(body);
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text: textContent glues cells together ("ActifDAG"), and word boundaries stop matching.
    const text = body.innerText;
    body.remove();
    const named = ["title", "aria-label", "placeholder", "data-title"];
    const attributes = [...document.querySelectorAll("[title], [aria-label], [placeholder], [data-title]")]
      .filter((el) => !el.closest(data))
      .flatMap((el) => named.map((a) => el.getAttribute(a) ?? ""));
    // The charts' titles (SVG text, not in innerText).
    const charts = [
      ...document.querySelectorAll(
        ".js-plotly-plot :is(.gtitle, .xtitle, .ytitle, .legendtext, .xtick, .ytick)",
      ),
    ].map((el) => el.textContent ?? "");
    return [text, ...attributes, ...charts, document.title];
  });
  return texts.flatMap((t) =>
    ENGLISH_UI.filter((re) => re.test(t)).map((re) => `${re} in ${JSON.stringify(t.slice(0, 400))}`),
  );
}

before(async () => {
  mkdirSync(E2E, { recursive: true });
  project = mkdtempSync(join(E2E, "project-"));
  mkdirSync(join(project, "dags"));
  for (const f of readdirSync(join(ROOT, "dags")))
    copyFileSync(join(ROOT, "dags", f), join(project, "dags", f));
  for (const f of ["web-xss.ts", "web-slow.ts", "web-long.ts"])
    writeFileSync(
      join(project, "dags", f),
      readFileSync(join(FIXTURES, f), "utf8").replaceAll('"../../../src/', `"${join(ROOT, "src")}/`),
    );
  await synthesizeDataset(join(project, "data", "la-haute-borne-data-2017-2020.csv"), { seed: 5, days: 3 });
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("WINDFLOW"))),
    WINDFLOW_HOME: join(project, "home"),
    WINDFLOW__CORE__DAGS_FOLDER: join(project, "dags"),
    WINDFLOW__WEBSERVER__PREDICTIONS_FOLDER: join(project, "data", "predictions"),
    WINDFLOW__WEBSERVER__MODELS_FOLDER: join(project, "models"),
    WINDFLOW__SCHEDULER__HEARTBEAT_INTERVAL: "500ms",
    WINDFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL: "2s",
  };
  server = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), "standalone", "--port", "0"],
    {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`standalone did not start:\n${serverLog.join("")}`)),
      60_000,
    );
    const onData = (d: Buffer) => {
      serverLog.push(d.toString());
      const m = /windflow is running: open (http:\/\/\S+)[\s\S]*Ctrl\+C stops/.exec(serverLog.join(""));
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    server?.stderr?.on("data", onData);
    server?.stdout?.on("data", (d: Buffer) => serverLog.push(d.toString()));
    server?.once("exit", (code) => reject(new Error(`standalone exited (${code}):\n${serverLog.join("")}`)));
  });
  assert.match(serverLog.join(""), /sign in as admin \/ admin \(created now/);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  errors = watchErrors(page);
});

after(async () => {
  await browser?.close();
  if (server?.pid && isProcessAlive(server.pid)) {
    server.kill("SIGTERM");
    await new Promise((r) => server?.once("exit", r));
  }
  rmSync(project, { recursive: true, force: true });
});

describe("the web UI in Chromium", () => {
  test("sign in; the DAG list shows the course's DAGs, OFF, with the default-password banner", async () => {
    await page.goto(`${url}/`);
    assert.match(page.url(), /\/login\?next=%2F$/);
    await screenshot(page, "01-sign-in");
    await page.fill('input[name="username"]', "admin");
    await page.fill('input[name="password"]', "wrong");
    await page.click('button[type="submit"]');
    assert.match((await page.textContent(".login .error")) ?? "", /wrong username or password/);
    // That 401 was expected; from here on, no request may fail.
    assert.deepEqual(errors.splice(0), [`HTTP 401 POST ${url}/login`]);
    await page.fill('input[name="username"]', "admin");
    await page.fill('input[name="password"]', "admin");
    await page.click('button[type="submit"]');
    await page.waitForSelector('tr[data-dag="train"]');
    for (const d of ["train", "predict", "get_data_from_engie_hub"])
      assert.equal(await page.isChecked(`input.toggle[data-dag="${d}"]`), false, `${d} starts OFF`);
    assert.ok(await page.isVisible("#default-password-banner"));
    const tooltip = await page.getAttribute('tr[data-dag="train"] label.switch', "title");
    assert.match(tooltip ?? "", /OFF \(paused\): no new scheduled run is created and nothing new starts/);
    await page.waitForSelector("#scheduler-status.scheduler-running");
    await screenshot(page, "02-dags");
  });

  test("turn train ON, trigger it, and watch both tasks turn success in the grid without reloading", async () => {
    await page.click('tr[data-dag="train"] label.switch');
    await page.waitForSelector('tr[data-dag="train"] input.toggle:checked');
    // ON says what it does: train's run for the latest complete 28-day interval, created now (as Airflow does).
    const on = await page.waitForSelector('.toast:has-text("train is ON")');
    assert.match(
      (await on.textContent()) ?? "",
      /creates its run for the interval \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC to .* now: a scheduled run covers an interval that is over/,
    );
    assert.equal(
      await page.textContent('tr[data-dag="train"] .switch-text'),
      "ON",
      "the switch says ON at once",
    );
    await screenshot(page, "02b-train-on");
    await page.click('tr[data-dag="train"] button[data-action="trigger"]');
    const toast = await page.waitForSelector('.toast:has-text("Triggered train")');
    const text = (await toast.textContent()) ?? "";
    const runId = /Triggered train: (manual__\d{8}-\d{6})/.exec(text)?.[1];
    assert.ok(runId, "the toast names the run");
    // The trainee's run never waits for the one ON created: train runs two at a time (its maxActiveRuns), and
    // the toast would say what a run waits for (tested with a one-run DAG in web-api.test.ts).
    assert.doesNotMatch(text, /It waits/);
    await page.click('tr[data-dag="train"] a.dag-id');
    await page.waitForSelector("table.grid");
    // The DAG's page says how many runs go at once (why the trigger did not wait).
    assert.match((await page.textContent("p.meta")) ?? "", /catch-up off · up to 2 runs at a time · file:/);
    await page.evaluate(() => {
      (window as unknown as { __sameDocument: number }).__sameDocument = 1;
    });
    for (const task of ["prepare_features", "train_model"])
      await page.waitForSelector(`a.cell[data-task="${task}"][data-run="${runId}"][data-state="success"]`, {
        timeout: 120_000,
      });
    assert.equal(
      await page.evaluate(() => (window as unknown as { __sameDocument?: number }).__sameDocument),
      1,
      "the grid updated in place: the page was not reloaded",
    );
    await screenshot(page, "03-dag-grid");
    await page.click(`button.cell.run[data-run="${runId}"]`);
    await page.click('a[data-tab="graph"]');
    await page.waitForSelector('svg.graph g.node[data-task="train_model"][data-state="success"]');
    await screenshot(page, "04-dag-graph");
    await page.click('a[data-tab="gantt"]');
    await page.waitForSelector(".gantt .main-svg");
    await screenshot(page, "05-dag-gantt");
    await page.click('a[data-tab="code"]');
    await page.waitForSelector("pre.source");
    assert.match((await page.textContent("pre.source")) ?? "", /id: "train"/);
    await screenshot(page, "06-dag-code");
    await page.click('a[data-tab="details"]');
    await page.waitForSelector('table.tis tr[data-task="train_model"]');
    assert.match((await page.textContent("#panel-details")) ?? "", new RegExp(`models/${runId.slice(8)}/`));
    await screenshot(page, "07-dag-details");

    // A task's log: the epochs and the end of the try.
    await page.click('a[data-tab="grid"]');
    await page.click(`a.cell[data-task="train_model"][data-run="${runId}"]`);
    await page.waitForSelector("#log-status");
    await page.waitForFunction(() =>
      /success, returned/.test(document.getElementById("log")?.textContent ?? ""),
    );
    const log = (await page.textContent("#log")) ?? "";
    // As many epochs as the project's train DAG asks (its `epochs` param), counted in the log.
    const [trainDag] = loadDagFile(join(ROOT, "dags", "train.ts"));
    const epochs = (trainDag?.spec.params as { epochs?: number } | undefined)?.epochs;
    assert.ok(typeof epochs === "number" && epochs > 0);
    assert.match(log, new RegExp(`epoch 1/${epochs}: loss`));
    assert.match((await page.textContent("#log-status")) ?? "", /ended/);
    await screenshot(page, "08-task-log");
  });

  test("a running task's log is followed live", async () => {
    await page.goto(`${url}/dags/web_slow`);
    await page.click('button[data-action="trigger"]');
    const toast = await page.waitForSelector('.toast:has-text("Triggered web_slow")');
    const runId = /(manual__\d{8}-\d{6})/.exec((await toast.textContent()) ?? "")?.[1] as string;
    // OFF: the triggered run waits; ON: it runs.
    await page.click("label.switch");
    await page.goto(`${url}/dags/web_slow/runs/${runId}/tasks/tick/logs`);
    await page.waitForFunction(
      () => /tick 2 of 16/.test(document.getElementById("log")?.textContent ?? ""),
      null,
      {
        timeout: 60_000,
      },
    );
    assert.match((await page.textContent("#log-status")) ?? "", /following live/);
    assert.doesNotMatch((await page.textContent("#log")) ?? "", /tick 16 of 16/, "caught while running");
    await page.waitForFunction(
      () => /tick 16 of 16/.test(document.getElementById("log")?.textContent ?? ""),
      null,
      {
        timeout: 120_000,
      },
    );
    await page.waitForFunction(() => /ended/.test(document.getElementById("log-status")?.textContent ?? ""));
    await screenshot(page, "09-task-log-live");
  });

  test("trigger predict with config: the form shows the logical date and the dated file; the file shows in Predictions", async () => {
    await page.goto(`${url}/`);
    for (const d of ["get_data_from_engie_hub", "predict"]) {
      await page.click(`tr[data-dag="${d}"] label.switch`);
      await page.waitForSelector(`tr[data-dag="${d}"] input.toggle:checked`);
    }
    // Fresh records first: the generator's own run.
    await page.click('tr[data-dag="get_data_from_engie_hub"] button[data-action="trigger"]');
    await page.waitForSelector('.toast:has-text("Triggered get_data_from_engie_hub")');
    assert.equal(await runEnds("get_data_from_engie_hub", undefined), "success");
    await page.click('tr[data-dag="predict"] button[data-action="trigger-config"]');
    await page.waitForSelector("dialog.trigger [data-field=runId]");
    await page.fill('dialog.trigger input[name="logicalDate"]', "2026-11-25T17:30:05Z");
    await page.waitForFunction(
      () => document.querySelector("[data-field=stamp]")?.textContent === "20261125-173005",
    );
    assert.equal(await page.textContent("[data-field=logicalDate]"), "2026-11-25 17:30:05 UTC");
    assert.match(
      (await page.textContent("[data-field=outputs]")) ?? "",
      /data\/predictions\/20261125-173005\.csv/,
    );
    await screenshot(page, "10-trigger-with-config");
    await page.click('dialog.trigger button[type="submit"]');
    await page.waitForSelector("dialog.trigger", { state: "detached" });
    assert.equal(await runEnds("predict", "manual__20261125-173005"), "success");
    await page.goto(`${url}/predictions`);
    await page.waitForSelector('tr[data-file="20261125-173005.csv"]');
    await page.waitForSelector("#chart-latest .main-svg");
    await page.waitForSelector("#chart-time .main-svg");
    // The training target's distribution is drawn (the model trained above keeps its histogram).
    await page.waitForFunction(() => document.querySelectorAll("#chart-latest .bars path").length > 5);
    await screenshot(page, "11-predictions");
    await page.goto(`${url}/models`);
    await page.waitForSelector("table.models tr[data-model]");
    assert.match((await page.textContent("table.models tbody")) ?? "", /latest/);
    await screenshot(page, "12-models");
  });

  test("a broken DAG file shows in the banner with its file and message", async () => {
    writeFileSync(join(project, "dags", "broken.ts"), "export default definitely not typescript(;\n");
    await page.goto(`${url}/`);
    await page.waitForSelector("#broken-dags", { timeout: 30_000 });
    const banner = (await page.textContent("#broken-dags")) ?? "";
    assert.match(banner, /broken\.ts/);
    assert.match(banner, /Broken DAG/);
    // The other DAGs are still there.
    assert.ok(await page.isVisible('tr[data-dag="train"]'));
    await screenshot(page, "13-broken-dag");
  });

  test("a long log opens on its tail; 'Show earlier lines' brings the rest back a window at a time, every line once, in order", async () => {
    await page.goto(`${url}/`);
    await page.waitForSelector('tr[data-dag="web_long"]');
    await page.click('tr[data-dag="web_long"] label.switch');
    await page.click('tr[data-dag="web_long"] button[data-action="trigger"]');
    const toast = await page.waitForSelector('.toast:has-text("Triggered web_long")');
    const runId = /(manual__\d{8}-\d{6})/.exec((await toast.textContent()) ?? "")?.[1] as string;
    assert.equal(await runEnds("web_long", runId), "success");
    await page.goto(`${url}/dags/web_long/runs/${runId}/tasks/chatty/logs`);
    await page.waitForFunction(() =>
      /line 03000 of 03000/.test(document.getElementById("log")?.textContent ?? ""),
    );
    const numbers = async () =>
      [...((await page.textContent("#log")) ?? "").matchAll(/line (\d{5}) of 03000/g)].map((m) =>
        Number(m[1]),
      );
    const tail = await numbers();
    assert.ok(tail.length > 0 && !tail.includes(1), `opens on the tail (from line ${tail[0]})`);
    assert.match((await page.textContent("#log-earlier")) ?? "", /Show earlier lines \(\d+ kB before\)/);
    await screenshot(page, "30-log-tail");
    let clicks = 0;
    while (await page.isVisible("#log-earlier")) {
      assert.ok(++clicks <= 10, "at most 10 windows of 64 kB");
      const shown = (await numbers()).length;
      await page.click("#log-earlier");
      await page.waitForFunction(
        (n) =>
          (document.getElementById("log")?.textContent?.match(/line \d{5} of 03000/g)?.length ?? 0) > n &&
          !(document.getElementById("log-earlier") as HTMLButtonElement).disabled,
        shown,
      );
    }
    assert.ok(clicks >= 2, `${clicks} windows loaded before the tail's`);
    assert.deepEqual(
      await numbers(),
      Array.from({ length: 3000 }, (_, i) => i + 1),
      "every line once, in order",
    );
  });

  test("HTML in a description and in a log line is shown as text, never run", async () => {
    await page.goto(`${url}/`);
    const row = await page.waitForSelector('tr[data-dag="web_xss"]');
    assert.match((await row.textContent()) ?? "", /Evil <script>window.__xss = "description"<\/script>/);
    assert.match((await row.textContent()) ?? "", /<b>tag<\/b>/);
    await page.click('tr[data-dag="web_xss"] label.switch');
    await page.click('tr[data-dag="web_xss"] button[data-action="trigger"]');
    const toast = await page.waitForSelector('.toast:has-text("Triggered web_xss")');
    const runId = /(manual__\d{8}-\d{6})/.exec((await toast.textContent()) ?? "")?.[1] as string;
    assert.equal(await runEnds("web_xss", runId), "success");
    await page.goto(`${url}/dags/web_xss/runs/${runId}/tasks/shout/logs`);
    await page.waitForFunction(() =>
      /window.__xss = 'log'/.test(document.getElementById("log")?.textContent ?? ""),
    );
    assert.equal(await page.$$eval("#log script, #log img", (els) => els.length), 0);
    await page.goto(`${url}/dags/web_xss?run=${runId}#details`);
    await page.waitForSelector('table.tis tr[data-task="shout"]');
    assert.match(
      (await page.textContent('table.tis tr[data-task="shout"]')) ?? "",
      /<script>window.__xss = 'xcom'<\/script>/,
    );
    await screenshot(page, "14-xss-as-text");
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss), undefined);
  });

  test("a browser in French: every page in French (no English word of the UI left); EN | FR switches, and the choice stays", async () => {
    // A browser whose language is French: Accept-Language and navigator.languages say fr-FR.
    const context = await browser.newContext({ locale: "fr-FR", viewport: { width: 1280, height: 900 } });
    const fr = await context.newPage();
    const problems = watchErrors(fr);
    const french = async (what: string) => {
      assert.equal(await fr.getAttribute("html", "lang"), "fr", `${what}: <html lang>`);
      assert.deepEqual(await englishLeft(fr), [], `${what}: English left`);
    };
    try {
      await fr.goto(`${url}/`);
      assert.match(fr.url(), /\/login\?next=%2F$/);
      assert.equal(await fr.textContent(".login h1"), "Se connecter à windflow");
      assert.match(
        (await fr.textContent("#first-account")) ?? "",
        /^Première connexion\s\? Connectez-vous en tant que admin avec le mot de passe admin/,
      );
      await french("sign-in");
      await screenshot(fr, "fr-01-sign-in");
      await fr.fill('input[name="username"]', "admin");
      await fr.fill('input[name="password"]', "admin");
      await fr.click('button[type="submit"]');

      // The DAG list, with the default-password banner and the scheduler's badge.
      await fr.waitForSelector('tr[data-dag="train"]');
      await fr.waitForSelector("#scheduler-status.scheduler-running");
      assert.deepEqual(await fr.$$eval("table.dags thead th", (ths) => ths.map((th) => th.textContent)), [
        "Actif",
        "DAG",
        "Planification",
        "Dernière exécution",
        "Prochaine exécution",
        "Actions",
      ]);
      assert.equal(await fr.textContent('tr[data-dag="train"] button[data-action="trigger"]'), "Déclencher");
      assert.equal(await fr.textContent('tr[data-dag="train"] .switch-text'), "actif");
      assert.equal(await fr.textContent('tr[data-dag="web_xss"] .switch-text'), "actif");
      assert.match((await fr.textContent("#scheduler-status")) ?? "", /^scheduler\s: en marche$/);
      assert.match(
        (await fr.textContent("#default-password-banner")) ?? "",
        /^Le compte admin a encore son mot de passe par défaut/,
      );
      assert.match((await fr.textContent("#broken-dags")) ?? "", /DAG en erreur\s:.*broken\.ts/s);
      await french("DAG list");
      await screenshot(fr, "fr-02-dags");

      // The trigger toast, in French (web_xss is ON and quick).
      await fr.click('tr[data-dag="web_xss"] button[data-action="trigger"]');
      const toast = await fr.waitForSelector('.toast:has-text("web_xss déclenché")');
      const text = (await toast.textContent()) ?? "";
      const runId = /^web_xss déclenché\s: (manual__\d{8}-\d{6}), fichiers horodatés \d{8}-\d{6}\b/.exec(
        text,
      )?.[1];
      assert.ok(runId, text);
      await french("DAG list with the trigger's toast");
      await screenshot(fr, "fr-03-dags-trigger-toast");
      assert.equal(await runEnds("web_xss", runId), "success");

      // A DAG: its grid (the legend explains the states' keywords), graph, details; the trigger form.
      const { runs } = await api<{ runs: { runId: string; runType: string; state: string }[] }>(
        "/dags/train/runs",
      );
      const trained = runs.find((r) => r.runType === "manual" && r.state === "success")?.runId as string;
      await fr.goto(`${url}/dags/train`);
      await fr.waitForSelector(`a.cell[data-task="train_model"][data-run="${trained}"]`);
      assert.deepEqual(await fr.$$eval("nav.tabs a", (as) => as.map((a) => a.textContent)), [
        "Grille",
        "Graphe",
        "Gantt",
        "Code",
        "Détails",
      ]);
      const legendText = (await fr.textContent(".legend")) ?? "";
      assert.match(legendText, /États\s:.*success \(réussie\).*failed \(en échec\).*running \(en cours\)/s);
      assert.match(legendText, /Exécutions\s:.*hauteur de la barre\s: durée/s);
      assert.match((await fr.textContent(".dag-head .meta")) ?? "", /^planification\s: toutes les 28d/);
      await french("grid");
      await screenshot(fr, "fr-04-dag-grid");
      await fr.click(`button.cell.run[data-run="${trained}"]`);
      await fr.click('a[data-tab="graph"]');
      await fr.waitForSelector('svg.graph g.node[data-task="train_model"][data-state="success"]');
      await french("graph");
      await screenshot(fr, "fr-05-dag-graph");
      await fr.click('a[data-tab="gantt"]');
      await fr.waitForSelector(".gantt .main-svg");
      await french("Gantt");
      await screenshot(fr, "fr-06-dag-gantt");
      await fr.click('a[data-tab="details"]');
      await fr.waitForSelector('table.tis tr[data-task="train_model"]');
      assert.match((await fr.textContent("#panel-details h3")) ?? "", /^Instances de tâche$/);
      await french("details");
      await screenshot(fr, "fr-07-dag-details");
      await fr.click('.dag-head button[data-action="trigger-config"]');
      await fr.waitForSelector("dialog.trigger [data-field=runId]");
      assert.match((await fr.textContent("dialog.trigger h2")) ?? "", /^Déclencher train avec une config$/);
      await french("trigger form");
      await screenshot(fr, "fr-08-trigger-with-config");
      await fr.click("dialog.trigger button.secondary");
      await fr.waitForSelector("dialog.trigger", { state: "detached" });

      // A task's log, predictions, models, account.
      await fr.goto(`${url}/dags/train/runs/${trained}/tasks/train_model/logs`);
      await fr.waitForFunction(() =>
        /terminé/.test(document.getElementById("log-status")?.textContent ?? ""),
      );
      assert.match((await fr.textContent("#log-status")) ?? "", /success essai 1\s: terminé/);
      await french("log");
      await screenshot(fr, "fr-09-task-log");
      await fr.goto(`${url}/predictions`);
      await fr.waitForSelector("#chart-latest .main-svg");
      await fr.waitForSelector("#chart-time .main-svg");
      await fr.waitForSelector("table.files tr[data-file]");
      await french("predictions");
      await screenshot(fr, "fr-10-predictions");
      await fr.goto(`${url}/models`);
      await fr.waitForSelector("table.models tr[data-model]");
      assert.match((await fr.textContent("table.models tbody")) ?? "", /dernier/);
      await french("models");
      await screenshot(fr, "fr-11-models");
      await fr.goto(`${url}/account`);
      await fr.waitForSelector("form.account");
      await french("account");
      await screenshot(fr, "fr-12-account");

      // EN | FR: English, on the same page (its run and tab kept), and it stays so across a reload.
      await fr.goto(`${url}/dags/train?run=${trained}#details`);
      await fr.waitForSelector('table.tis tr[data-task="train_model"]');
      await fr.click('.lang-switch a[data-lang="en"]');
      await fr.waitForFunction(() => document.documentElement.lang === "en");
      await fr.waitForSelector('table.tis tr[data-task="train_model"]');
      assert.equal(new URL(fr.url()).search, `?run=${trained}`, "the selected run kept, ?lang= gone");
      assert.equal(new URL(fr.url()).hash, "#details", "the tab kept");
      assert.equal(await fr.textContent("#panel-details h3"), "Task instances");
      assert.equal(await fr.textContent('.dag-head button[data-action="trigger"]'), "Trigger");
      assert.equal(await fr.textContent('.lang-switch a[aria-current="true"]'), "EN");
      await fr.reload();
      await fr.waitForSelector('table.tis tr[data-task="train_model"]');
      assert.equal(
        await fr.getAttribute("html", "lang"),
        "en",
        "English after a reload, in a French browser",
      );
      assert.equal(await fr.textContent('nav.tabs a[data-tab="grid"]'), "Grid");
      await fr.goto(`${url}/`);
      await fr.waitForSelector('tr[data-dag="train"]');
      assert.equal(await fr.textContent('tr[data-dag="train"] .switch-text'), "ON");
      // And back to French.
      await fr.click('.lang-switch a[data-lang="fr"]');
      await fr.waitForFunction(() => document.documentElement.lang === "fr");
      await fr.waitForSelector('tr[data-dag="train"]');
      assert.equal(await fr.textContent('tr[data-dag="train"] button[data-action="trigger"]'), "Déclencher");
      await fr.reload();
      await fr.waitForSelector('tr[data-dag="train"] button[data-action="trigger"]');
      await french("DAG list, after the switch and a reload");
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test("change the password: the banner goes; no script error on any page", async () => {
    await page.goto(`${url}/account`);
    await page.fill('input[name="currentPassword"]', "admin");
    await page.fill('input[name="newPassword"]', "a-better-password");
    await page.fill('input[name="confirm"]', "a-better-password");
    await page.click('form.account button[type="submit"]');
    await page.waitForSelector("form.account p.ok");
    await screenshot(page, "15-account");
    await page.goto(`${url}/`);
    await page.waitForSelector('tr[data-dag="train"]');
    assert.equal(await page.isVisible("#default-password-banner"), false);
    assert.deepEqual(errors, []);
  });
});

describe("the web UI without a scheduler", () => {
  test("works, and says that no scheduler runs", async () => {
    const web = await webEnv({ dags: ["scheduler-chain.ts"] });
    const b = await launchChromium();
    try {
      const p = await b.newPage();
      const problems = watchErrors(p);
      await p.goto(`${web.url}/login`);
      await p.fill('input[name="username"]', "admin");
      await p.fill('input[name="password"]', "admin");
      await p.click('button[type="submit"]');
      await p.waitForSelector('tr[data-dag="sched_chain"]');
      await p.waitForSelector("#scheduler-banner:not([hidden])");
      assert.match(
        (await p.textContent("#scheduler-banner")) ?? "",
        /No scheduler has run yet.*windflow scheduler/,
      );
      // The command is shown as code, not between literal backticks.
      assert.equal(await p.textContent("#scheduler-banner code"), "windflow scheduler");
      assert.doesNotMatch((await p.textContent("#scheduler-banner")) ?? "", /`/);
      assert.match((await p.textContent("#scheduler-status")) ?? "", /scheduler: not running/);
      // Triggering still works: the run waits for a scheduler.
      await p.click('tr[data-dag="sched_chain"] button[data-action="trigger"]');
      await p.waitForSelector('.toast:has-text("Triggered sched_chain")');
      assert.equal(web.env.store.listRuns({ dagId: "sched_chain" })[0]?.state, "queued");
      await screenshot(p, "16-no-scheduler");
      assert.deepEqual(problems, []);
    } finally {
      await b.close();
      await web.close();
    }
  });
});

/**
 * The grid, and what the page does while it refreshes, on a web server without a scheduler (so that runs stay
 * as the test makes them): runs of every kind put in the store, then clicks that land while a refresh is in
 * flight. A click is a press and a release on the same node: the test presses, waits until the page has
 * refreshed (it counts its refreshes in `window.windflowRefreshes`), then releases. A page that rebuilt its
 * table lost that click (the pressed node was gone); one that updates in place keeps it, and keeps the focus
 * and a text selection too.
 */
describe("the grid, and clicks during refreshes", () => {
  let web: WebEnv;
  let b: Browser;
  let admin: WebClient;
  /** The script errors and failed requests of each page opened (watchErrors fills them as they come). */
  const problems: string[][] = [];

  before(async () => {
    web = await webEnv({ dags: ["scheduler-chain.ts", "web-schedule.ts"] });
    admin = await web.signedIn();
    b = await launchChromium();
  });
  after(async () => {
    await b?.close();
    await web?.close();
  });

  /** A signed-in page; `pollMs` makes every view refresh that often (the page reads it before it starts). */
  async function openPage(pollMs?: number): Promise<Page> {
    const context = await b.newContext({ viewport: { width: 1280, height: 900 } });
    if (pollMs !== undefined)
      await context.addInitScript((ms) => {
        (window as unknown as { windflowPollMs: number }).windflowPollMs = ms;
      }, pollMs);
    const p = await context.newPage();
    problems.push(watchErrors(p));
    await p.goto(`${web.url}/login`);
    await p.fill('input[name="username"]', "admin");
    await p.fill('input[name="password"]', "admin");
    await p.click('button[type="submit"]');
    await p.waitForSelector("table.dags tbody tr[data-dag]");
    return p;
  }

  const refreshes = (p: Page, view: string) =>
    p.evaluate(
      (v) =>
        (window as unknown as { windflowRefreshes?: Record<string, number> }).windflowRefreshes?.[v] ?? 0,
      view,
    );

  /** Waits until `view` has refreshed `n` more times (fetched and drawn). */
  async function refreshed(p: Page, view: string, n = 1): Promise<void> {
    const from = await refreshes(p, view);
    await p.waitForFunction(
      ([v, count]) =>
        ((window as unknown as { windflowRefreshes?: Record<string, number> }).windflowRefreshes?.[v] ?? 0) >=
        count,
      [view, from + n] as const,
    );
  }

  /** Presses on `selector`, lets `view` refresh, then releases: a click with a refresh in the middle. */
  async function clickAcrossRefresh(p: Page, selector: string, view: string): Promise<void> {
    const box = await p.locator(selector).boundingBox();
    assert.ok(box, `${selector} is on the page`);
    const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
    assert.ok(
      await p.evaluate(([sx, sy, sel]) => document.elementFromPoint(sx, sy)?.closest(sel) !== null, [
        x,
        y,
        selector,
      ] as const),
      `nothing covers ${selector}`,
    );
    // Where the click lands (the page dispatches it while handling the release).
    await p.evaluate((sel) => {
      const w = window as unknown as { clickedOn?: string };
      w.clickedOn = "no click";
      // (No named function in here: tsx would wrap it in a helper the page does not have.)
      document.addEventListener(
        "click",
        (e) => {
          const target = e.target as Element;
          w.clickedOn = target.closest(sel) ? "the target" : `<${target.tagName.toLowerCase()}>`;
        },
        { capture: true, once: true },
      );
    }, selector);
    await p.mouse.move(x, y);
    await p.mouse.down();
    await refreshed(p, view);
    await p.mouse.up();
    assert.equal(
      await p.evaluate(() => (window as unknown as { clickedOn?: string }).clickedOn),
      "the target",
      `the click on ${selector} pressed before a refresh and released after it reached it`,
    );
  }

  const runsOf = (dagId: string) => web.env.store.listRuns({ dagId }).length;
  const pausedOnServer = async (dagId: string) => {
    const r = await admin.api("GET", `/dags/${dagId}`);
    assert.equal(r.status, 200);
    return ((await r.json()) as { isPaused: boolean }).isPaused;
  };
  /** The response to the next such request (a test failing before it comes leaves no unhandled rejection). */
  const responseTo = (p: Page, method: string, path: string) => {
    const response = p.waitForResponse(
      (r) => r.request().method() === method && new URL(r.url()).pathname === path,
    );
    response.catch(() => {});
    return response;
  };
  /**
   * The response to the next trigger of web_schedule. A manual run's id is its trigger time to the second, so
   * the server's clock moves on a second first: two quick triggers are two runs, not one and a 409.
   */
  const nextTrigger = (p: Page) => {
    web.clock.advance(1000);
    return responseTo(p, "POST", "/api/v1/dags/web_schedule/runs");
  };

  test("each run is labelled (logical date, type, duration) with a bar as long as it ran; running is drawn apart from success", async () => {
    const store = web.env.store;
    const spec = store.getDag("sched_chain")?.spec;
    assert.ok(spec);
    const now = Date.now();
    const at = (agoMs: number) => new Date(now - agoMs);
    const run = (runType: "manual" | "scheduled", logical: string) => {
      const logicalDate = new Date(logical);
      const runId = runIdFor(runType, logicalDate);
      store.createRun(
        {
          dagId: "sched_chain",
          runId,
          runType,
          logicalDate,
          dataInterval: { start: logicalDate, end: logicalDate },
          tasks: runTasksOf(spec),
        },
        at(900_000),
      );
      return runId;
    };
    const task = (
      runId: string,
      taskId: string,
      to: "running" | "success" | "failed",
      start: Date,
      end?: Date,
    ) => {
      const k = { dagId: "sched_chain", runId, taskId };
      store.setTaskState(k, "none", "scheduled");
      store.setTaskState(k, "scheduled", "queued", { queuedAt: start });
      store.setTaskState(k, "queued", "running", { startedAt: start }, start);
      if (to !== "running") store.setTaskState(k, "running", to, { endedAt: end ?? start }, end);
    };
    const finished = (runId: string, to: "success" | "failed", start: Date, end: Date) => {
      store.setRunState({ dagId: "sched_chain", runId }, "queued", "running", start);
      store.setRunState({ dagId: "sched_chain", runId }, "running", to, end);
    };
    // A scheduled run that took 12 s, a manual one that failed after 40 s, one running for a minute, one queued.
    const ok = run("scheduled", "2026-11-18T00:00:00Z");
    for (const t of ["extract", "transform", "load"]) task(ok, t, "success", at(600_000), at(596_000));
    finished(ok, "success", at(600_000), at(588_000));
    const bad = run("manual", "2026-11-20T08:00:00Z");
    task(bad, "extract", "success", at(500_000), at(490_000));
    task(bad, "transform", "failed", at(490_000), at(460_000));
    store.setTaskState({ dagId: "sched_chain", runId: bad, taskId: "load" }, "none", "upstream_failed");
    finished(bad, "failed", at(500_000), at(460_000));
    const going = run("manual", "2026-11-21T09:15:00Z");
    store.setRunState({ dagId: "sched_chain", runId: going }, "queued", "running", at(60_000));
    task(going, "extract", "success", at(60_000), at(50_000));
    task(going, "transform", "running", at(50_000));
    const waiting = run("manual", "2026-11-22T10:30:00Z");

    const p = await openPage();
    await p.goto(`${web.url}/dags/sched_chain?run=${going}`);
    await p.waitForSelector(`button.cell.run[data-run="${waiting}"]`);
    const column = (runId: string) => p.locator(`table.grid th.run-col:has(button[data-run="${runId}"])`);
    // Labels: the logical date in short (UTC), the run type as an icon with a title, the duration.
    assert.deepEqual(
      await Promise.all(
        [ok, bad, going, waiting].map(async (r) =>
          [
            await column(r).locator(".run-date").textContent(),
            await column(r).locator(".run-time").textContent(),
          ].join(" "),
        ),
      ),
      ["11-18 00:00", "11-20 08:00", "11-21 09:15", "11-22 10:30"],
    );
    assert.deepEqual(
      await Promise.all(
        [ok, bad, going, waiting].map((r) => column(r).locator(".run-type").getAttribute("data-run-type")),
      ),
      ["scheduled", "manual", "manual", "manual"],
    );
    assert.match(
      (await column(ok).locator(".run-type").getAttribute("title")) ?? "",
      /scheduled run: created by the schedule/,
    );
    assert.match(
      (await column(bad).locator(".run-type").getAttribute("title")) ?? "",
      /manual run: triggered/,
    );
    assert.equal(await column(ok).locator(".run-duration").textContent(), "12s");
    assert.equal(await column(bad).locator(".run-duration").textContent(), "40s");
    assert.match(
      (await column(going).locator(".run-duration").textContent()) ?? "",
      /^(\d\ds|\d\.\dm|\d+m)$/,
    );
    assert.equal(
      await column(waiting).locator(".run-duration").textContent(),
      "",
      "a queued run has no duration yet",
    );
    assert.match(
      (await column(going).getAttribute("title")) ?? "",
      /running, manual\n.*\nstarted .*\nduration .* so far/,
    );
    // Bars: as high as the run was long (the running one, the longest, fills the height).
    const bar = async (runId: string) => {
      const el = p.locator(`button.cell.run[data-run="${runId}"]`);
      return el.evaluate((e) => {
        const s = getComputedStyle(e);
        return {
          height: e.getBoundingClientRect().height,
          image: s.backgroundImage,
          animation: s.animationName,
          border: s.borderTopStyle,
          colour: s.backgroundColor,
        };
      });
    };
    const [okBar, badBar, goingBar, waitingBar] = await Promise.all([ok, bad, going, waiting].map(bar));
    assert.ok(okBar && badBar && goingBar && waitingBar);
    assert.ok(
      okBar.height < badBar.height && badBar.height < goingBar.height,
      JSON.stringify([okBar, badBar, goingBar]),
    );
    assert.equal(Math.round(goingBar.height), 56, "the longest run fills the height");
    // Running is not success in another green: moving stripes; queued: a dashed outline; success: plain.
    assert.match(goingBar.image, /repeating-linear-gradient/);
    assert.equal(goingBar.animation, "running-stripes");
    assert.equal(okBar.image, "none");
    assert.equal(okBar.animation, "none");
    assert.equal(okBar.colour, "rgb(46, 139, 87)");
    assert.equal(waitingBar.border, "dashed");
    assert.notEqual(waitingBar.colour, okBar.colour);
    // Task cells keep their states, titles and links.
    const cell = p.locator(`a.cell[data-task="transform"][data-run="${going}"]`);
    assert.equal(await cell.getAttribute("data-state"), "running");
    assert.match((await cell.getAttribute("title")) ?? "", /^transform in manual__20261121-091500: running$/);
    assert.equal(
      await p.getAttribute(`a.cell[data-task="load"][data-run="${bad}"]`, "data-state"),
      "upstream_failed",
    );
    assert.match(
      (await p.textContent(".legend")) ?? "",
      /bar height: duration.*running \(moving stripes\).*queued/,
    );
    await screenshot(p, "17-grid-runs");
    // Selecting a run by its column.
    await p.click(`table.grid th.run-col:has(button[data-run="${bad}"]) .run-label`);
    await p.waitForSelector(`th.run-col.selected button[data-run="${bad}"][aria-pressed="true"]`);
    assert.match(p.url(), new RegExp(`\\?run=${bad}`));
    await p.context().close();
  });

  test("clicks on ON/OFF and Trigger that land during a refresh all take effect; focus and a text selection stay", async () => {
    // Every view refreshes every 100 ms here, so that refreshes keep coming while the test works.
    const p = await openPage(100);
    const row = 'tr[data-dag="web_schedule"]';
    assert.equal(await pausedOnServer("web_schedule"), true);

    // ON across a refresh: saved on the server, and the switch stays ON through the next refreshes.
    let patched = responseTo(p, "PATCH", "/api/v1/dags/web_schedule");
    await clickAcrossRefresh(p, `${row} label.switch`, "dags");
    assert.equal((await patched).status(), 200);
    assert.equal(await pausedOnServer("web_schedule"), false);
    await refreshed(p, "dags", 3);
    assert.equal(await p.isChecked(`${row} input.toggle`), true);
    assert.equal(await p.textContent(`${row} .switch-text`), "ON");

    // Trigger across a refresh, twice: two runs.
    for (const expected of [1, 2]) {
      const posted = nextTrigger(p);
      await clickAcrossRefresh(p, `${row} button[data-action="trigger"]`, "dags");
      assert.equal((await posted).status(), 201);
      assert.equal(runsOf("web_schedule"), expected);
    }

    // OFF across a refresh.
    patched = responseTo(p, "PATCH", "/api/v1/dags/web_schedule");
    await clickAcrossRefresh(p, `${row} label.switch`, "dags");
    assert.equal((await patched).status(), 200);
    assert.equal(await pausedOnServer("web_schedule"), true);
    await refreshed(p, "dags", 3);
    assert.equal(await p.isChecked(`${row} input.toggle`), false);

    // Quick clicks while refreshes keep coming: each one counts, the switch ends as the server has it.
    for (let i = 0; i < 4; i++) {
      // (The switch is disabled while its PATCH is in flight, as for a user.)
      await p.waitForSelector(`${row} input.toggle:not([disabled])`);
      patched = responseTo(p, "PATCH", "/api/v1/dags/web_schedule");
      await p.click(`${row} label.switch`);
      assert.equal((await patched).status(), 200);
      assert.equal(await pausedOnServer("web_schedule"), i % 2 === 1, `after click ${i + 1}`);
    }
    for (let i = 0; i < 3; i++) {
      const posted = nextTrigger(p);
      await p.click(`${row} button[data-action="trigger"]`);
      assert.equal((await posted).status(), 201);
    }
    assert.equal(runsOf("web_schedule"), 5);
    await refreshed(p, "dags", 2);
    assert.equal(await p.isChecked(`${row} input.toggle`), false);

    // A text selection in the table stays selected across refreshes.
    await p.evaluate((sel) => {
      const text = document.querySelector(`${sel} a.dag-id`)?.firstChild as Text;
      const range = document.createRange();
      range.selectNodeContents(text);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(range);
    }, row);
    await refreshed(p, "dags", 3);
    assert.deepEqual(
      await p.evaluate(() => [getSelection()?.toString(), getSelection()?.anchorNode?.isConnected]),
      ["web_schedule", true],
    );

    // The DAG page: Trigger across a refresh; the new run shows in the grid, queued (dashed, no duration).
    await p.goto(`${web.url}/dags/web_schedule`);
    await p.waitForSelector("table.grid");
    const posted = nextTrigger(p);
    await clickAcrossRefresh(p, '.dag-head button[data-action="trigger"]', "dag");
    const created = ((await (await posted).json()) as { runId: string }).runId;
    assert.equal(runsOf("web_schedule"), 6);
    await p.waitForSelector(`button.cell.run.unstarted[data-run="${created}"][data-state="queued"]`);

    // Focus stays on the focused button through refreshes (the same node), and Enter still triggers.
    await p.focus('.dag-head button[data-action="trigger"]');
    await p.evaluate(() => {
      (document.activeElement as HTMLElement & { mark?: string }).mark = "kept";
    });
    await refreshed(p, "dag", 3);
    assert.deepEqual(
      await p.evaluate(() => {
        const el = document.activeElement as HTMLElement & { mark?: string };
        return [el.mark, el.dataset.action];
      }),
      ["kept", "trigger"],
    );
    const byKey = nextTrigger(p);
    await p.keyboard.press("Enter");
    assert.equal((await byKey).status(), 201);
    assert.equal(runsOf("web_schedule"), 7);

    // A selection in the grid (a task's name) stays too.
    await p.evaluate(() => {
      const text = document.querySelector("table.grid th.task")?.firstChild as Text;
      const range = document.createRange();
      range.selectNodeContents(text);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(range);
    });
    await refreshed(p, "dag", 3);
    assert.equal(await p.evaluate(() => getSelection()?.toString()), "only");
    await screenshot(p, "18-grid-queued-runs");
    await p.context().close();
    assert.deepEqual(problems.flat(), []);
  });
});
