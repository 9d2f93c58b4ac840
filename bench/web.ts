/**
 * The web API under load: a store holding one DAG of 3 tasks with 200 finished runs (600 task instances, every
 * task instance with a try), the web server from the build in its own process (`windflow webserver`), and 20
 * concurrent clients for 10 s on each of: the DAG list, the grid of all 200 runs, and `/api/v1/me` (the
 * anchor: the same gate and session, no store work). Loopback only. Latencies are measured per response
 * (autocannon's `response` event), median and p95.
 *
 *   node --import tsx bench/web.ts [--seconds 10] [--connections 20] [--runs 200]
 *
 * Prints a table on stderr and one JSON line on stdout (what `bench/run.ts` reads).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { loadConfig } from "../dist/config.js";
import { syncDagFolder } from "../dist/orchestration/scheduler/dag-processor.js";
import { openStore } from "../dist/orchestration/store/index.js";
import { runTasksOf } from "../dist/orchestration/store/records.js";
import { ensureDefaultUser } from "../dist/server/auth.js";
import { quantile } from "./stats.js";

const root = join(__dirname, "..");
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const seconds = arg("--seconds", 10);
const connections = arg("--connections", 20);
const runCount = arg("--runs", 200);

async function load(
  url: string,
  cookie: string,
): Promise<{
  medianMs: number;
  p95Ms: number;
  requests: number;
  rps: number;
  errors: number;
  non2xx: number;
}> {
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ url, connections, duration: seconds, headers: { cookie } }, (error, r) =>
      error ? reject(error) : resolve(r),
    );
    instance.on("response", (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime);
    });
  });
  return {
    medianMs: quantile(latencies, 0.5),
    p95Ms: quantile(latencies, 0.95),
    requests: latencies.length,
    rps: latencies.length / seconds,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), "windflow-bench-web-"));
  const dags = join(home, "dags");
  mkdirSync(dags);
  writeFileSync(
    join(dags, "bench_web.ts"),
    `import { dag } from ${JSON.stringify(join(root, "dist", "index.js"))};
export default dag({ id: "bench_web", description: "Three tasks: **extract**, **transform**, **load**.", schedule: "@hourly", startDate: "2026-01-01T00:00:00Z" }, (d) => {
  const a = d.task("extract", () => 1);
  const b = d.task("transform", () => 2);
  const c = d.task("load", () => 3);
  a.before(b).before(c);
});
`,
  );
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("WINDFLOW"))),
    WINDFLOW_HOME: home,
    WINDFLOW__CORE__DAGS_FOLDER: dags,
  };
  const config = loadConfig({ root, env });
  const store = openStore(config);
  await syncDagFolder(config, store);
  await ensureDefaultUser(store);
  const spec = store.getDag("bench_web")?.spec;
  if (!spec) throw new Error("bench: the DAG did not load");
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  store.atomically(() => {
    for (let i = 0; i < runCount; i++) {
      const logicalDate = new Date(t0 + i * 3600_000);
      const run = store.createRun({
        dagId: "bench_web",
        runId: `scheduled__${i}`,
        runType: "scheduled",
        logicalDate,
        dataInterval: { start: logicalDate, end: new Date(logicalDate.getTime() + 3600_000) },
        state: "running",
        tasks: runTasksOf(spec),
      });
      for (const t of spec.tasks) {
        const key = { ...run, taskId: t.id };
        store.setTaskState(key, "none", "scheduled");
        store.setTaskState(key, "scheduled", "queued");
        store.setTaskState(key, "queued", "running", { pid: 1, hostname: "bench" });
        store.setTaskState(key, "running", "success", { returnValue: i });
      }
      store.setRunState(run, "running", "success");
    }
  });
  store.close();

  let server: ChildProcess | undefined;
  try {
    server = spawn(process.execPath, [join(root, "dist", "cli", "main.js"), "webserver", "--port", "0"], {
      cwd: root,
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const base = await new Promise<string>((resolve, reject) => {
      let text = "";
      const timer = setTimeout(
        () => reject(new Error(`bench: the web server did not start: ${text}`)),
        30_000,
      );
      server?.stderr?.on("data", (d: Buffer) => {
        text += d.toString();
        const m = /web server on (http:\/\/\S+)/.exec(text);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
    });
    // Sign in once through the form; the clients share the session (a browser tab's requests).
    const form = await fetch(`${base}/login`);
    const token = /name="_login" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
    const loginCookie = (form.headers.getSetCookie()[0] ?? "").split(";")[0] as string;
    const signed = await fetch(`${base}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: loginCookie },
      body: new URLSearchParams({ _login: token, username: "admin", password: "admin" }).toString(),
    });
    const cookie = (signed.headers.getSetCookie().find((c) => c.startsWith("windflow_session=")) ?? "").split(
      ";",
    )[0] as string;
    if (!cookie) throw new Error(`bench: sign-in failed (${signed.status})`);
    const grid = (await (
      await fetch(`${base}/api/v1/dags/bench_web/grid?limit=${runCount}`, { headers: { cookie } })
    ).json()) as { runs: unknown[] };
    if (grid.runs.length !== runCount) throw new Error(`bench: the grid has ${grid.runs.length} runs`);

    const anchor = await load(`${base}/api/v1/me`, cookie);
    const dagList = await load(`${base}/api/v1/dags`, cookie);
    const gridAll = await load(`${base}/api/v1/dags/bench_web/grid?limit=${runCount}`, cookie);
    const result = {
      seconds,
      connections,
      runs: runCount,
      taskInstances: runCount * 3,
      anchor,
      dagList,
      grid: gridAll,
    };
    const line = (label: string, m: typeof anchor) =>
      `  ${label.padEnd(36)} median ${m.medianMs.toFixed(1).padStart(6)} ms   p95 ${m.p95Ms.toFixed(1).padStart(6)} ms   ${m.rps.toFixed(0).padStart(5)} req/s   errors ${m.errors + m.non2xx}`;
    process.stderr.write(
      [
        `web API: ${connections} clients for ${seconds} s each, ${runCount} runs x 3 tasks in the store (loopback)`,
        line("GET /api/v1/me (anchor: the gate)", anchor),
        line("GET /api/v1/dags (DAG list)", dagList),
        line(`GET .../grid?limit=${runCount} (all runs)`, gridAll),
        "",
      ].join("\n"),
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    server?.kill("SIGTERM");
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
