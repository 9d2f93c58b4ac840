/**
 * The lab as a trainee lives it, in Chromium: JupyterLab, "Run All Cells" on each notebook of the lab (the
 * trainee's version with the solutions filled in: the notebooks as committed), then notebook 04's UI steps
 * through the launcher's windflow tile: sign in, turn `train` ON, Trigger, wait for the triggered run's model.
 * On a copy of the project whose data file is the full-size one (linked). Each wait is timed from the click to
 * what the trainee waits for (the last cell's prompt numbered, the run's train_model task green in the grid).
 *
 *   node --import tsx bench/trainee-walk.ts DATA_FILE [--ui-only]
 *
 * Prints a table on stderr and one JSON line on stdout (what `bench/run.ts` reads).
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { Page } from "playwright-core";
import { startJupyterServer } from "../src/notebook/server.js";
import { launchChromium, screenshot } from "../tests/helpers/browser.js";

const root = join(__dirname, "..");

interface Wait {
  what: string;
  seconds: number;
  ok: boolean;
  detail?: string;
}

/** Waits until no cell runs; then whether every code cell ran, and the first error shown, if any. */
async function allCellsRun(page: Page, timeoutMs: number): Promise<{ ok: boolean; detail?: string }> {
  // Run All queues every cell at once ("[*]"); it is over when no prompt has a star left.
  await page.waitForFunction(
    () => {
      const prompts = [...document.querySelectorAll(".jp-CodeCell .jp-InputPrompt")].map(
        (e) => e.textContent ?? "",
      );
      return prompts.length > 0 && !prompts.some((p) => p.includes("*"));
    },
    null,
    { timeout: timeoutMs, polling: 250 },
  );
  return page.evaluate(() => {
    const prompts = [...document.querySelectorAll(".jp-CodeCell .jp-InputPrompt")].map(
      (e) => e.textContent ?? "",
    );
    const error = document.querySelector(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]',
    );
    const missed = prompts.filter((p) => !/\[\d+\]/.test(p)).length;
    if (error || missed > 0)
      return {
        ok: false,
        detail: `${missed} cell(s) not run; ${(error?.textContent ?? "").slice(0, 200)}`,
      };
    return { ok: true };
  });
}

