/**
 * The REST API (`/api/v1/...`): what the pages use, and what notebooks and scripts can call (with a session
 * cookie and its CSRF token, or HTTP Basic authentication). Every route declares its parameters and body as
 * JSON Schema: Fastify validates requests against them (a bad request is a 400 naming the field) and
 * `@fastify/swagger` turns them into the OpenAPI document served at `/api/v1/openapi.json`.
 */
import { existsSync, readFileSync } from "node:fs";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { WindflowConfig } from "../config.js";
import { WindflowError } from "../errors.js";
import { LOG_CHUNK_BYTES, readLogChunk, readLogTail } from "../orchestration/executor/log-reader.js";
import { taskLogPath } from "../orchestration/executor/task-log.js";
import { TASK_ACTIONS, type TaskAction, taskAction } from "../orchestration/scheduler/actions.js";
import {
  runsOnUnpause,
  setDagPaused,
  triggerDag,
  wakeScheduler,
} from "../orchestration/scheduler/trigger.js";
import type { RunState } from "../orchestration/state.js";
import { RecordNotFoundError } from "../orchestration/store/errors.js";
import type { DagRecord, MetadataStore } from "../orchestration/store/store.js";
import type { JsonObject } from "../orchestration/types.js";
import { layoutDag } from "../view/graph.js";
import {
  CAN_EDIT,
  checkNewPassword,
  defaultPasswordInUse,
  hashPassword,
  type SessionStore,
  type SignInGate,
} from "./auth.js";
import { listModelsJson, listPredictions, NotFoundError, readPredictions } from "./files.js";
import {
  dagJson,
  gridJson,
  runJson,
  schedulerStatus,
  taskInstanceJson,
  triggerPreview,
  tryFinished,
  tryJson,
  waitJson,
} from "./views.js";

/** What the API routes need. */
export interface ApiContext {
  config: WindflowConfig;
  store: MetadataStore;
  sessions: SessionStore;
  now: () => Date;
  /** The cookie holding the session id. */
  sessionCookie: string;
  /** The sign-in gate: the current password of a password change is checked through it (its throttle). */
  gate: SignInGate;
}

/** A user's request for something they may not do (a viewer pausing a DAG): 403. */
export class ForbiddenError extends WindflowError {
  readonly retryable = false;
  /** Why, for the page scripts to say it in the user's language (sent as `reason`). */
  readonly reason: "read_only" | "wrong_password" | undefined;
  constructor(
    message: string,
    options: {
      hint?: string;
      reason?: "read_only" | "wrong_password";
    } = {},
  ) {
    super(message, options.hint === undefined ? {} : { hint: options.hint });
    this.reason = options.reason;
  }
}

const ID = { type: "string", minLength: 1, maxLength: 250 } as const;
const dagParams = { type: "object", required: ["dagId"], properties: { dagId: ID } } as const;
const runParams = {
  type: "object",
  required: ["dagId", "runId"],
  properties: { dagId: ID, runId: ID },
} as const;
const taskParams = {
  type: "object",
  required: ["dagId", "runId", "taskId"],
  properties: { dagId: ID, runId: ID, taskId: ID },
} as const;

/** The DAG, or a 404 naming it. */
function dagOf(store: MetadataStore, dagId: string): DagRecord {
  const dag = store.getDag(dagId);
  if (!dag?.isActive)
    throw new NotFoundError(`no DAG ${JSON.stringify(dagId)}`, { hint: "GET /api/v1/dags lists the DAGs" });
  return dag;
}

/** Refuses a state change to a viewer. */
function mayEdit(request: FastifyRequest): void {
  const user = request.user;
  if (!user || !CAN_EDIT.has(user.role))
    throw new ForbiddenError(`user ${user?.username ?? "?"} (${user?.role ?? "no role"}) may only read`, {
      hint: "ask an admin for the user, op or admin role (`windflow users create --role user`)",
      reason: "read_only",
    });
}

