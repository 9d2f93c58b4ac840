/**
 * The web server: sign-in, the pages (shells drawn by the page scripts from the API), the REST API, the
 * OpenAPI document and the static files, behind one authentication gate.
 *
 * The gate (an `onRequest` hook) lets through only the sign-in page and the static files; every other page
 * redirects to the sign-in page and every other API route answers 401 without a signed-in user. A state
 * change (any method but GET and HEAD) made with a session must carry the session's CSRF token. Responses
 * carry a strict Content-Security-Policy (scripts from this server only, no inline script), `nosniff`, no
 * framing by other sites, and no referrer to other origins. See `auth.ts` for passwords, sessions, CSRF and
 * throttling.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { join } from "node:path";
import cookie from "@fastify/cookie";
import formbody from "@fastify/formbody";
import swagger from "@fastify/swagger";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { WindflowConfig } from "../config.js";
import { WindflowError } from "../errors.js";
import { windflowVersion } from "../model/metadata.js";
import { DagInactiveError } from "../orchestration/scheduler/trigger.js";
import { DuplicateRunError, RecordNotFoundError } from "../orchestration/store/errors.js";
import { openStore } from "../orchestration/store/index.js";
import type { MetadataStore, UserRole } from "../orchestration/store/store.js";
import { ForbiddenError, registerApi } from "./api.js";
import {
  authenticate,
  DEFAULT_USER,
  defaultPasswordInUse,
  LoginThrottle,
  passwordVersion,
  type Session,
  SessionStore,
  sameSecret,
} from "./auth.js";
import { NotFoundError } from "./files.js";
import { escapeHtml, html, type Raw, shell } from "./html.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The signed-in user (a session or HTTP Basic), set by the gate. */
    user?: { username: string; role: UserRole };
    /** The session, when the user came with its cookie. */
    session?: Session;
  }
}

export const SESSION_COOKIE = "windflow_session";
const LOGIN_COOKIE = "windflow_login";

/** Options of `buildApp`. */
export interface AppOptions {
  config: WindflowConfig;
  /** @default openStore(config), closed with the app */
  store?: MetadataStore;
  /** The clock of runs, sessions and the sign-in throttle. @default () => new Date() */
  now?: () => Date;
  /** Log each request (Fastify's logger, JSON lines on stdout). @default false */
  logRequests?: boolean;
  /** Failed sign-ins allowed before the delays start. @default 3 */
  freeLoginAttempts?: number;
}

/** Where the built page scripts and styles are (`make build` writes them). */
export function staticDir(config: Pick<WindflowConfig, "root">): string {
  return join(config.root, "dist", "server", "static");
}

/** The static files, by URL name: a fixed list, so no request path reaches the file system. */
function staticFiles(config: WindflowConfig): Record<string, { path: string; type: string }> {
  const dir = staticDir(config);
  return {
    "app.js": { path: join(dir, "app.js"), type: "text/javascript; charset=utf-8" },
    "app.js.map": { path: join(dir, "app.js.map"), type: "application/json; charset=utf-8" },
    "app.css": { path: join(dir, "app.css"), type: "text/css; charset=utf-8" },
    "plotly.min.js": {
      path: require.resolve("plotly.js-dist-min/plotly.min.js"),
      type: "text/javascript; charset=utf-8",
    },
  };
}

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // plotly.js sets styles on its elements and injects a stylesheet.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "base-uri 'none'",
  "object-src 'none'",
].join("; ");

const isApi = (url: string) => url.startsWith("/api/");
const pathOf = (url: string) => url.split("?")[0] as string;

/** A local path under `base` to go back to after signing in (never another site, never the sign-in page). */
function safeNext(next: unknown, base: string): string {
  return typeof next === "string" &&
    /^\/(?!\/)[^\\]*$/.test(next) &&
    next.startsWith(`${base}/`) &&
    !next.startsWith(`${base}/login`)
    ? next
    : `${base}/`;
}

const ROUTES = new WeakMap<FastifyInstance, readonly { method: string; url: string }[]>();