void (async () => {
  const data = resolve(process.argv[2] as string);
  mkdirSync(join(root, "build"), { recursive: true });
  // Not under a hidden folder: Jupyter's file browser does not open hidden paths.
  const project = mkdtempSync(join(root, "build", "bench-walk-"));
  const waits: Wait[] = [];
  const log = (w: Wait) => {
    waits.push(w);
    process.stderr.write(
      `  ${w.what.padEnd(44)} ${w.seconds.toFixed(1).padStart(7)} s${w.ok ? "" : `  FAILED: ${w.detail}`}\n`,
    );
  };
  cpSync(join(root, "notebooks"), join(project, "notebooks"), { recursive: true });
  rmSync(join(project, "notebooks", "fr"), { recursive: true, force: true });
  cpSync(join(root, "dags"), join(project, "dags"), { recursive: true });
  mkdirSync(join(project, "data"));
  symlinkSync(data, join(project, "data", "la-haute-borne-data-2017-2020.csv"));
  // What the kernels and the launcher's windflow UI (children of the Jupyter server) use: this copy.
  process.env.WINDFLOW_HOME = join(project, ".windflow");
  process.env.WINDFLOW__CORE__DAGS_FOLDER = join(project, "dags");
  const server = await startJupyterServer({
    root,
    app: "lab",
    extraArgs: ["--MultiKernelManager.default_kernel_name=tslab"],
  });
  const browser = await launchChromium();
  const began = performance.now();
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 950 } });
    const page = await context.newPage();
    const notebooks = process.argv.includes("--ui-only")
      ? []
      : readdirSync(join(project, "notebooks"))
          .filter((f) => f.endsWith(".ipynb"))
          .sort();
    process.stderr.write(
      `trainee walk in Chromium (${notebooks.length} notebooks, then the UI's Trigger):\n`,
    );
    for (const name of notebooks) {
      const path = relative(root, join(project, "notebooks", name));
      await page.goto(`${server.url}lab/tree/${path}?reset&token=${server.token}`);
      await page.waitForSelector(".jp-NotebookPanel .jp-Notebook", { timeout: 120_000 });
      await page.waitForSelector('.jp-KernelName:has-text("TypeScript")', { timeout: 120_000 });
      const news = page.locator('.jp-toast-button:has-text("No")');
      if (await news.isVisible().catch(() => false)) await news.click();
      // From the click: the kernel's start is part of the wait (JupyterLab queues the cells meanwhile).
      const t = performance.now();
      await page.click('.lm-MenuBar-itemLabel:text-is("Run")');
      await page.click('.lm-Menu-itemLabel:text-is("Run All Cells")');
      const r = await allCellsRun(page, 1_200_000);
      log({ what: `Run All: ${name}`, seconds: (performance.now() - t) / 1000, ...r });
      if (!r.ok) await screenshot(page, `walk-${name}-FAILED`);
      // Close it (and its kernel): a classroom machine does not keep six kernels.
      await page.click('.lm-MenuBar-itemLabel:text-is("Kernel")');
      await page.click('.lm-Menu-itemLabel:text-is("Shut Down Kernel")');
      const confirm = page.locator('.jp-Dialog button:has-text("Shut Down")');
      if (await confirm.isVisible({ timeout: 2000 }).catch(() => false)) await confirm.click();
    }

    // Notebook 04's UI steps, through the launcher's tile.
    await page.goto(`${server.url}lab?token=${server.token}`);
    await page.waitForSelector(".jp-Launcher, .jp-FileBrowser", { timeout: 60_000 });
    if (!(await page.isVisible(".jp-Launcher"))) await page.click('[data-command="launcher:create"]');
    const tile = page.locator('.jp-LauncherCard:has-text("windflow")');
    let t = performance.now();
    const [ui] = await Promise.all([context.waitForEvent("page", { timeout: 60_000 }), tile.click()]);
    await ui.waitForSelector('input[name="username"]', { timeout: 120_000 });
    await ui.fill('input[name="username"]', "admin");
    await ui.fill('input[name="password"]', "admin");
    await ui.click('button[type="submit"]');
    await ui.waitForSelector('tr[data-dag="train"]', { timeout: 60_000 });
    log({
      what: "launcher tile to the DAG list (signed in)",
      seconds: (performance.now() - t) / 1000,
      ok: true,
    });
    // The course's words: turn train ON, then Trigger.
    await ui.click('tr[data-dag="train"] label.switch');
    await ui.waitForSelector('tr[data-dag="train"] input.toggle:checked');
    t = performance.now();
    await ui.click('tr[data-dag="train"] button[data-action="trigger"]');
    const toast = await ui.waitForSelector('.toast:has-text("Triggered train")');
    const said = (await toast.textContent()) ?? "";
    const runId = /(manual__\d{8}-\d{6})/.exec(said)?.[1];
    if (!runId) throw new Error(`the trigger's toast names no run: ${said}`);
    // What the trainee was told (the course's flow: ON first; train's maxActiveRuns of 2 starts the trigger's run
    // next to the interval's run instead of after it).
    process.stderr.write(`  (${said.replace(/\s+/g, " ").trim().slice(0, 160)})\n`);
    await ui.click('tr[data-dag="train"] a.dag-id');
    await ui.waitForSelector("table.grid");
    const done = `a.cell[data-task="train_model"][data-run="${runId}"]`;
    await ui.waitForSelector(`${done}[data-state="success"], ${done}[data-state="failed"]`, {
      timeout: 1_800_000,
    });
    const state = await ui.getAttribute(done, "data-state");
    log({
      what: "Trigger train to its model in the grid",
      seconds: (performance.now() - t) / 1000,
      ok: state === "success",
      ...(state === "success" ? {} : { detail: `train_model ${state}` }),
    });
    await screenshot(ui, "walk-train-triggered");
  } finally {
    await browser.close();
    await server.stop();
    rmSync(project, { recursive: true, force: true });
  }
  const total = waits.reduce((a, w) => a + w.seconds, 0);
  process.stderr.write(
    `  ${"sum of the waits".padEnd(44)} ${total.toFixed(1).padStart(7)} s (target < 600 s on a quiet machine); walk ${((performance.now() - began) / 1000).toFixed(0)} s\n`,
  );
  process.stdout.write(
    `${JSON.stringify({ waits, waitSeconds: total, seconds: total, rssMB: 0, ok: waits.every((w) => w.ok) })}\n`,
  );
})();
