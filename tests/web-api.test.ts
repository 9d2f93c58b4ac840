/**
 * The REST API over real HTTP, as a script or a notebook uses it (HTTP Basic) and as the pages do (session +
 * CSRF): DAGs, pause, trigger with conf and its preview, runs, the grid, tries and logs by offset, import
 * errors, predictions, models, the scheduler's status and the OpenAPI document.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { syncDagFolder } from "../src/orchestration/scheduler/dag-processor.js";
import { type WebClient, type WebEnv, webEnv } from "./helpers/web-env.js";

let web: WebEnv;
let admin: WebClient;
const basic = (user = "admin", password = "admin") => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});
const json = async <T>(r: Response): Promise<T> => (await r.json()) as T;

before(async () => {
  web = await webEnv({ dags: ["scheduler-chain.ts", "web-xss.ts"] });
  admin = await web.signedIn();
});
after(() => web.close());

describe("web API: DAGs and runs", () => {
  test("list and one DAG: description as safe HTML, schedule, tasks in order, paused, no run yet", async () => {
    const { dags } = await json<{ dags: { dagId: string; isPaused: boolean; lastRun: unknown }[] }>(
      await admin.api("GET", "/dags"),
    );
    assert.deepEqual(
      dags.map((d) => [d.dagId, d.isPaused, d.lastRun]),
      [
        ["sched_chain", true, null],
        ["web_xss", true, null],
      ],
    );
    const one = await json<{
      tasks: { taskId: string; upstream: string[] }[];
      schedule: string;
      file: string;
    }>(await web.client().get("/api/v1/dags/sched_chain", basic()));
    assert.deepEqual(
      one.tasks.map((t) => [t.taskId, t.upstream]),
      [
        ["extract", []],
        ["transform", ["extract"]],
        ["load", ["transform"]],
      ],
    );
    assert.equal(one.schedule, "manual only");
    assert.match(one.file, /chain\.ts$/);
    const missing = await admin.api("GET", "/dags/nope");
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), {
      error: 'no DAG "nope"',
      hint: "GET /api/v1/dags lists the DAGs",
    });
  });

  test("trigger: the preview tells the run id, logical date, stamp and files; the run holds the conf", async () => {
    const preview = await json<{ runId: string; stamp: string; outputs: string[]; paused: boolean }>(
      await admin.api("GET", "/dags/web_xss/triggerPreview?logicalDate=2026-11-25T17:30:05Z"),
    );
    assert.deepEqual(preview, {
      dagId: "web_xss",
      runId: "manual__20261125-173005",
      logicalDate: "2026-11-25T17:30:05.000Z",
      stamp: "20261125-173005",
      outputs: ["out/<script>20261125-173005</script>.csv"],
      paused: true,
      waitsFor: [],
      maxActiveRuns: 1,
    });
    const created = await admin.api("POST", "/dags/sched_chain/runs", {
      conf: { label: "via-api" },
      logicalDate: "2026-11-25T17:30:05Z",
    });
    assert.equal(created.status, 201);
    const run = await json<{ runId: string; state: string; conf: object; stamp: string; paused: boolean }>(
      created,
    );
    assert.equal(run.runId, "manual__20261125-173005");
    assert.equal(run.state, "queued");
    assert.deepEqual(run.conf, { label: "via-api" });
    assert.equal(run.paused, true);
    // The same logical date twice: a conflict, named. A conf of the wrong type: 400 naming the param.
    const again = await admin.api("POST", "/dags/sched_chain/runs", { logicalDate: "2026-11-25T17:30:05Z" });
    assert.equal(again.status, 409);
    assert.match((await json<{ error: string }>(again)).error, /manual__20261125-173005 exists already/);
    const badConf = await admin.api("POST", "/dags/sched_chain/runs", { conf: { label: 3 } });
    assert.equal(badConf.status, 400);
    assert.match((await json<{ error: string }>(badConf)).error, /conf\.label/);
    const notObject = await admin.api("POST", "/dags/sched_chain/runs", { conf: [1] });
    assert.equal(notObject.status, 400);
    const badDate = await admin.api("POST", "/dags/sched_chain/runs", { logicalDate: "yesterday" });
    assert.equal(badDate.status, 400);
    // A date still to come: refused, by the preview too, naming it (no run dated in the future).
    for (const r of [
      await admin.api("POST", "/dags/sched_chain/runs", { logicalDate: "2999-01-01T00:00:00Z" }),
      await admin.api("GET", "/dags/sched_chain/triggerPreview?logicalDate=2999-01-01T00:00:00Z"),
    ]) {
      assert.equal(r.status, 400);
      assert.match(
        (await json<{ error: string }>(r)).error,
        /cannot be dated in the future: logical date 2999-01-01/,
      );
    }
  });

  test("unpause, run it: the grid, the run with its task instances, tries, logs by offset", async () => {
    const unpaused = await admin.api("PATCH", "/dags/sched_chain", { isPaused: false });
    assert.equal(((await unpaused.json()) as { isPaused: boolean }).isPaused, false);
    const report = await web.env.runScheduler({ mode: "until-idle" });
    assert.equal(report.stoppedBy, "idle", web.env.lines.join("\n"));

    const grid = await json<{
      taskIds: string[];
      runs: {
        run: { runId: string; state: string; startedAt: string; endedAt: string };
        durationMs: number | null;
        tasks: Record<string, { state: string }>;
      }[];
    }>(await admin.api("GET", "/dags/sched_chain/grid?limit=5"));
    assert.deepEqual(grid.taskIds, ["extract", "transform", "load"]);
    assert.deepEqual(
      grid.runs.map((r) => [r.run.runId, r.run.state, Object.values(r.tasks).map((t) => t.state)]),
      [["manual__20261125-173005", "success", ["success", "success", "success"]]],
    );
    // The run's duration (the height of its bar in the grid): from its start to its end.
    const [only] = grid.runs;
    assert.equal(
      only?.durationMs,
      Date.parse(only?.run.endedAt ?? "") - Date.parse(only?.run.startedAt ?? ""),
    );
    const run = await json<{ state: string; taskInstances: { taskId: string; returnValue: unknown }[] }>(
      await admin.api("GET", "/dags/sched_chain/runs/manual__20261125-173005"),
    );
    assert.equal(run.state, "success");
    assert.deepEqual(
      run.taskInstances.map((t) => t.returnValue),
      [{ rows: 3 }, 6, "via-api=6 at 20261125-173005"],
    );
    const runs = await json<{ runs: { runId: string }[] }>(
      await admin.api("GET", "/dags/sched_chain/runs?state=success"),
    );
    assert.deepEqual(
      runs.runs.map((r) => r.runId),
      ["manual__20261125-173005"],
    );
    const tries = await json<{ tries: { tryNumber: number; state: string }[] }>(
      await admin.api("GET", "/dags/sched_chain/runs/manual__20261125-173005/taskInstances/load/tries"),
    );
    assert.deepEqual(
      tries.tries.map((t) => [t.tryNumber, t.state]),
      [[1, "success"]],
    );
    const base = "/dags/sched_chain/runs/manual__20261125-173005/taskInstances/load/logs/1";
    const whole = await json<{ content: string; nextOffset: number; finished: boolean }>(
      await admin.api("GET", base),
    );
    assert.match(whole.content, /\[windflow\] success, returned "via-api=6 at 20261125-173005"/);
    assert.equal(whole.finished, true);
    assert.equal(whole.nextOffset, Buffer.byteLength(whole.content));
    const rest = await json<{ content: string; nextOffset: number }>(
      await admin.api("GET", `${base}?offset=10`),
    );
    assert.equal(rest.content, Buffer.from(whole.content).subarray(10).toString());
    const end = await json<{ content: string }>(await admin.api("GET", `${base}?offset=${whole.nextOffset}`));
    assert.equal(end.content, "");
    // The DAG list now shows the last run.
    const { dags } = await json<{ dags: { dagId: string; lastRun: { state: string } | null }[] }>(
      await admin.api("GET", "/dags"),
    );
    assert.equal(dags.find((d) => d.dagId === "sched_chain")?.lastRun?.state, "success");
    // The graph: one node per task, edges along the chain, laid out left to right.
    const graph = await json<{
      nodes: { taskId: string; x: number }[];
      edges: { from: string; to: string }[];
    }>(await admin.api("GET", "/dags/sched_chain/graph"));
    assert.deepEqual(
      graph.edges.map((e) => `${e.from}->${e.to}`),
      ["extract->transform", "transform->load"],
    );
    const x = Object.fromEntries(graph.nodes.map((n) => [n.taskId, n.x]));
    assert.ok(
      (x.extract as number) < (x.transform as number) && (x.transform as number) < (x.load as number),
    );
    const source = await json<{ source: string }>(await admin.api("GET", "/dags/sched_chain/source"));
    assert.match(source.source, /id: "sched_chain"/);
  });

  test("import errors: a broken DAG file is listed with its file and message", async () => {
    web.env.write("broken.ts", 'import { nope } from "./missing-module";\nexport default nope;\n');
    await syncDagFolder(web.env.config, web.env.store);
    const { importErrors } = await json<{ importErrors: { file: string; message: string }[] }>(
      await admin.api("GET", "/importErrors"),
    );
    assert.equal(importErrors.length, 1);
    assert.match(importErrors[0]?.file ?? "", /broken\.ts$/);
    assert.match(importErrors[0]?.message ?? "", /missing-module/);
  });
});

describe("web API: files and status", () => {
  test("predictions: the dated files newest first (latest.csv apart), their rows; models with metrics", async () => {
    const folder = web.env.config.webserver.predictions_folder;
    assert.ok(folder.startsWith(web.env.home), "the test's own folder");
    mkdirSync(folder, { recursive: true });
    for (const [name, stamp] of [
      ["20261125-173005.csv", "20261125-173005"],
      ["20261125-173005_2.csv", "20261125-173005"],
      ["20261125-174000.csv", "20261125-174000"],
      ["latest.csv", "20261125-174000"],
    ] as const)
      writeFileSync(join(folder, name), `predictions,predictions_time\n1.5,${stamp}\n-0.9,${stamp}\n`);
    writeFileSync(join(folder, "notes.txt"), "not a prediction file");
    const { predictions } = await json<{ predictions: { name: string; time: string }[] }>(
      await admin.api("GET", "/predictions"),
    );
    assert.deepEqual(
      predictions.map((p) => [p.name, p.time]),
      [
        ["20261125-174000.csv", "2026-11-25T17:40:00.000Z"],
        ["20261125-173005_2.csv", "2026-11-25T17:30:05.000Z"],
        ["20261125-173005.csv", "2026-11-25T17:30:05.000Z"],
      ],
    );
    const rows = await json<{ predictions: number[]; predictionsTime: string[]; rows: number }>(
      await admin.api("GET", "/predictions/latest.csv"),
    );
    assert.deepEqual(rows.predictions, [1.5, -0.9]);
    assert.deepEqual(rows.predictionsTime, ["20261125-174000", "20261125-174000"]);
    assert.equal((await admin.api("GET", "/predictions/notes.txt")).status, 404);
    const { models } = await json<{ models: unknown[] }>(await admin.api("GET", "/models"));
    assert.deepEqual(models, [], "no model trained in this home");
  });

  test("health: the scheduler's status from its heartbeats (never, running, down)", async () => {
    const status = async () =>
      (
        await json<{
          scheduler: { status: string; message: string; stopped: boolean; ageMs: number | null };
        }>(await admin.api("GET", "/health"))
      ).scheduler;
    // The scheduler runs above ended cleanly: down, and the message says how to start one. The fields say it
    // too, for the pages to word it in the user's language.
    const down = await status();
    assert.equal(down.status, "down");
    assert.match(down.message, /not running \(stopped .* ago\).*windflow scheduler/);
    assert.equal(down.stopped, true);
    assert.ok(typeof down.ageMs === "number" && down.ageMs >= 0, `ageMs ${down.ageMs}`);
    const scheduler = web.env.scheduler();
    const running = scheduler.run({ mode: "forever", timeoutMs: 30_000 });
    try {
      let seen = "";
      for (let i = 0; i < 100 && seen !== "running"; i++) {
        seen = (await status()).status;
        if (seen !== "running") await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(seen, "running");
    } finally {
      scheduler.stop("test");
      await running;
    }
    assert.equal((await status()).status, "down");
  });

  test("the OpenAPI document describes every API route, with the body schemas that validate requests", async () => {
    const doc = await json<{
      openapi: string;
      info: { title: string };
      paths: Record<string, Record<string, { requestBody?: unknown; summary?: string }>>;
      components: { securitySchemes: Record<string, unknown> };
    }>(await admin.api("GET", "/openapi.json"));
    assert.match(doc.openapi, /^3\./);
    assert.equal(doc.info.title, "windflow REST API");
    for (const path of [
      "/api/v1/dags",
      "/api/v1/dags/{dagId}",
      "/api/v1/dags/{dagId}/runs",
      "/api/v1/dags/{dagId}/grid",
      "/api/v1/dags/{dagId}/runs/{runId}/taskInstances/{taskId}/logs/{tryNumber}",
      "/api/v1/importErrors",
      "/api/v1/predictions",
      "/api/v1/models",
      "/api/v1/health",
    ])
      assert.ok(doc.paths[path], `${path} documented`);
    assert.ok(doc.paths["/api/v1/dags/{dagId}"]?.patch?.requestBody, "PATCH body documented");
    assert.ok(doc.paths["/api/v1/dags/{dagId}/runs"]?.post?.summary);
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ["basic", "session"]);
    // A body that does not fit the schema: 400 naming the field.
    const bad = await admin.api("PATCH", "/dags/sched_chain", { isPaused: "yes please" });
    assert.equal(bad.status, 400);
    assert.match((await json<{ error: string }>(bad)).error, /isPaused/);
  });
});

describe("web API: what ON and Trigger do, said before anyone waits", () => {
  let env: WebEnv;
  let user: WebClient;
  before(async () => {
    env = await webEnv({ dags: ["web-schedule.ts"] });
    user = await env.signedIn();
  });
  after(() => env.close());

  test("ON says which run it creates now (the latest complete interval, catch-up off); a trigger says what it waits for", async () => {
    const on = await json<{
      isPaused: boolean;
      createsNow: { start: string; end: string; more: boolean } | null;
    }>(await user.api("PATCH", "/dags/web_schedule", { isPaused: false }));
    assert.equal(on.isPaused, false);
    assert.ok(on.createsNow, "ON creates a run at once");
    // Every 28 days from 2026-01-01: the latest interval that is over now.
    const start = Date.parse(on.createsNow.start);
    const end = Date.parse(on.createsNow.end);
    assert.equal(end - start, 28 * 86_400_000);
    assert.equal((start - Date.parse("2026-01-01T00:00:00Z")) % (28 * 86_400_000), 0);
    assert.ok(end <= Date.now() && Date.now() - end < 28 * 86_400_000, "the latest complete interval");
    assert.equal(on.createsNow.more, false, "catch-up off: only that one");
    // OFF says nothing of the kind.
    const off = await json<Record<string, unknown>>(
      await user.api("PATCH", "/dags/web_schedule", { isPaused: true }),
    );
    assert.equal("createsNow" in off, false);

    // No scheduler here: the first manual run stays queued and holds the DAG's one slot.
    const preview = await json<{ waitsFor: unknown[]; maxActiveRuns: number }>(
      await user.api("GET", "/dags/web_schedule/triggerPreview"),
    );
    assert.deepEqual(preview.waitsFor, []);
    assert.equal(preview.maxActiveRuns, 1);
    const first = await json<{ runId: string; waitsFor: unknown[] }>(
      await user.api("POST", "/dags/web_schedule/runs", { logicalDate: "2026-11-01T00:00:00Z" }),
    );
    assert.deepEqual(first.waitsFor, []);
    const second = await json<{
      runId: string;
      waitsFor: { runId: string; state: string }[];
      maxActiveRuns: number;
    }>(await user.api("POST", "/dags/web_schedule/runs", { logicalDate: "2026-11-02T00:00:00Z" }));
    assert.deepEqual(
      second.waitsFor.map((w) => [w.runId, w.state]),
      [[first.runId, "queued"]],
    );
    assert.equal(second.maxActiveRuns, 1);
    const again = await json<{ waitsFor: { runId: string }[] }>(
      await user.api("GET", "/dags/web_schedule/triggerPreview"),
    );
    assert.deepEqual(
      again.waitsFor.map((w) => w.runId),
      [first.runId, second.runId],
      "a third would wait for both",
    );
  });
});

describe("windflow standalone next to a scheduler that already runs on the same home", () => {
  test("it joins it (starts no second scheduler) and says so; with no live scheduler, it starts its own", async () => {
    const { hostname } = await import("node:os");
    const { liveScheduler, serveStandalone } = await import("../src/server/main.js");
    const { schedulerEnv, until } = await import("./helpers/scheduler-env.js");
    const e = schedulerEnv();
    try {
      const now = new Date();
      const other = { hostname: hostname(), pid: process.pid, startedAt: new Date(now.getTime() - 60_000) };
      e.store.recordSchedulerHeartbeat(other, now);
      const [job] = e.store.listSchedulerJobs(1);
      assert.ok(job);
      assert.equal(
        liveScheduler([job], now, e.config)?.pid,
        process.pid,
        "alive: recent heartbeat, process exists",
      );
      assert.equal(
        liveScheduler([job], new Date(now.getTime() + 60_000), e.config),
        undefined,
        "stale heartbeat",
      );
      assert.equal(
        liveScheduler([{ ...job, pid: 2 ** 22 + 7 }], now, e.config),
        undefined,
        "a pid of this host that is gone",
      );
      const lines: string[] = [];
      const served = await serveStandalone({
        config: e.config,
        port: 0,
        host: "127.0.0.1",
        say: (l) => lines.push(l),
      });
      try {
        assert.match(
          lines.join("\n"),
          /the scheduler of this home already runs \(pid \d+ on .*\): this web server uses it/,
        );
        assert.doesNotMatch(lines.join("\n"), /scheduler: scheduler started/);
        assert.equal(e.store.listSchedulerJobs(5).length, 1, "no second scheduler recorded itself");
      } finally {
        await served.stop("test done");
      }
      // The other one stops: the next standalone runs its own scheduler.
      e.store.recordSchedulerHeartbeat(other, new Date(), true);
      const own: string[] = [];
      const second = await serveStandalone({
        config: e.config,
        port: 0,
        host: "127.0.0.1",
        say: (l) => own.push(l),
      });
      try {
        assert.doesNotMatch(own.join("\n"), /already runs/);
        await until("its own scheduler's heartbeat", () =>
          e.store
            .listSchedulerJobs(5)
            .some((j) => j.pid === process.pid && j.startedAt > other.startedAt && j.endedAt === null)
            ? true
            : undefined,
        );
      } finally {
        await second.stop("test done");
      }
    } finally {
      e.cleanup();
    }
  });
});

describe("web: the pages' language (English or French)", () => {
  const french = { "accept-language": "fr-FR,fr;q=0.9,en;q=0.8" };
  const english = { "accept-language": "en-US,en;q=0.9" };
  const langOf = (page: string) => /<html lang="(\w+)">/.exec(page)?.[1];

  test("the browser's language (Accept-Language) chooses: <html lang>, Content-Language, the sign-in page's words", async () => {
    const c = web.client();
    const fr = await c.get("/login", french);
    assert.equal(fr.status, 200);
    assert.equal(fr.headers.get("content-language"), "fr");
    const page = await fr.text();
    assert.equal(langOf(page), "fr");
    assert.match(page, /<title>Connexion · windflow<\/title>/);
    assert.match(page, /<h1>Se connecter à windflow<\/h1>/);
    assert.match(
      page,
      /id="first-account">Première connexion\u202f\? Connectez-vous en tant que <b>admin<\/b>/,
    );
    // The switch: FR is the page's, EN a link back to this page (with its `next`).
    assert.match(
      page,
      /<a href="\/login\?next=%2F&amp;lang=en" lang="en"[^>]*title="Show the pages in English">EN<\/a>/,
    );
    assert.match(page, /<a href="\/login\?next=%2F&amp;lang=fr"[^>]*aria-current="true">FR<\/a>/);
    for (const headers of [english, {}, { "accept-language": "de-DE,de;q=0.9" }]) {
      const en = await (await c.get("/login", headers)).text();
      assert.equal(langOf(en), "en", JSON.stringify(headers));
      assert.match(en, /<h1>Sign in to windflow<\/h1>/);
    }
    // A wrong password, said in French (the form's token from the last form shown: each one has its own).
    const form = await (await c.get("/login", french)).text();
    const token = /name="_login" value="([^"]+)"/.exec(form)?.[1] ?? "";
    const wrong = await c.request("POST", "/login", {
      form: { _login: token, username: "admin", password: "nope", next: "/" },
      headers: french,
    });
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /role="alert">nom d&#39;utilisateur ou mot de passe incorrect</);
  });

  test("the switch (?lang= on any page) is remembered in a cookie that wins over the browser; the API is not switched", async () => {
    const c = web.client();
    const switched = await c.get("/login?next=%2Fmodels&lang=fr", english);
    assert.equal(switched.status, 303);
    assert.equal(switched.headers.get("location"), "/login?next=%2Fmodels", "back to the page, without lang");
    const cookie = switched.headers.getSetCookie().find((l) => l.startsWith("windflow_lang="));
    assert.match(cookie ?? "", /^windflow_lang=fr; Max-Age=31536000; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.equal(langOf(await (await c.get("/login?next=%2Fmodels", english)).text()), "fr");
    // Not a language: back to the page, the choice unchanged.
    const junk = await c.get("/login?lang=de", english);
    assert.equal(junk.status, 303);
    assert.equal(junk.headers.getSetCookie().length, 0);
    assert.equal(langOf(await (await c.get("/login", english)).text()), "fr");

    // Signed in: the pages, their titles and the error pages follow; the API's JSON does not change.
    const signed = await c.signIn("admin", "admin");
    assert.equal(signed.status, 303);
    const home = await (await c.get("/", english)).text();
    assert.equal(langOf(home), "fr");
    assert.match(home, /<title>DAG · windflow<\/title>/);
    assert.match(home, /data-nav="predictions">Prédictions</);
    assert.match(home, /<button type="submit">Se déconnecter<\/button>/);
    assert.match(
      home,
      /id="default-password-banner">Le compte <b>admin<\/b> a encore son mot de passe par défaut/,
    );
    const missing = await c.get("/no-such-page", english);
    assert.equal(missing.status, 404);
    assert.match(
      await missing.text(),
      /<title>Page introuvable · windflow[\s\S]*Aucune page \/no-such-page\.[\s\S]*Retour aux DAG/,
    );
    const noDag = await c.get("/dags/no_such_dag");
    assert.equal(noDag.status, 404);
    assert.match(await noDag.text(), /no DAG no_such_dag[\s\S]*Retour aux DAG/);
    const api = await c.get("/api/v1/dags?lang=en");
    assert.equal(api.status, 200, "?lang= on the API is no switch");
    // API errors stay in English (scripts and notebooks read them; the pages word the ones they expect).
    const apiError = await c.get("/api/v1/dags/no_such_dag", french);
    assert.equal(apiError.status, 404);
    assert.equal((await json<{ error: string }>(apiError)).error, 'no DAG "no_such_dag"');
    // Back to English, the selected run kept.
    const back = await c.get("/dags/sched_chain?run=manual__x&lang=en", french);
    assert.equal(back.headers.get("location"), "/dags/sched_chain?run=manual__x");
    const dag = await (await c.get("/dags/sched_chain?run=manual__x", french)).text();
    assert.equal(langOf(dag), "en");
    assert.match(dag, /data-nav="predictions">Predictions</);
  });
});

describe("web API: actions by hand on a task instance (clear, mark, stop), with roles", () => {
  let env: WebEnv;
  before(async () => {
    env = await webEnv({ dags: ["scheduler-chain.ts"], viewer: true });
  });
  after(() => env.close());

  test("a viewer is refused (403); a user clears with downstream, marks, and gets 409 / 404 / 400 naming what is wrong", async () => {
    const admin = await env.signedIn();
    await admin.api("PATCH", "/dags/sched_chain", { isPaused: false });
    const triggered = await json<{ runId: string }>(
      await admin.api("POST", "/dags/sched_chain/runs", { logicalDate: "2026-11-25T17:30:05Z" }),
    );
    const report = await env.env.runScheduler({ mode: "until-idle" });
    assert.equal(report.stoppedBy, "idle", env.env.lines.join("\n"));
    const ti = (taskId: string) =>
      `/api/v1/dags/sched_chain/runs/${triggered.runId}/taskInstances/${taskId}/actions`;
    const post = (taskId: string, body: unknown, headers: Record<string, string>) =>
      env.client().request("POST", ti(taskId), { json: body, headers });

    const viewer = await post("transform", { action: "clear" }, basic("vera", "viewer-password"));
    assert.equal(viewer.status, 403);
    const refused = await json<{ error: string; reason: string }>(viewer);
    assert.match(refused.error, /vera \(viewer\) may only read/);
    assert.equal(refused.reason, "read_only");
    assert.equal(
      env.env.store.getTaskInstance({ dagId: "sched_chain", runId: triggered.runId, taskId: "transform" })
        ?.state,
      "success",
    );

    const cleared = await post("transform", { action: "clear" }, basic());
    assert.equal(cleared.status, 200, await cleared.clone().text());
    const body = await json<{
      changed: { taskId: string; from: string }[];
      runQueued: boolean;
      taskInstance: { state: string; setBy: string };
    }>(cleared);
    assert.deepEqual(body.changed, [
      { taskId: "transform", from: "success" },
      { taskId: "load", from: "success" },
    ]);
    assert.equal(body.runQueued, true);
    assert.deepEqual([body.taskInstance.state, body.taskInstance.setBy], ["none", "admin"]);

    const marked = await json<{ taskInstance: { state: string; error: string } }>(
      await post("extract", { action: "failed" }, basic()),
    );
    assert.deepEqual(
      [marked.taskInstance.state, marked.taskInstance.error],
      ["failed", "marked failed by admin"],
    );
    const conflict = await post("extract", { action: "stop" }, basic());
    assert.equal(conflict.status, 409);
    assert.deepEqual(await json(conflict), {
      error: `cannot stop sched_chain/${triggered.runId}/extract: it is failed`,
      hint: "only a queued or running try can be stopped",
    });
    const missing = await post("nope", { action: "clear" }, basic());
    assert.equal(missing.status, 404);
    const bad = await post("extract", { action: "explode" }, basic());
    assert.equal(bad.status, 400);
    assert.match(
      (await json<{ error: string }>(bad)).error,
      /action must be equal to one of the allowed values/,
    );
  });
});