export async function registerApi(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { store, config } = ctx;
  const root = config.root;
  const predictionsFolder = config.webserver.predictions_folder;
  const modelsFolder = config.webserver.models_folder;
  const staleMs = config.scheduler.scheduler_health_check_threshold;

  app.get(
    "/api/v1/health",
    { schema: { tags: ["status"], summary: "Whether a scheduler is running; the store's schema" } },
    async () => ({
      scheduler: schedulerStatus(store.listSchedulerJobs(1, "home"), ctx.now(), staleMs),
      store: { kind: store.kind, schemaVersion: store.schemaVersion },
      defaultPasswordInUse: defaultPasswordInUse(store),
    }),
  );

  app.get("/api/v1/me", { schema: { tags: ["users"], summary: "The signed-in user" } }, async (request) => ({
    username: request.user?.username,
    role: request.user?.role,
    canEdit: request.user ? CAN_EDIT.has(request.user.role) : false,
  }));

  app.post<{ Body: { currentPassword: string; newPassword: string } }>(
    "/api/v1/me/password",
    {
      schema: {
        tags: ["users"],
        summary: "Change the signed-in user's password (other sessions of the user end)",
        body: {
          type: "object",
          required: ["currentPassword", "newPassword"],
          additionalProperties: false,
          properties: {
            currentPassword: { type: "string", maxLength: 1024 },
            newPassword: { type: "string", maxLength: 1024 },
          },
        },
      },
    },
    async (request, reply) => {
      const username = request.user?.username as string;
      // Through the sign-in gate: a stolen session cannot guess the current password faster than a sign-in can.
      const checked = await ctx.gate.check(username, request.body.currentPassword, request.ip);
      if (checked.outcome === "throttled") {
        const seconds = Math.ceil(checked.waitMs / 1000);
        return reply
          .code(429)
          .header("Retry-After", String(seconds))
          .send({
            error: `too many wrong passwords: try again in ${seconds} s`,
            hint: "wait, then type your current password",
            reason: "throttled",
          });
      }
      if (checked.outcome === "wrong")
        throw new ForbiddenError("the current password is not right", {
          hint: "type your current password",
          reason: "wrong_password",
        });
      checkNewPassword(username, request.body.newPassword);
      const at = ctx.now();
      store.setUserPassword(username, await hashPassword(request.body.newPassword), at);
      // This session goes on; the user's other sessions end.
      ctx.sessions.deleteUser(username, request.cookies[ctx.sessionCookie]);
      if (request.session) request.session.passwordVersion = at.getTime();
      return { changed: true };
    },
  );

  app.get(
    "/api/v1/dags",
    { schema: { tags: ["dags"], summary: "Every active DAG with its last run, next run and paused flag" } },
    async () => ({ dags: store.listDags().map((d) => dagJson(store, d, root)) }),
  );

  app.get(
    "/api/v1/importErrors",
    { schema: { tags: ["dags"], summary: "DAG files that fail to load, with their errors" } },
    async () => ({
      importErrors: store.listImportErrors().map((e) => ({
        file: e.file.startsWith(root) ? e.file.slice(root.length + 1) : e.file,
        message: e.message,
        at: e.at.toISOString(),
      })),
    }),
  );

  app.get<{ Params: { dagId: string } }>(
    "/api/v1/dags/:dagId",
    { schema: { tags: ["dags"], summary: "One DAG", params: dagParams } },
    async (request) => dagJson(store, dagOf(store, request.params.dagId), root),
  );

  app.patch<{ Params: { dagId: string }; Body: { isPaused: boolean } }>(
    "/api/v1/dags/:dagId",
    {
      schema: {
        tags: ["dags"],
        summary: "Pause (OFF) or unpause (ON) a DAG",
        params: dagParams,
        body: {
          type: "object",
          required: ["isPaused"],
          additionalProperties: false,
          properties: { isPaused: { type: "boolean" } },
        },
      },
    },
    async (request) => {
      mayEdit(request);
      const dag = dagOf(store, request.params.dagId);
      const changed = setDagPaused(store, dag.dagId, request.body.isPaused);
      if (changed && !request.body.isPaused) wakeScheduler(config.home);
      request.log.info(
        `DAG ${dag.dagId} ${request.body.isPaused ? "paused" : "unpaused"} by ${request.user?.username}`,
      );
      // What ON does now, in words the UI shows (Airflow creates the same run, and says nothing).
      const onUnpause = request.body.isPaused ? null : runsOnUnpause(store, dag, ctx.now());
      return {
        ...dagJson(store, dagOf(store, dag.dagId), root),
        ...(onUnpause
          ? {
              createsNow: onUnpause.first
                ? {
                    start: onUnpause.first.start.toISOString(),
                    end: onUnpause.first.end.toISOString(),
                    more: onUnpause.more,
                  }
                : null,
            }
          : {}),
      };
    },
  );

  app.get<{ Params: { dagId: string } }>(
    "/api/v1/dags/:dagId/source",
    { schema: { tags: ["dags"], summary: "The DAG file's source", params: dagParams } },
    async (request) => {
      const dag = dagOf(store, request.params.dagId);
      if (!existsSync(dag.fileloc)) throw new NotFoundError(`the file of DAG ${dag.dagId} is gone`);
      return {
        file: dag.fileloc.startsWith(root) ? dag.fileloc.slice(root.length + 1) : dag.fileloc,
        source: readFileSync(dag.fileloc, "utf8"),
      };
    },
  );

  app.get<{ Params: { dagId: string } }>(
    "/api/v1/dags/:dagId/graph",
    { schema: { tags: ["dags"], summary: "The DAG's tasks and dependencies, laid out", params: dagParams } },
    async (request) => layoutDag(dagOf(store, request.params.dagId).spec),
  );

  app.get<{ Params: { dagId: string }; Querystring: { limit?: number } }>(
    "/api/v1/dags/:dagId/grid",
    {
      schema: {
        tags: ["runs"],
        summary: "The latest runs x the DAG's tasks, with each task instance's state",
        params: dagParams,
        querystring: {
          type: "object",
          properties: { limit: { type: "integer", minimum: 1, maximum: 500, default: 25 } },
        },
      },
    },
    async (request) =>
      gridJson(store, dagOf(store, request.params.dagId), request.query.limit ?? 25, ctx.now()),
  );

  app.get<{ Params: { dagId: string }; Querystring: { logicalDate?: string } }>(
    "/api/v1/dags/:dagId/triggerPreview",
    {
      schema: {
        tags: ["runs"],
        summary: "What a trigger now (or for logicalDate) would create: run id, logical date, stamp, files",
        params: dagParams,
        querystring: { type: "object", properties: { logicalDate: { type: "string", maxLength: 64 } } },
      },
    },
    async (request) =>
      triggerPreview(dagOf(store, request.params.dagId), {
        at: ctx.now(),
        store,
        ...(request.query.logicalDate ? { logicalDate: request.query.logicalDate } : {}),
      }),
  );

  app.post<{ Params: { dagId: string }; Body: { conf?: JsonObject; logicalDate?: string } | undefined }>(
    "/api/v1/dags/:dagId/runs",
    {
      schema: {
        tags: ["runs"],
        summary: "Trigger a manual run (conf overrides the DAG's params)",
        params: dagParams,
        body: {
          type: ["object", "null"],
          additionalProperties: false,
          properties: {
            conf: { type: "object", additionalProperties: true },
            logicalDate: { type: "string", maxLength: 64 },
          },
        },
      },
    },
    async (request, reply) => {
      mayEdit(request);
      const dag = dagOf(store, request.params.dagId);
      const body = request.body ?? {};
      const result = triggerDag(store, dag.dagId, {
        ...(body.conf ? { conf: body.conf } : {}),
        ...(body.logicalDate ? { logicalDate: body.logicalDate } : {}),
        now: ctx.now(),
      });
      wakeScheduler(config.home);
      request.log.info(`DAG ${dag.dagId} triggered by ${request.user?.username}: ${result.run.runId}`);
      reply.code(201);
      return {
        ...runJson(result.run, dag.spec.outputs),
        paused: result.paused,
        waitsFor: result.waitsFor.map(waitJson),
        maxActiveRuns: result.maxActiveRuns,
      };
    },
  );

  app.get<{ Params: { dagId: string }; Querystring: { limit?: number; state?: RunState } }>(
    "/api/v1/dags/:dagId/runs",
    {
      schema: {
        tags: ["runs"],
        summary: "A DAG's runs, newest logical date first",
        params: dagParams,
        querystring: {
          type: "object",
          properties: {
            limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
            state: { type: "string", enum: ["queued", "running", "success", "failed"] },
          },
        },
      },
    },
    async (request) => {
      const dag = dagOf(store, request.params.dagId);
      return {
        runs: store
          .listRuns({
            dagId: dag.dagId,
            limit: request.query.limit ?? 100,
            ...(request.query.state ? { states: [request.query.state] } : {}),
          })
          .map((r) => runJson(r, dag.spec.outputs)),
      };
    },
  );

  app.get<{ Params: { dagId: string; runId: string } }>(
    "/api/v1/dags/:dagId/runs/:runId",
    { schema: { tags: ["runs"], summary: "A run with its task instances", params: runParams } },
    async (request) => {
      const dag = dagOf(store, request.params.dagId);
      const run = store.getRun(request.params);
      if (!run) throw new RecordNotFoundError("run", `${dag.dagId}/${request.params.runId}`);
      return {
        ...runJson(run, dag.spec.outputs),
        taskInstances: store.listTaskInstances(request.params).map(taskInstanceJson),
      };
    },
  );

  app.get<{ Params: { dagId: string; runId: string; taskId: string } }>(
    "/api/v1/dags/:dagId/runs/:runId/taskInstances/:taskId/tries",
    { schema: { tags: ["runs"], summary: "The tries of a task instance", params: taskParams } },
    async (request) => {
      const ti = store.getTaskInstance(request.params);
      if (!ti) throw new RecordNotFoundError("task instance", Object.values(request.params).join("/"));
      return { taskInstance: taskInstanceJson(ti), tries: store.listTries(request.params).map(tryJson) };
    },
  );

  app.post<{
    Params: { dagId: string; runId: string; taskId: string };
    Body: { action: TaskAction; downstream?: boolean };
  }>(
    "/api/v1/dags/:dagId/runs/:runId/taskInstances/:taskId/actions",
    {
      schema: {
        tags: ["runs"],
        summary:
          "An action by hand on a task instance: clear (it and, unless downstream is false, its downstream tasks " +
          "run again), success / failed (mark it), stop (a queued or running try ends failed; its process is " +
          "killed by the scheduler). 409 if the action does not apply to its state.",
        params: taskParams,
        body: {
          type: "object",
          required: ["action"],
          additionalProperties: false,
          properties: {
            action: { type: "string", enum: [...TASK_ACTIONS] },
            downstream: { type: "boolean", default: true },
          },
        },
      },
    },
    async (request) => {
      mayEdit(request);
      dagOf(store, request.params.dagId);
      const by = request.user?.username ?? "?";
      const { action, downstream } = request.body;
      const result = taskAction(store, request.params, action, { by, downstream: downstream !== false });
      wakeScheduler(config.home);
      request.log.info(
        `task ${Object.values(request.params).join("/")}: ${action} by ${by} (${result.changed.map((c) => c.taskId).join(", ")})`,
      );
      const ti = store.getTaskInstance(request.params);
      return { ...result, taskInstance: ti ? taskInstanceJson(ti) : null };
    },
  );

  app.get<{
    Params: { dagId: string; runId: string; taskId: string; tryNumber: number };
    Querystring: { offset?: number; tail?: number; end?: number };
  }>(
    "/api/v1/dags/:dagId/runs/:runId/taskInstances/:taskId/logs/:tryNumber",
    {
      schema: {
        tags: ["runs"],
        summary:
          "A try's log from byte `offset` on (ask again from nextOffset while not finished); with `tail`, its last `tail` bytes before `end` (default: its size), from a line start (`start`)",
        params: {
          type: "object",
          required: ["dagId", "runId", "taskId", "tryNumber"],
          properties: { ...taskParams.properties, tryNumber: { type: "integer", minimum: 1, maximum: 1000 } },
        },
        querystring: {
          type: "object",
          properties: {
            offset: { type: "integer", minimum: 0, default: 0 },
            tail: { type: "integer", minimum: 1, maximum: LOG_CHUNK_BYTES },
            end: { type: "integer", minimum: 0 },
          },
        },
      },
    },
    async (request) => {
      const { tryNumber, ...key } = request.params;
      // The ids are checked against the store first: only a task instance that exists has a log path.
      const ti = store.getTaskInstance(key);
      if (!ti) throw new RecordNotFoundError("task instance", Object.values(key).join("/"));
      if (tryNumber > Math.max(ti.tryNumber, 1))
        throw new NotFoundError(`task ${ti.taskId} has had ${ti.tryNumber} tries, not ${tryNumber}`);
      const offset = request.query.offset ?? 0;
      const path = taskLogPath(config.logging.base_log_folder, key, tryNumber);
      const { tail, end } = request.query;
      const chunk =
        tail === undefined
          ? readLogChunk(path, offset, end === undefined ? {} : { end })
          : readLogTail(path, tail, end === undefined ? {} : { end });
      return {
        tryNumber,
        content: chunk.content,
        offset: chunk.start,
        start: chunk.start,
        nextOffset: chunk.nextOffset,
        size: chunk.size,
        finished: tryFinished(ti, tryNumber),
        exists: chunk.exists,
      };
    },
  );

  app.get(
    "/api/v1/predictions",
    { schema: { tags: ["files"], summary: "The dated prediction CSVs, newest first" } },
    async () => ({ predictions: listPredictions(predictionsFolder) }),
  );

  app.get<{ Params: { name: string } }>(
    "/api/v1/predictions/:name",
    {
      schema: {
        tags: ["files"],
        summary: "The rows of one prediction CSV (or latest.csv)",
        params: {
          type: "object",
          required: ["name"],
          properties: { name: { type: "string", maxLength: 64 } },
        },
      },
    },
    async (request) => readPredictions(predictionsFolder, request.params.name),
  );

  app.get(
    "/api/v1/models",
    {
      schema: {
        tags: ["files"],
        summary: "The trained models, newest first, with their test and validation metrics",
      },
    },
    async () => ({ models: listModelsJson(modelsFolder) }),
  );
}
