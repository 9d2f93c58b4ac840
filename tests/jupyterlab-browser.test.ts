/**
 * JupyterLab in a real browser (Debian Chromium + playwright-core), as a trainee uses it: open notebook 01, run
 * all its cells on the TypeScript kernel, see the plotly charts drawn by JupyterLab's plotly renderer; then
 * click the launcher's windflow tile and reach the windflow UI, proxied by jupyter-server-proxy under
 * `/windflow/`. On a copy of the project with a small dataset; screenshots in artifacts/screenshots/.
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { synthesizeDataset } from "../src/data/synthetic.js";
import { type JupyterServer, startJupyterServer } from "../src/notebook/server.js";
import { launchChromium, screenshot, watchErrors } from "./helpers/browser.js";
import { ROOT } from "./helpers/scheduler-env.js";

let project = "";
let server: JupyterServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;

before(async () => {
  // Not under a hidden folder (.e2e): Jupyter's file browser does not open hidden paths.
  mkdirSync(join(ROOT, "build"), { recursive: true });
  project = mkdtempSync(join(ROOT, "build", "jupyterlab-"));
  cpSync(join(ROOT, "notebooks"), join(project, "notebooks"), { recursive: true });
  cpSync(join(ROOT, "dags"), join(project, "dags"), { recursive: true });
  await synthesizeDataset(join(project, "data", "la-haute-borne-data-2017-2020.csv"), { seed: 5, days: 4 });
  // What the launcher's windflow UI (a child of the Jupyter server) reads: this copy's home and DAGs.
  process.env.WINDFLOW_HOME = join(project, "home");
  process.env.WINDFLOW__CORE__DAGS_FOLDER = join(project, "dags");
  server = await startJupyterServer({
    root: ROOT,
    app: "lab",
    extraArgs: ["--MultiKernelManager.default_kernel_name=tslab"],
  });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1400, height: 950 } });
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(project, { recursive: true, force: true });
});

describe("JupyterLab in Chromium", () => {
  test("notebook 01: Run All Cells draws the plotly charts in JupyterLab", { timeout: 240_000 }, async () => {
    const errors = watchErrors(page);
    const path = relative(ROOT, join(project, "notebooks", "01-explore-the-data.ipynb"));
    // ?reset: a fresh workspace, not the last one (which may name files of an earlier run).
    await page.goto(`${server.url}lab/tree/${path}?reset&token=${server.token}`);
    await page.waitForSelector(".jp-NotebookPanel .jp-Notebook", { timeout: 60_000 });
    // The TypeScript kernel is the notebook's (tslab).
    await page.waitForSelector('.jp-KernelName:has-text("TypeScript")', { timeout: 60_000 });
    // JupyterLab asks once whether to fetch its news: no (this machine is offline anyway).
    const news = page.locator('.jp-toast-button:has-text("No")');
    if (await news.isVisible().catch(() => false)) await news.click();
    await page.click('.lm-MenuBar-itemLabel:text-is("Run")');
    await page.click('.lm-Menu-itemLabel:text-is("Run All Cells")');
    // The last cell's check, then the two charts, drawn by the plotly renderer.
    await page.waitForSelector(
      '.jp-OutputArea-output:has-text("of the rows with a pitch angle have it above 80 deg")',
      {
        timeout: 180_000,
      },
    );
    try {
      await page.waitForFunction(
        () => document.querySelectorAll(".jp-RenderedPlotly .main-svg").length >= 2,
        null,
        { timeout: 60_000 },
      );
    } catch (error) {
      await screenshot(page, "jupyterlab-01-charts-FAILED");
      throw error;
    }
    const charts = await page.$$eval(".jp-RenderedPlotly", (els) => els.length);
    assert.ok(charts >= 2, `${charts} plotly charts`);
    // Show the charts in the screenshot.
    await page.locator(".jp-RenderedPlotly").first().scrollIntoViewIfNeeded();
    await screenshot(page, "jupyterlab-01-charts");
    // Saved, closed and opened again, without running anything: the charts are drawn from the saved notebook.
    await page.locator(".jp-NotebookPanel .jp-Notebook").click();
    await page.keyboard.press("Control+s");
    const file = join(project, "notebooks", "01-explore-the-data.ipynb");
    const deadline = Date.now() + 30_000;
    while (!readFileSync(file, "utf8").includes("application/vnd.plotly.v1+json")) {
      assert.ok(Date.now() < deadline, "the notebook was saved with its charts");
      await new Promise((r) => setTimeout(r, 200));
    }
    // As many charts as the saved file holds plotly outputs.
    const savedCharts = (
      JSON.parse(readFileSync(file, "utf8")) as { cells: { outputs?: { data?: object }[] }[] }
    ).cells
      .flatMap((c) => c.outputs ?? [])
      .filter((o) => "application/vnd.plotly.v1+json" in (o.data ?? {})).length;
    assert.ok(savedCharts >= 2, `${savedCharts} charts saved`);
    await page.reload();
    await page.waitForSelector(".jp-NotebookPanel .jp-Notebook", { timeout: 60_000 });
    // JupyterLab attaches cells and renders their outputs one after the other as it lays the notebook out
    // (windowing mode "contentVisibility", its default: every cell ends up attached): wait for all of them,
    // then bring each into view, where plotly draws it.
    const saved = page.locator(".jp-RenderedPlotly");
    try {
      await page.waitForFunction(
        (n) => document.querySelectorAll(".jp-RenderedPlotly").length >= n,
        savedCharts,
        { timeout: 60_000 },
      );
      const reopened = await saved.all();
      assert.equal(reopened.length, savedCharts, "every saved chart is shown once");
      for (const chart of reopened) {
        await chart.scrollIntoViewIfNeeded();
        // Drawn again from the saved figure: live (.main-svg) or, until JupyterLab trusts the file, as an image.
        await chart.locator(".main-svg, .plot-img").first().waitFor({ timeout: 120_000 });
      }
    } catch (error) {
      await screenshot(page, "jupyterlab-01-reopened-FAILED");
      throw error;
    }
    await screenshot(page, "jupyterlab-01-charts-reopened");
    assert.deepEqual(
      errors.filter((e) => !/favicon|\/api\/(workspaces|settings|lsp|translations)/.test(e)),
      [],
    );
  });

  // src/notebook/kernel.ts: tslab said "idle" after answering any request, also while a cell still ran (a
  // trainee saw Idle during the training cell). Here, as a trainee would: Run All on a notebook whose second cell
  // waits (for the test's go), and a Tab completion typed in the third cell meanwhile.
  test("the kernel status says Busy while a cell runs, also after a completion typed meanwhile; Idle once done", {
    timeout: 240_000,
  }, async () => {
    const dir = join(project, "notebooks");
    const go = join(project, "status-go");
    const cell = (source: string) => ({
      cell_type: "code",
      execution_count: null,
      metadata: {},
      outputs: [],
      source,
    });
    writeFileSync(
      join(dir, "status.ipynb"),
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
        cells: [
          cell("await new Promise((r) => setTimeout(r, 200));\n1"),
          cell(
            [
              'console.log("second cell running");',
              'const { existsSync } = await import("node:fs");',
              "const wait = async (f: string) => {",
              "  for (let i = 0; i < 3600 && !existsSync(f); i++) await new Promise((r) => setTimeout(r, 50));",
              "};",
              `await wait(${JSON.stringify(`${go}-1`)});`,
              'console.log("after the completion");',
              `await wait(${JSON.stringify(`${go}-2`)});`,
              '"second cell done"',
            ].join("\n"),
          ),
          cell("Math.fl"),
        ].map((c, i) => ({ ...c, id: `cell-${i + 1}` })),
      }),
    );
    const status = () =>
      page
        .locator(".jp-StatusBar-Widget")
        .filter({ hasText: /TypeScript \|/ })
        .first();
    const path = relative(ROOT, join(dir, "status.ipynb"));
    await page.goto(`${server.url}lab/tree/${path}?reset&token=${server.token}`);
    await page.waitForSelector('.jp-KernelName:has-text("TypeScript")', { timeout: 60_000 });
    await status().filter({ hasText: "Idle" }).waitFor({ timeout: 120_000 });
    await page.click('.lm-MenuBar-itemLabel:text-is("Run")');
    await page.click('.lm-Menu-itemLabel:text-is("Run All Cells")');
    await page.waitForSelector('.jp-OutputArea-output:has-text("second cell running")', { timeout: 120_000 });
    try {
      assert.match((await status().textContent()) ?? "", /Busy/, "while the second cell runs");
      // A completion in the third cell (queued after the second): the kernel answers it at once (tslab does).
      await page.locator(".jp-Cell").nth(2).locator(".cm-content").click();
      await page.keyboard.press("End");
      await page.keyboard.press("Tab");
      await page.waitForSelector(".jp-Completer", { timeout: 60_000 });
      // The completion's reply (shell) can reach the page before its idle (iopub): the cell prints a line once the
      // test lets it, after the reply; what the kernel published for the completion is on iopub before that line.
      writeFileSync(`${go}-1`, "");
      await page.waitForSelector('.jp-OutputArea-output:has-text("after the completion")', {
        timeout: 120_000,
      });
      await screenshot(page, "jupyterlab-status-busy-after-completion");
      assert.match((await status().textContent()) ?? "", /Busy/, "after the completion, the cell still runs");
      await page.keyboard.press("Escape");
    } catch (error) {
      await screenshot(page, "jupyterlab-status-FAILED");
      throw error;
    } finally {
      writeFileSync(`${go}-1`, "");
      writeFileSync(`${go}-2`, "");
    }
    await page.waitForSelector('.jp-OutputArea-output:has-text("second cell done")', { timeout: 120_000 });
    await status().filter({ hasText: "Idle" }).waitFor({ timeout: 120_000 });
    // Saved, so that leaving the page asks nothing (an unsaved notebook holds the next page.goto at a dialog).
    await page.keyboard.press("Escape");
    await page.keyboard.press("Control+s");
    const file = join(dir, "status.ipynb");
    const deadline = Date.now() + 30_000;
    while (!readFileSync(file, "utf8").includes("second cell done")) {
      assert.ok(Date.now() < deadline, "the notebook was saved");
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  test("the launcher's windflow tile opens the windflow UI, proxied under /windflow/", {
    timeout: 180_000,
  }, async () => {
    await page.goto(`${server.url}lab?token=${server.token}`);
    await page.waitForSelector(".jp-Launcher, .jp-FileBrowser", { timeout: 60_000 });
    if (!(await page.isVisible(".jp-Launcher"))) await page.click('[data-command="launcher:create"]');
    const tile = page.locator('.jp-LauncherCard:has-text("windflow")');
    await tile.waitFor({ timeout: 120_000 });
    await screenshot(page, "jupyterlab-launcher");
    const [ui] = await Promise.all([context.waitForEvent("page", { timeout: 60_000 }), tile.click()]);
    // The proxy starts `windflow standalone` on first use: the sign-in page comes once it listens.
    await ui.waitForSelector('input[name="username"]', { timeout: 120_000 });
    assert.match(ui.url(), /\/windflow\/login/);
    // A launcher user never sees what `windflow standalone` prints: the page tells the first account.
    assert.match((await ui.textContent("#first-account")) ?? "", /Sign in as admin with the password admin/);
    await ui.fill('input[name="username"]', "admin");
    await ui.fill('input[name="password"]', "admin");
    await ui.click('button[type="submit"]');
    await ui.waitForSelector('tr[data-dag="train"]', { timeout: 60_000 });
    assert.match(ui.url(), /\/windflow\/$/);
    await screenshot(ui, "jupyterlab-windflow-ui");
    // The default-password banner's link stays under /windflow/ (not a Jupyter 404).
    await ui.click('#default-password-banner a:text("Change it")');
    await ui.waitForSelector('input[name="currentPassword"]', { timeout: 120_000 });
    assert.match(ui.url(), /\/windflow\/account$/);
  });
});
