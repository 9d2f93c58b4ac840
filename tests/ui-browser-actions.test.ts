/**
 * The actions by hand in a real browser (Debian Chromium + playwright-core), against the web server and a live
 * scheduler in this process with real task processes: a try that never yields and has no timeout runs; a viewer
 * sees the buttons disabled; an admin stops it from the Details tab (confirmed), the scheduler kills its
 * process and the row turns failed, "set by admin"; Clear runs it and its downstream again (success); Mark
 * failed changes a finished task. The buttons in French. Waits use deadlines; screenshots go to artifacts/.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { isProcessAlive } from "../src/orchestration/executor/local.js";
import type { SchedulerReport } from "../src/orchestration/scheduler/scheduler.js";
import { setDagPaused, triggerDag } from "../src/orchestration/scheduler/trigger.js";
import type { TaskInstanceKey } from "../src/orchestration/store/store.js";
import { FR } from "../src/server/messages.js";
import { launchChromium, screenshot, watchErrors } from "./helpers/browser.js";
import { until } from "./helpers/scheduler-env.js";
import { type WebEnv, webEnv } from "./helpers/web-env.js";

const WAIT = { timeout: 90_000 };
let web: WebEnv;
let b: Browser;
let scheduler: Promise<SchedulerReport>;
let stopScheduler: () => void;
let runId = "";
const key = (taskId: string): TaskInstanceKey => ({ dagId: "sched_actions", runId, taskId });

before(async () => {
  web = await webEnv({ dags: ["scheduler-actions.ts"], viewer: true });
  setDagPaused(web.env.store, "sched_actions", false);
  runId = triggerDag(web.env.store, "sched_actions").run.runId;
  const s = web.env.scheduler();
  stopScheduler = () => s.stop("test done");
  scheduler = s.run({ mode: "forever", timeoutMs: 300_000 });
  b = await launchChromium();
});
after(async () => {
  stopScheduler?.();
  await scheduler;
  await b?.close();
  await web?.close();
});

/** A signed-in page on the run's Details tab, refreshing every 300 ms. */
async function detailsPage(user: string, password: string, locale = "en-GB"): Promise<Page> {
  const context = await b.newContext({ viewport: { width: 1280, height: 900 }, locale });
  await context.addInitScript(() => {
    (window as unknown as { windflowPollMs: number }).windflowPollMs = 300;
  });
  const p = await context.newPage();
  await p.goto(`${web.url}/login`);
  await p.fill('input[name="username"]', user);
  await p.fill('input[name="password"]', password);
  await p.click('button[type="submit"]');
  await p.waitForSelector("table.dags tbody tr[data-dag]", WAIT);
  await p.goto(`${web.url}/dags/sched_actions?run=${encodeURIComponent(runId)}#details`);
  await p.waitForSelector('table.tis tr[data-task="stuck"]', WAIT);
  return p;
}

const stateOf = async (p: Page, taskId: string) =>
  /state-(\w+)/.exec(
    (await p.getAttribute(`table.tis tr[data-task="${taskId}"] .state`, "class")) ?? "",
  )?.[1];

/** Waits until the row of `taskId` shows `state`. */
const rowState = (p: Page, taskId: string, state: string) =>
  p.waitForSelector(`table.tis tr[data-task="${taskId}"] .state.state-${state}`, WAIT);

