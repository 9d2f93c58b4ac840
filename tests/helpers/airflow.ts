/**
 * Apache Airflow 3's own components on this machine, for tests/airflow-scheduler.test.ts and `make bench`
 * (bench/airflow.ts): a temporary AIRFLOW_HOME with SQLite and LocalExecutor, `airflow db migrate`, then
 * `airflow api-server` on 127.0.0.1 and a free port, `airflow scheduler --skip-serve-logs` and
 * `airflow dag-processor`, each in its own process group, driven through Airflow's REST API (v2).
 *
 * Not `airflow standalone`: it starts log servers on every interface. No triggerer (no deferrable operator is
 * exported). The scheduler's health-check server stays off (it would listen on 0.0.0.0). Every user is an
 * admin of the simple auth manager (no login): the API server listens on loopback only, and `listeners()`
 * says which TCP ports the components hold, so a test can assert that none is on another interface.
 * Airflow is the pinned one of requirements/airflow.txt in `.venv-airflow` (`make test` installs it).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./redis.js";

export const ROOT = resolve(__dirname, "..", "..");
export const AIRFLOW = join(ROOT, ".venv-airflow", "bin", "airflow");
export const AIRFLOW_PYTHON = join(ROOT, ".venv-airflow", "bin", "python");
/** A guard against hangs, not a time budget (a loaded 2-core machine starts Airflow in tens of seconds). */
export const AIRFLOW_GUARD_MS = 300_000;

const run = promisify(execFile);