/** Every route of an app made by `buildApp` (method and URL pattern): what the security tests walk. */
export function routesOf(app: FastifyInstance): readonly { method: string; url: string }[] {
  return ROUTES.get(app) ?? [];
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const store = options.store ?? openStore(config);
  const ownsStore = options.store === undefined;
  const now = options.now ?? (() => new Date());
  const clock = () => now().getTime();
  const sessions = new SessionStore(undefined, clock);
  const throttle = new LoginThrottle({ freeAttempts: options.freeLoginAttempts ?? 3 }, clock);
  const files = staticFiles(config);
  /** The path the UI lives under (`[webserver] base_url`): "" at the root, "/windflow" behind JupyterLab. */
  const base = config.webserver.base_url;
  const cookiePath = base || "/";

  const app = Fastify({
    logger: options.logRequests ? { level: "info" } : false,
    trustProxy: false,
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", allErrors: false } },
  });
  const routes: { method: string; url: string }[] = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat())
      if (method !== "HEAD") routes.push({ method, url: route.url });
  });
  ROUTES.set(app, routes);
  await app.register(cookie);
  await app.register(formbody);
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "windflow REST API",
        version: windflowVersion(),
        description:
          "What the windflow web UI uses; usable from notebooks and scripts. Authenticate with HTTP Basic " +
          "(`-u user:password`), or with the session cookie of a signed-in browser plus its CSRF token in the " +
          "`X-CSRF-Token` header for every change.",
      },
      components: {
        securitySchemes: {
          basic: { type: "http", scheme: "basic" },
          session: { type: "apiKey", in: "cookie", name: SESSION_COOKIE },
        },
      },
      security: [{ basic: [] }, { session: [] }],
    },
    hideUntagged: true,
  });
  if (ownsStore) app.addHook("onClose", async () => store.close());

  // --- security headers, on everything --------------------------------------------------------------------
  app.addHook("onSend", async (_request, reply, payload) => {
    reply.header("Content-Security-Policy", CSP);
    reply.header("X-Content-Type-Options", "nosniff");
    reply.header("X-Frame-Options", "SAMEORIGIN");
    reply.header("Referrer-Policy", "same-origin");
    if (!reply.hasHeader("Cache-Control")) reply.header("Cache-Control", "no-store");
    return payload;
  });

  // --- the gate -------------------------------------------------------------------------------------------
  app.addHook("onRequest", async (request, reply) => {
    const full = pathOf(request.url);
    if (base && full !== base && !full.startsWith(`${base}/`)) return; // not the UI's: the 404 handler answers
    const path = full.slice(base.length) || "/";
    if (path === "/login" || path.startsWith("/static/")) return;
    let session = sessions.get(request.cookies[SESSION_COOKIE]);
    // The account as it is now: deleted, or its password changed since (the CLI, another session): signed out.
    const account = session ? store.getUser(session.username) : undefined;
    if (session && (!account || passwordVersion(account) !== session.passwordVersion)) {
      sessions.delete(request.cookies[SESSION_COOKIE]);
      session = undefined;
    }
    if (session && account) {
      request.session = session;
      request.user = { username: session.username, role: account.role };
      if (request.method !== "GET" && request.method !== "HEAD") {
        const body = request.body as Record<string, unknown> | undefined;
        const sent =
          (request.headers["x-csrf-token"] as string | undefined) ?? (body?._csrf as string | undefined);
        // Form posts (sign out) carry the token in the body, which is not parsed yet: checked in preHandler.
        if (
          sent === undefined &&
          request.headers["content-type"]?.startsWith("application/x-www-form-urlencoded")
        )
          return;
        if (!sameSecret(sent, session.csrfToken)) return refuseCsrf(reply);
      }
      return;
    }
    if (isApi(path) && request.headers.authorization?.startsWith("Basic ")) {
      const decoded = Buffer.from(request.headers.authorization.slice(6), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      const username = colon < 0 ? decoded : decoded.slice(0, colon);
      const password = colon < 0 ? "" : decoded.slice(colon + 1);
      const keys = [`user:${username}`, `ip:${request.ip}`];
      const wait = throttle.waitMs(keys);
      if (wait > 0) return tooMany(reply, wait, true);
      const user = await authenticate(store, username, password);
      if (!user) {
        throttle.fail(keys);
        return reply.code(401).header("WWW-Authenticate", 'Basic realm="windflow API"').send({
          error: "wrong username or password",
          hint: "check the credentials (`windflow users create` makes an account)",
        });
      }
      throttle.succeed(keys[0] as string);
      request.user = { username: user.username, role: user.role };
      return;
    }
    if (isApi(path))
      return reply.code(401).send({
        error: "sign in first",
        hint: "sign in on /login in a browser, or send HTTP Basic credentials (curl -u user:password)",
      });
    return reply.redirect(`${base}/login?next=${encodeURIComponent(request.url)}`, 303);
  });

  // The CSRF token of a form post (sign out) is in the parsed body.
  app.addHook("preHandler", async (request, reply) => {
    const session = request.session;
    if (!session || request.method === "GET" || request.method === "HEAD") return;
    if (request.headers["x-csrf-token"] !== undefined) return; // checked in onRequest
    const body = request.body as Record<string, unknown> | undefined;
    if (!sameSecret(body?._csrf as string | undefined, session.csrfToken)) return refuseCsrf(reply);
  });

  function refuseCsrf(reply: FastifyReply) {
    return reply.code(403).send({
      error: "missing or wrong CSRF token",
      hint: "reload the page; scripts send the token of /api/v1/me's page (meta csrf-token) as X-CSRF-Token",
    });
  }

  function tooMany(reply: FastifyReply, waitMs: number, api: boolean) {
    const seconds = Math.ceil(waitMs / 1000);
    reply.code(429).header("Retry-After", String(seconds));
    const message = `too many failed sign-ins: try again in ${seconds} s`;
    if (api) return reply.send({ error: message, hint: "wait, then check the username and password" });
    return reply.type("text/html; charset=utf-8").send(loginPage({ error: message, next: `${base}/` }));
  }

  // --- errors ---------------------------------------------------------------------------------------------
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const e = error as FastifyError & { hint?: string };
    let code = 500;
    if (e.validation) code = 400;
    else if (error instanceof NotFoundError || error instanceof RecordNotFoundError) code = 404;
    else if (error instanceof ForbiddenError) code = 403;
    else if (error instanceof DuplicateRunError || error instanceof DagInactiveError) code = 409;
    else if (error instanceof WindflowError) code = 400;
    else if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500)
      code = e.statusCode;
    if (code === 500) request.log.error(error);
    const message = code === 500 ? `internal error: ${error.message}` : error.message;
    if (isApi(pathOf(request.url).slice(base.length)) || request.headers.accept?.includes("application/json"))
      return reply.code(code).send({ error: message, ...(e.hint ? { hint: e.hint } : {}) });
    return reply
      .code(code)
      .type("text/html; charset=utf-8")
      .send(
        shell({
          base,
          title: "Error",
          page: "error",
          body: html`<section class="error"><h1>${code}</h1><p>${message}</p>${e.hint ? html`<p class="hint">${e.hint}</p>` : ""}<p><a href="${base}/">Back to the DAGs</a></p></section>`,
        }),
      );
  });
  app.setNotFoundHandler((request, reply) => {
    if (isApi(pathOf(request.url).slice(base.length)))
      return reply.code(404).send({
        error: `no route ${request.method} ${pathOf(request.url)}`,
        hint: "see /api/v1/openapi.json",
      });
    return reply
      .code(404)
      .type("text/html; charset=utf-8")
      .send(
        shell({
          title: "Not found",
          page: "error",
          body: html`<section class="error"><h1>404</h1><p>No page ${pathOf(request.url)}.</p><p><a href="${base}/">Back to the DAGs</a></p></section>`,
        }),
      );
  });

  // --- sign-in --------------------------------------------------------------------------------------------
  function loginPage(o: { error?: string; next: string; token?: string }): string {
    return shell({
      base,
      title: "Sign in",
      page: "login",
      body: html`<section class="login">
  <h1>Sign in to windflow</h1>
  ${o.error ? html`<p class="error" role="alert">${o.error}</p>` : ""}
  <form method="post" action="${base}/login">
    <input type="hidden" name="_login" value="${o.token ?? ""}">
    <input type="hidden" name="next" value="${o.next}">
    <label>Username <input name="username" autocomplete="username" required autofocus></label>
    <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
    <button type="submit">Sign in</button>
  </form>
  ${
    defaultPasswordInUse(store)
      ? html`<p class="hint" id="first-account">First time? Sign in as <b>${DEFAULT_USER.username}</b> with the password <b>${DEFAULT_USER.password}</b> (the course's account), then change the password on the Account page.</p>`
      : html`<p class="hint">No account? Ask your trainer, or run <code>windflow users create NAME</code> in a terminal.</p>`
  }
</section>`,
    });
  }

  /** A fresh double-submit token for the sign-in form, in a cookie and in the form. */
  function loginForm(reply: FastifyReply, o: { error?: string; next: string }, code = 200) {
    const token = randomBytes(24).toString("base64url");
    reply.setCookie(LOGIN_COOKIE, token, { path: `${base}/login`, httpOnly: true, sameSite: "strict" });
    return reply
      .code(code)
      .type("text/html; charset=utf-8")
      .send(loginPage({ ...o, token }));
  }

  // Every route under the base path.
  const root = app;
  await root.register(
    async (app) => {
      app.get<{ Querystring: { next?: string } }>("/login", async (request, reply) => {
        if (sessions.get(request.cookies[SESSION_COOKIE]))
          return reply.redirect(safeNext(request.query.next, base), 303);
        return loginForm(reply, { next: safeNext(request.query.next, base) });
      });

      app.post<{ Body: Record<string, string | undefined> }>("/login", async (request, reply) => {
        const body = request.body ?? {};
        const next = safeNext(body.next, base);
        if (!sameSecret(body._login, request.cookies[LOGIN_COOKIE]))
          return loginForm(reply, { error: "the sign-in form expired: try again", next }, 403);
        const username = String(body.username ?? "").slice(0, 256);
        const password = String(body.password ?? "").slice(0, 1024);
        const keys = [`user:${username}`, `ip:${request.ip}`];
        const wait = throttle.waitMs(keys);
        if (wait > 0) return tooMany(reply, wait, false);
        const user = await authenticate(store, username, password);
        if (!user) {
          throttle.fail(keys);
          request.log.warn(`failed sign-in for ${JSON.stringify(username)} from ${request.ip}`);
          return loginForm(reply, { error: "wrong username or password", next }, 401);
        }
        throttle.succeed(keys[0] as string);
        const { id } = sessions.create(user);
        reply.clearCookie(LOGIN_COOKIE, { path: `${base}/login` });
        reply.setCookie(SESSION_COOKIE, id, { path: cookiePath, httpOnly: true, sameSite: "lax" });
        return reply.redirect(next, 303);
      });

      app.post("/logout", async (request, reply) => {
        sessions.delete(request.cookies[SESSION_COOKIE]);
        reply.clearCookie(SESSION_COOKIE, { path: cookiePath });
        return reply.redirect(`${base}/login`, 303);
      });

      // --- static files ---------------------------------------------------------------------------------------
      app.get<{ Params: { name: string } }>("/static/:name", async (request, reply) => {
        const file = Object.hasOwn(files, request.params.name) ? files[request.params.name] : undefined;
        if (!file) return reply.code(404).type("text/plain").send("no such file");
        if (!existsSync(file.path))
          return reply
            .code(500)
            .type("text/plain")
            .send(`${request.params.name} is not built: run \`make build\` (it bundles the page scripts)`);
        reply.header("Cache-Control", "private, max-age=300");
        return reply.type(file.type).send(createReadStream(file.path));
      });

      // --- pages ----------------------------------------------------------------------------------------------
      function banners(): Raw[] {
        const out: Raw[] = [];
        if (defaultPasswordInUse(store))
          out.push(
            html`<p class="banner warn" id="default-password-banner">The account <b>${DEFAULT_USER.username}</b> still has its default password: anyone who knows the course can sign in. <a href="${base}/account">Change it</a>, or run <code>windflow users set-password ${DEFAULT_USER.username}</code>.</p>`,
          );
        return out;
      }
      const page = (
        request: FastifyRequest,
        o: { title: string; page: string; data?: Record<string, string>; plotly?: boolean },
      ) => {
        const s = request.session;
        return shell({
          ...o,
          base,
          banners: banners(),
          ...(s ? { user: { username: s.username, role: s.role, csrfToken: s.csrfToken } } : {}),
        });
      };
      const send = (reply: FastifyReply, text: string) => reply.type("text/html; charset=utf-8").send(text);

      app.get("/", async (request, reply) => send(reply, page(request, { title: "DAGs", page: "dags" })));
      app.get<{ Params: { dagId: string } }>("/dags/:dagId", async (request, reply) => {
        if (!store.getDag(request.params.dagId)?.isActive)
          throw new NotFoundError(`no DAG ${request.params.dagId}`, { hint: "the DAG list shows the DAGs" });
        return send(
          reply,
          page(request, {
            title: request.params.dagId,
            page: "dag",
            data: { "dag-id": request.params.dagId },
            plotly: true,
          }),
        );
      });
      app.get<{ Params: { dagId: string; runId: string; taskId: string }; Querystring: { try?: string } }>(
        "/dags/:dagId/runs/:runId/tasks/:taskId/logs",
        async (request, reply) => {
          const { dagId, runId, taskId } = request.params;
          if (!store.getTaskInstance({ dagId, runId, taskId }))
            throw new NotFoundError(`no task instance ${dagId}/${runId}/${taskId}`);
          return send(
            reply,
            page(request, {
              title: `${taskId} log`,
              page: "log",
              data: {
                "dag-id": dagId,
                "run-id": runId,
                "task-id": taskId,
                try: String(request.query.try ?? ""),
              },
            }),
          );
        },
      );
      app.get("/predictions", async (request, reply) =>
        send(reply, page(request, { title: "Predictions", page: "predictions", plotly: true })),
      );
      app.get("/models", async (request, reply) =>
        send(reply, page(request, { title: "Models", page: "models" })),
      );
      app.get("/account", async (request, reply) =>
        send(reply, page(request, { title: "Account", page: "account" })),
      );

      // --- the API and its description --------------------------------------------------------------------
      await registerApi(app, { config, store, sessions, now, sessionCookie: SESSION_COOKIE });
      app.get("/api/v1/openapi.json", async () => root.swagger());
    },
    { prefix: base },
  );

  return app;
}

export { escapeHtml };