describe("actions by hand in the web UI", () => {
  test("a viewer sees them disabled; an admin stops a hung try, clears it (it and its downstream run again), marks failed", async () => {
    const running = await until(
      "stuck's first try to run",
      () => {
        const ti = web.env.store.getTaskInstance(key("stuck"));
        return ti?.state === "running" && ti.pid !== null ? ti : undefined;
      },
      90_000,
    );

    const viewer = await detailsPage("vera", "viewer-password");
    await rowState(viewer, "stuck", "running");
    for (const action of ["clear", "success", "failed", "stop"])
      assert.equal(
        await viewer.isDisabled(`tr[data-task="stuck"] button[data-action="ti-${action}"]`),
        true,
        `${action} is disabled for a viewer`,
      );
    await viewer.context().close();

    const p = await detailsPage("admin", "admin");
    const problems = watchErrors(p);
    await rowState(p, "stuck", "running");
    const stop = 'tr[data-task="stuck"] button[data-action="ti-stop"]';
    assert.equal(await p.isDisabled(stop), false);
    assert.equal(
      await p.isDisabled('tr[data-task="after"] button[data-action="ti-stop"]'),
      true,
      "none: nothing to stop",
    );
    assert.equal(
      await p.isDisabled('tr[data-task="after"] button[data-action="ti-clear"]'),
      true,
      "none: nothing to clear",
    );
    const asked: string[] = [];
    p.on("dialog", (d) => {
      asked.push(d.message());
      void d.accept();
    });
    await p.click(stop);
    await p.waitForSelector('.toast:has-text("stuck: Stop done")', WAIT);
    await rowState(p, "stuck", "failed");
    assert.match(
      asked[0] ?? "",
      /^Stop the try of stuck in run manual__.*\? It ends failed, without retry\.$/,
    );
    const row = (await p.textContent('tr[data-task="stuck"]')) ?? "";
    assert.match(row, /set by admin/);
    assert.match(row, /stopped by admin/);
    await until(
      "the scheduler to kill the hung process",
      () => (isProcessAlive(running.pid as number) ? undefined : true),
      90_000,
    );
    const stopped = web.env.store.getTaskInstance(key("stuck"));
    assert.deepEqual(
      [stopped?.state, stopped?.error, stopped?.setBy],
      ["failed", "stopped by admin", "admin"],
    );
    await rowState(p, "after", "upstream_failed");
    await screenshot(p, "actions-1-stopped");

    await p.click('tr[data-task="stuck"] button[data-action="ti-clear"]');
    await p.waitForSelector('.toast:has-text("stuck: Clear done (2 task instances changed)")', WAIT);
    assert.match(
      asked[1] ?? "",
      /^Clear stuck and its downstream tasks in run manual__.*\? They run again\.$/,
    );
    await rowState(p, "stuck", "success");
    await rowState(p, "after", "success");
    assert.equal(await stateOf(p, "first"), "success");
    assert.deepEqual(
      web.env.store.listTries(key("stuck")).map((t) => [t.tryNumber, t.state]),
      [
        [1, "failed"],
        [2, "success"],
      ],
    );

    await p.click('tr[data-task="after"] button[data-action="ti-failed"]');
    await p.waitForSelector('.toast:has-text("after: Mark failed done (1 task instance changed)")', WAIT);
    await rowState(p, "after", "failed");
    await p.waitForSelector('tr[data-task="after"] .error-text:has-text("marked failed by admin")', WAIT);
    assert.match((await p.textContent('tr[data-task="after"]')) ?? "", /set by admin/);
    assert.equal(await p.isDisabled('tr[data-task="after"] button[data-action="ti-failed"]'), true);
    assert.equal(asked.length, 2, "marking asks nothing");
    await screenshot(p, "actions-2-cleared-marked");
    assert.deepEqual(problems, []);
    await p.context().close();
  });

  test("the buttons in French", async () => {
    const p = await detailsPage("admin", "admin", "fr-FR");
    const label = (taskId: string, action: string) =>
      p.textContent(`tr[data-task="${taskId}"] button[data-action="ti-${action}"]`);
    assert.equal(await label("stuck", "clear"), FR["action.clear"]);
    assert.equal(await label("stuck", "success"), FR["action.success"]);
    assert.equal(await label("stuck", "failed"), FR["action.failed"]);
    assert.equal(await label("stuck", "stop"), FR["action.stop"]);
    assert.equal(
      await p.getAttribute('tr[data-task="stuck"] button[data-action="ti-clear"]', "title"),
      FR["action.clearTitle"],
    );
    assert.match((await p.textContent('tr[data-task="after"]')) ?? "", /modifié par admin/);
    await p.context().close();
  });
});
