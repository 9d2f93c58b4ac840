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
import { launchChromium, screenshot, watchErrors } from "./helpers/browser.js";
import { FIXTURES, ROOT } from "./helpers/scheduler-env.js";
import { webEnv } from "./helpers/web-env.js";

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

before(async () => {
  mkdirSync(E2E, { recursive: true });
  project = mkdtempSync(join(E2E, "project-"));
  mkdirSync(join(project, "dags"));
  for (const f of readdirSync(join(ROOT, "dags")))
    copyFileSync(join(ROOT, "dags", f), join(project, "dags", f));
  for (const f of ["web-xss.ts", "web-slow.ts"])
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
    assert.equal(await page.textContent('tr[data-dag="train"] .switch-text'), "ON", "the switch says ON at once");
    await screenshot(page, "02b-train-on");
    await page.click('tr[data-dag="train"] button[data-action="trigger"]');
    const toast = await page.waitForSelector('.toast:has-text("Triggered train")');
    const text = (await toast.textContent()) ?? "";
    const runId = /Triggered train: (manual__\d{8}-\d{6})/.exec(text)?.[1];
    assert.ok(runId, "the toast names the run");
    // If the run of the interval still runs, the trigger says the new run waits for it, and why (never silently).
    if (/It waits/.test(text))
      assert.match(
        text,
        /It waits for scheduled__\S+ \((queued|running), created by the schedule\) to end: train runs at most 1 run at a time/,
      );
    await page.click('tr[data-dag="train"] a.dag-id');
    await page.waitForSelector("table.grid");
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
    assert.match(log, /epoch 1\/40: loss/);
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
        timeout: 30_000,
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