/** The environment of Airflow's processes for `home`: ours only (no AIRFLOW_* or WINDFLOW__* inherited). */
export function airflowHomeEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith("AIRFLOW") && !k.startsWith("WINDFLOW__") && k !== "WINDFLOW_HOME",
    ),
  );
  return {
    ...inherited,
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__LOAD_EXAMPLES: "False",
    AIRFLOW__CORE__DAGS_FOLDER: join(home, "dags"),
    AIRFLOW__CORE__PLUGINS_FOLDER: join(home, "plugins"),
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${join(home, "airflow.db")}`,
    AIRFLOW__LOGGING__LOGGING_LEVEL: "INFO",
    WINDFLOW__CORE__LOAD_EXAMPLES: "False",
    ...extra,
  };
}

/** `windflow dags export --to airflow DAG... -o home` with the built CLI, the DAGs read from `dagsFolder`. */
export async function exportDags(
  home: string,
  dagsFolder: string,
  dagIds: readonly string[],
): Promise<string> {
  const env = {
    ...airflowHomeEnv(home),
    WINDFLOW_HOME: join(home, "windflow"),
    WINDFLOW__CORE__DAGS_FOLDER: dagsFolder,
  };
  const { stdout } = await run(
    process.execPath,
    [join(ROOT, "dist", "cli", "main.js"), "dags", "export", "--to", "airflow", ...dagIds, "-o", home],
    { cwd: ROOT, env, timeout: AIRFLOW_GUARD_MS },
  );
  return stdout;
}

/** A DAG run as the REST API gives it (the fields used here). */
export interface AirflowDagRun {
  dag_run_id: string;
  state: string;
  logical_date: string | null;
  data_interval_start: string | null;
  data_interval_end: string | null;
  run_after: string;
  queued_at: string | null;
  start_date: string | null;
  end_date: string | null;
}

/** A task instance as the REST API gives it (the fields used here). */
export interface AirflowTaskInstance {
  task_id: string;
  state: string | null;
  try_number: number;
  queued_when: string | null;
  start_date: string | null;
  end_date: string | null;
  duration: number | null;
}

/** A TCP socket a component listens on. */
export interface Listener {
  pid: number;
  command: string;
  address: string;
  port: number;
}

/** The running components (see the module comment). */
export interface AirflowCluster {
  readonly home: string;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly env: NodeJS.ProcessEnv;
  /** A REST call (`/api/v2/...`); throws on a status other than 2xx, with the body. */
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** Waits until the DAG processor has put `dagId` in the database; throws on its import error. */
  waitForDag(dagId: string): Promise<void>;
  unpause(dagId: string): Promise<void>;
  /** A manual run (`POST .../dagRuns`); its run id. */
  trigger(dagId: string, options?: { logicalDate?: string; conf?: object }): Promise<AirflowDagRun>;
  /** Polls the run until it is `success` or `failed` (a hang guard, no time budget). */
  waitForRun(dagId: string, runId: string, guardMs?: number): Promise<AirflowDagRun>;
  /** The run's task instances, in order of start. */
  taskInstances(dagId: string, runId: string): Promise<AirflowTaskInstance[]>;
  /** A task's return value (XCom `return_value`). */
  xcom(dagId: string, runId: string, taskId: string): Promise<unknown>;
  /** The JSON lines of a try's log file (`logs/dag_id=.../attempt=N.log`). */
  taskLog(
    dagId: string,
    runId: string,
    taskId: string,
    tryNumber?: number,
  ): { timestamp: string; event: string }[];
  /** The TCP sockets the components' processes (their process groups) listen on. */
  listeners(): Listener[];
  /** The last lines of each component's output (for a failure's message). */
  tail(lines?: number): string;
  /** Stops every component (SIGTERM to its process group, SIGKILL after a guard) and waits for them. */
  stop(): Promise<void>;
}

interface Component {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<void>;
  done: boolean;
}

/**
 * Migrates the database of `home` (which holds `dags/` and `plugins/`) and starts the components. `parallelism`:
 * LocalExecutor's worker processes (Airflow's default is 32; a chain runs one task at a time).
 */
export async function startAirflow(
  home: string,
  options: { parallelism?: number } = {},
): Promise<AirflowCluster> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = airflowHomeEnv(home, {
    AIRFLOW__CORE__EXECUTOR: "LocalExecutor",
    AIRFLOW__CORE__PARALLELISM: String(options.parallelism ?? 4),
    AIRFLOW__API__HOST: "127.0.0.1",
    AIRFLOW__API__PORT: String(port),
    // Where the UI, the CLI and the task workers reach the API server when its port is not 8080.
    AIRFLOW__API__BASE_URL: url,
    AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `${url}/execution/`,
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS: "True",
    // Shared by the API server (signs) and the workers (present): one per cluster, 64 bytes as RFC 7518 asks.
    AIRFLOW__API_AUTH__JWT_SECRET: randomBytes(64).toString("hex"),
    AIRFLOW__API__SECRET_KEY: randomBytes(32).toString("hex"),
    AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK: "False",
  });
  await run(AIRFLOW, ["db", "migrate"], { env, timeout: AIRFLOW_GUARD_MS, maxBuffer: 64 << 20 });

  const components: Component[] = [];
  const start = (name: string, args: string[]) => {
    const log = join(home, `${name}.out`);
    const fd = openSync(log, "w");
    // Its own process group (detached): stop() signals the component and every process it started.
    const child = spawn(AIRFLOW, args, { env, cwd: home, detached: true, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    const c: Component = {
      name,
      child,
      log,
      done: false,
      exited: new Promise((r) => {
        child.once("exit", () => {
          c.done = true;
          r();
        });
        child.once("error", () => {
          c.done = true;
          r();
        });
      }),
    };
    components.push(c);
  };

  const tail = (lines = 30) =>
    components
      .map((c) => {
        const text = existsSync(c.log) ? readFileSync(c.log, "utf8").trimEnd().split("\n") : [];
        return `--- ${c.name} (${c.done ? `exited ${c.child.exitCode ?? c.child.signalCode}` : "running"})\n${text.slice(-lines).join("\n")}`;
      })
      .join("\n");

  const stop = async () => {
    await Promise.all(
      components.map(async (c) => {
        const pid = c.child.pid;
        if (pid === undefined) return;
        if (!c.done) signalGroup(pid, "SIGTERM");
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([c.exited, new Promise((r) => (timer = setTimeout(r, 60_000)))]);
        clearTimeout(timer);
        // Whatever is left of the group (a worker that outlived its scheduler): killed.
        signalGroup(pid, "SIGKILL");
        await c.exited;
      }),
    );
  };

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`Airflow ${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };

  /** Calls `fn` until it returns a value, failing when a component exits or after the guard. */
  const poll = async <T>(what: string, fn: () => Promise<T | undefined>, guardMs = AIRFLOW_GUARD_MS) => {
    const deadline = Date.now() + guardMs;
    for (;;) {
      const dead = components.find((c) => c.done);
      if (dead) throw new Error(`Airflow's ${dead.name} exited while waiting for ${what}\n${tail()}`);
      // A failed call (the API server not up yet) is tried again; a Fatal error ends the wait.
      const value = await fn().catch((error: unknown) => {
        if (error instanceof Fatal) throw error;
        return undefined;
      });
      if (value !== undefined) return value;
      if (Date.now() > deadline)
        throw new Error(`timed out after ${guardMs} ms waiting for ${what}\n${tail()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  try {
    start("api-server", ["api-server", "--host", "127.0.0.1", "--port", String(port), "--workers", "1"]);
    start("scheduler", ["scheduler", "--skip-serve-logs"]);
    start("dag-processor", ["dag-processor"]);
    type Health = Record<string, { status: string | null }>;
    await poll("the API server, the scheduler and the DAG processor to be healthy", async () => {
      const h = await api<Health>("GET", "/api/v2/monitor/health");
      const ok = ["metadatabase", "scheduler", "dag_processor"].every((k) => h[k]?.status === "healthy");
      return ok ? true : undefined;
    });
  } catch (error) {
    await stop();
    throw error;
  }

  const encode = encodeURIComponent;
  const cluster: AirflowCluster = {
    home,
    url,
    env,
    api,
    async waitForDag(dagId) {
      await poll(`the DAG ${dagId} to be parsed`, async () => {
        const errors = await api<{ import_errors: { filename: string; stack_trace: string }[] }>(
          "GET",
          "/api/v2/importErrors",
        );
        if (errors.import_errors.length > 0)
          throw new Fatal(
            `Airflow could not import the DAG files: ${JSON.stringify(errors.import_errors, null, 1)}`,
          );
        await api("GET", `/api/v2/dags/${encode(dagId)}`);
        return true;
      });
    },
    async unpause(dagId) {
      await api("PATCH", `/api/v2/dags/${encode(dagId)}`, { is_paused: false });
    },
    trigger(dagId, { logicalDate, conf } = {}) {
      return api<AirflowDagRun>("POST", `/api/v2/dags/${encode(dagId)}/dagRuns`, {
        logical_date: logicalDate ?? null,
        conf: conf ?? {},
      });
    },
    waitForRun(dagId, runId, guardMs = AIRFLOW_GUARD_MS) {
      return poll(
        `the run ${runId} of ${dagId} to end`,
        async () => {
          const r = await api<AirflowDagRun>("GET", `/api/v2/dags/${encode(dagId)}/dagRuns/${encode(runId)}`);
          return r.state === "success" || r.state === "failed" ? r : undefined;
        },
        guardMs,
      );
    },
    async taskInstances(dagId, runId) {
      const { task_instances } = await api<{ task_instances: AirflowTaskInstance[] }>(
        "GET",
        `/api/v2/dags/${encode(dagId)}/dagRuns/${encode(runId)}/taskInstances?limit=1000`,
      );
      return task_instances.sort((a, b) => (a.start_date ?? "").localeCompare(b.start_date ?? ""));
    },
    async xcom(dagId, runId, taskId) {
      const entry = await api<{ value: unknown }>(
        "GET",
        `/api/v2/dags/${encode(dagId)}/dagRuns/${encode(runId)}/taskInstances/${encode(taskId)}/xcomEntries/return_value`,
      );
      return entry.value;
    },
    taskLog(dagId, runId, taskId, tryNumber = 1) {
      const file = join(
        home,
        "logs",
        `dag_id=${dagId}`,
        `run_id=${runId}`,
        `task_id=${taskId}`,
        `attempt=${tryNumber}.log`,
      );
      return readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { timestamp: string; event: string });
    },
    listeners() {
      const groups = new Set(components.map((c) => c.child.pid).filter((p) => p !== undefined));
      return tcpListeners((pgid) => groups.has(pgid));
    },
    tail,
    stop,
  };
  return cluster;
}

/** An error that ends a poll at once (any other failed call is tried again). */
class Fatal extends Error {}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

/** `/proc/net/tcp` addresses: little-endian hex words; IPv4 `0100007F:1F90` is 127.0.0.1:8080. */
function procAddress(hex: string, v6: boolean): { address: string; port: number } {
  const [ip = "", port = "0"] = hex.split(":");
  const words = (ip.match(/.{8}/g) ?? []).map((w) => (w.match(/../g) ?? []).reverse().join(""));
  const bytes = (words.join("").match(/../g) ?? []).map((b) => Number.parseInt(b, 16));
  const address = v6
    ? Array.from({ length: 8 }, (_, i) =>
        (((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0)).toString(16),
      ).join(":")
    : bytes.join(".");
  return { address, port: Number.parseInt(port, 16) };
}

/** Whether a listening address is loopback only (127.0.0.0/8, ::1, or IPv4-mapped 127.x). */
export function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === "0:0:0:0:0:0:0:1" || /^0:0:0:0:0:ffff:7f/.test(address);
}

/** The TCP sockets in LISTEN state held by processes whose process group `inGroup` accepts (from /proc). */
export function tcpListeners(inGroup: (pgid: number) => boolean): Listener[] {
  const owners = new Map<string, { pid: number; command: string }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so read after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (!inGroup(Number(fields[2]))) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const link = (() => {
          try {
            return readlinkSync(`/proc/${pid}/fd/${fd}`);
          } catch {
            return "";
          }
        })();
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
        if (inode) owners.set(inode, { pid, command });
      }
    } catch {
      // the process ended meanwhile
    }
  }
  const out: Listener[] = [];
  for (const [file, v6] of [
    ["/proc/net/tcp", false],
    ["/proc/net/tcp6", true],
  ] as const) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, "utf8").trim().split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      if (cols[3] !== "0A") continue; // LISTEN
      const owner = owners.get(cols[9] ?? "");
      if (owner) out.push({ ...owner, ...procAddress(cols[1] ?? "", v6) });
    }
  }
  return out;
}
