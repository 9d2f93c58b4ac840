/**
 * `windflow webserver` and `windflow standalone` as functions.
 *
 * - `webserver`: the web UI and the REST API on `[webserver] host:port` (127.0.0.1:8080 by default: only this
 *   machine; `--host 0.0.0.0` to share it, e.g. on a training server). It reads the store; it works, and says
 *   so, while no scheduler runs.
 * - `standalone`: what a trainee starts (`make ui`): the database brought up to date, the default user
 *   `admin`/`admin` created if there is no user yet, a scheduler and the web server in one process, the URL
 *   and the credentials printed. The scheduler still runs no task code: task processes do.
 *
 * SIGINT / SIGTERM stop both gracefully (running task processes go on and record their own end).
 */
import { hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import type { WindflowConfig } from "../config.js";
import { WindflowError } from "../errors.js";
import { isProcessAlive } from "../orchestration/executor/local.js";
import { schedulerAlive } from "../orchestration/scheduler/decide.js";
import { createLogger, type LogLevel } from "../orchestration/scheduler/log.js";
import { Scheduler } from "../orchestration/scheduler/scheduler.js";
import { openStore } from "../orchestration/store/index.js";
import type { SchedulerJobRecord } from "../orchestration/store/store.js";
import { buildApp } from "./app.js";
import { DEFAULT_USER, defaultPasswordInUse, ensureDefaultUser } from "./auth.js";

export interface ServeOptions {
  config: WindflowConfig;
  /** @default `[webserver] host` */
  host?: string;
  /** @default `[webserver] port`; 0 picks a free port */
  port?: number;
  /** Where to say things. @default stderr */
  say?: (line: string) => void;
  /** Log each request. @default false */
  logRequests?: boolean;
  /** The web server's clock (tests move it instead of waiting). @default () => new Date() */
  now?: () => Date;
}

/** A running web server (and scheduler, for standalone). */
export interface Served {
  readonly url: string;
  readonly app: FastifyInstance;
  stop(reason?: string): Promise<void>;
  /** Resolves once stopped. */
  readonly stopped: Promise<void>;
}

async function listen(app: FastifyInstance, host: string, port: number): Promise<string> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE")
      throw new WindflowError(`port ${port} on ${host} is in use`, {
        hint: "stop what uses it, or choose another port: --port 8081 (or WINDFLOW__WEBSERVER__PORT)",
      });
    if (e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND")
      throw new WindflowError(`cannot listen on ${host}: not an address of this machine`, {
        hint: "use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)",
      });
    throw error;
  }
  const address = app.server.address();
  const actual = typeof address === "object" && address ? address.port : port;
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `http://${shown}:${actual}`;
}

/** Starts the web server; resolves once it listens. */
export async function serveWebserver(options: ServeOptions): Promise<Served> {
  const { config } = options;
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const app = await buildApp({
    config,
    logRequests: options.logRequests ?? false,
    ...(options.now ? { now: options.now } : {}),
  });
  const host = options.host ?? config.webserver.host;
  const url = await listen(app, host, options.port ?? config.webserver.port);
  say(
    `web server on ${url} (${host === "127.0.0.1" || host === "localhost" ? "this machine only" : `listening on ${host}`})`,
  );
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    resolveStopped = r;
  });
  return {
    url,
    app,
    stopped,
    async stop() {
      await app.close();
      resolveStopped();
    },
  };
}

/** `windflow standalone`: database, default user, scheduler and web server (see the module comment). */
export async function serveStandalone(options: ServeOptions): Promise<Served> {
  const { config } = options;
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const store = openStore(config);
  let created: boolean;
  let live: SchedulerJobRecord | undefined;
  try {
    created = await ensureDefaultUser(store);
    live = liveScheduler(store.listSchedulerJobs(5), new Date(), config);
  } finally {
    store.close();
  }
  const web = await serveWebserver({ ...options, say });
  // One scheduler per home: a second one would start the same runs' tasks too. When one already runs (`make ui`
  // in a terminal, the launcher's tile, a `windflow scheduler`), this UI joins it and says so.
  const scheduler = live
    ? undefined
    : new Scheduler({
        config,
        log: createLogger(config.logging.logging_level as LogLevel, (line) => say(`scheduler: ${line}`)),
      });
  const running = scheduler ? scheduler.run({ mode: "forever" }) : Promise.resolve();
  const check = openStore(config);
  const defaultInUse = defaultPasswordInUse(check);
  check.close();
  say("");
  say(`windflow is running: open ${web.url}`);
  if (live)
    say(
      `  the scheduler of this home already runs (pid ${live.pid} on ${live.hostname}, since ${live.startedAt.toISOString()}): ` +
        "this web server uses it and starts none",
    );
  if (created)
    say(
      `  sign in as ${DEFAULT_USER.username} / ${DEFAULT_USER.password} (created now; change it on the Account page)`,
    );
  else if (defaultInUse)
    say(
      `  sign in as ${DEFAULT_USER.username} / ${DEFAULT_USER.password} (the default password: change it on the Account page)`,
    );
  else say("  sign in with your account (`windflow users create` makes one)");
  say("  new DAGs are OFF (paused): turn one ON in the DAG list, or press Trigger");
  say("  Ctrl+C stops the web server and the scheduler");
  say("");
  let stopping: Promise<void> | undefined;
  const stopped = scheduler ? running.then(() => web.stopped) : web.stopped;
  return {
    url: web.url,
    app: web.app,
    stopped,
    stop(reason = "asked to stop") {
      stopping ??= (async () => {
        scheduler?.stop(reason);
        await running;
        await web.stop();
      })();
      return stopping;
    },
  };
}

/**
 * The scheduler of this home that is alive now, if any (`schedulerAlive`: a heartbeat within `[scheduler]
 * scheduler_health_check_threshold`, not stopped, its process there when on this host). Schedulers of one run
 * (`dags trigger --wait`, a notebook's `runInEngine`) do not count: they end with their run.
 */
export function liveScheduler(
  jobs: readonly SchedulerJobRecord[],
  now: Date,
  config: Pick<WindflowConfig, "scheduler">,
): SchedulerJobRecord | undefined {
  return jobs.find(
    (j) =>
      j.kind === "home" &&
      schedulerAlive(j, now, config.scheduler.scheduler_health_check_threshold, hostname(), isProcessAlive),
  );
}

/** Runs `serve` until SIGINT / SIGTERM; returns the exit code. */
export async function serveUntilSignal(serve: () => Promise<Served>): Promise<number> {
  const served = await serve();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) process.exit(130);
    void served.stop(`received ${signal}`);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await served.stopped;
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
