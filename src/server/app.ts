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
import { TaskActionError } from "../orchestration/scheduler/actions.js";
import { DagInactiveError } from "../orchestration/scheduler/trigger.js";
import { DuplicateRunError, RecordNotFoundError } from "../orchestration/store/errors.js";
import { openStore } from "../orchestration/store/index.js";
import type { MetadataStore, UserRole } from "../orchestration/store/store.js";
import { ForbiddenError, registerApi } from "./api.js";
import {
  DEFAULT_USER,
  defaultPasswordInUse,
  LoginThrottle,
  passwordVersion,
  type Session,
  SessionStore,
  SignInGate,
  sameSecret,
} from "./auth.js";
import { NotFoundError } from "./files.js";
import { escapeHtml, html, htmlMessage, type Raw, type ShellOptions, shell } from "./html.js";
import {
  isLang,
  LANG_COOKIE,
  type Lang,
  requestLang,
  splitUrl,
  type Translator,
  translator,
  withoutLang,
} from "./i18n.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The signed-in user (a session or HTTP Basic), set by the gate. */
    user?: { username: string; role: UserRole };
    /** The session, when the user came with its cookie. */
    session?: Session;
  }
}

/** The language of a request's pages: its `windflow_lang` cookie, else its Accept-Language (i18n.ts). */
export function langOf(request: FastifyRequest): Lang {
  return requestLang(request.cookies[LANG_COOKIE], request.headers["accept-language"]);
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
/** A year: how long the language switch's choice is remembered. */
const LANG_COOKIE_SECONDS = 365 * 24 * 3600;

/**
 * A local path under `base` to go back to after signing in (never another site, never the sign-in page). `next` is
 * read as the browser will read the Location header (WHATWG URL: tabs and newlines dropped, `\\` taken for `/`),
 * so `/\t/host` or `/\\host` cannot become `//host`; what is kept is the parsed path, query and fragment,
 * percent-encoded (header-safe: no character makes the redirect fail).
 */
export function safeNext(next: unknown, base: string): string {
  const home = `${base}/`;
  if (typeof next !== "string" || !next.startsWith("/") || next.length > 2048) return home;
  const origin = "http://windflow.invalid";
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return home;
  }
  if (url.origin !== origin) return home;
  const path = `${url.pathname}${url.search}${url.hash}`;
  return path.startsWith(home) && !path.startsWith(`${base}/login`) ? path : home;
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
  const gate = new SignInGate(
    store,
    new LoginThrottle({ freeAttempts: options.freeLoginAttempts ?? 3 }, clock),
    {},
    clock,
  );
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
    // The language switch (`?lang=fr` on any page, signed in or not): remembered in a cookie, then the same page.
    if (request.method === "GET" && !isApi(path) && splitUrl(request.url)[1].has("lang")) {
      const lang = splitUrl(request.url)[1].get("lang");
      if (isLang(lang))
        reply.setCookie(LANG_COOKIE, lang, {
          path: cookiePath,
          httpOnly: true,
          sameSite: "lax",
          maxAge: LANG_COOKIE_SECONDS,
        });
      return reply.redirect(withoutLang(request.url, `${base}/`), 303);
    }
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
      const checked = await gate.check(username, password, request.ip, true);
      if (checked.outcome === "throttled") return tooMany(reply, checked.waitMs, true);
      if (checked.outcome === "wrong")
        return reply.code(401).header("WWW-Authenticate", 'Basic realm="windflow API"').send({
          error: "wrong username or password",
          hint: "check the credentials (`windflow users create` makes an account)",
        });
      const user = checked.user;
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
      reason: "csrf",
      hint: "reload the page; scripts send the token of /api/v1/me's page (meta csrf-token) as X-CSRF-Token",
    });
  }

  function tooMany(reply: FastifyReply, waitMs: number, api: boolean) {
    const seconds = Math.ceil(waitMs / 1000);
    reply.code(429).header("Retry-After", String(seconds));
    if (api)
      return reply.send({
        error: `too many failed sign-ins: try again in ${seconds} s`,
        hint: "wait, then check the username and password",
      });
    const tr = translator(langOf(reply.request));
    return sendHtml(
      reply,
      tr,
      loginPage(tr, { error: tr.t("login.tooMany", { seconds }), next: `${base}/` }),
    );
  }

  /** An HTML page in the language `tr`. */
  function sendHtml(reply: FastifyReply, tr: Translator, text: string) {
    return reply.type("text/html; charset=utf-8").header("Content-Language", tr.lang).send(text);
  }

  /** A page shell in the language of `request`, coming back to it from the language switch. */
  function shellFor(request: FastifyRequest, tr: Translator, o: Omit<ShellOptions, "lang" | "url" | "base">) {
    return shell({ ...o, base, lang: tr.lang, url: request.url });
  }

  // --- errors ---------------------------------------------------------------------------------------------
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const e = error as FastifyError & { hint?: string };
    let code = 500;
    if (e.validation) code = 400;
    else if (error instanceof NotFoundError || error instanceof RecordNotFoundError) code = 404;
    else if (error instanceof ForbiddenError) code = 403;
    else if (
      error instanceof DuplicateRunError ||
      error instanceof DagInactiveError ||
      error instanceof TaskActionError
    )
      code = 409;
    else if (error instanceof WindflowError) code = 400;
    else if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500)
      code = e.statusCode;
    if (code === 500) request.log.error(error);
    const reason = error instanceof ForbiddenError ? error.reason : undefined;
    if (
      isApi(pathOf(request.url).slice(base.length)) ||
      request.headers.accept?.includes("application/json")
    ) {
      const message = code === 500 ? `internal error: ${error.message}` : error.message;
      return reply
        .code(code)
        .send({ error: message, ...(e.hint ? { hint: e.hint } : {}), ...(reason ? { reason } : {}) });
    }
    // The page: its frame in the user's language; the error's own message as the server wrote it.
    const tr = translator(langOf(request));
    const message = code === 500 ? tr.t("error.internal", { message: error.message }) : error.message;
    return sendHtml(
      reply.code(code),
      tr,
      shellFor(request, tr, {
        title: tr.t(code === 404 ? "error.notFound" : "error.title"),
        page: "error",
        body: html`<section class="error"><h1>${code}</h1><p>${message}</p>${e.hint ? html`<p class="hint">${e.hint}</p>` : ""}<p><a href="${base}/">${tr.t("error.back")}</a></p></section>`,
      }),
    );
  });
  app.setNotFoundHandler((request, reply) => {
    if (isApi(pathOf(request.url).slice(base.length)))
      return reply.code(404).send({
        error: `no route ${request.method} ${pathOf(request.url)}`,
        hint: "see /api/v1/openapi.json",
      });
    const tr = translator(langOf(request));
    return sendHtml(
      reply.code(404),
      tr,
      shellFor(request, tr, {
        title: tr.t("error.notFound"),
        page: "error",
        body: html`<section class="error"><h1>404</h1><p>${tr.t("error.noPage", { path: pathOf(request.url) })}</p><p><a href="${base}/">${tr.t("error.back")}</a></p></section>`,
      }),
    );
  });

  // --- sign-in --------------------------------------------------------------------------------------------
  function loginPage(tr: Translator, o: { error?: string; next: string; token?: string }): string {
    const { t } = tr;
    return shell({
      base,
      lang: tr.lang,
      // The language switch comes back to the sign-in page with the same `next`.
      url: `${base}/login?next=${encodeURIComponent(o.next)}`,
      title: t("login.title"),
      page: "login",
      body: html`<section class="login">
  <h1>${t("login.heading")}</h1>
  ${o.error ? html`<p class="error" role="alert">${o.error}</p>` : ""}
  <form method="post" action="${base}/login">
    <input type="hidden" name="_login" value="${o.token ?? ""}">
    <input type="hidden" name="next" value="${o.next}">
    <label>${t("login.username")} <input name="username" autocomplete="username" required autofocus></label>
    <label>${t("login.password")} <input name="password" type="password" autocomplete="current-password" required></label>
    <button type="submit">${t("login.submit")}</button>
  </form>
  ${
    defaultPasswordInUse(store)
      ? html`<p class="hint" id="first-account">${htmlMessage(tr, "login.firstAccount", {
          user: html`<b>${DEFAULT_USER.username}</b>`,
          password: html`<b>${DEFAULT_USER.password}</b>`,
        })}</p>`
      : html`<p class="hint">${htmlMessage(tr, "login.noAccount", { command: html`<code>windflow users create NAME</code>` })}</p>`
  }
</section>`,
    });
  }

  /** A fresh double-submit token for the sign-in form, in a cookie and in the form. */
  function loginForm(
    request: FastifyRequest,
    reply: FastifyReply,
    o: { error?: (tr: Translator) => string; next: string },
    code = 200,
  ) {
    const token = randomBytes(24).toString("base64url");
    const tr = translator(langOf(request));
    reply.setCookie(LOGIN_COOKIE, token, { path: `${base}/login`, httpOnly: true, sameSite: "strict" });
    return sendHtml(
      reply.code(code),
      tr,
      loginPage(tr, { next: o.next, token, ...(o.error ? { error: o.error(tr) } : {}) }),
    );
  }

  // Every route under the base path.
  const root = app;
  await root.register(
    async (app) => {
      app.get<{ Querystring: { next?: string } }>("/login", async (request, reply) => {
        if (sessions.get(request.cookies[SESSION_COOKIE]))
          return reply.redirect(safeNext(request.query.next, base), 303);
        return loginForm(request, reply, { next: safeNext(request.query.next, base) });
      });

      app.post<{ Body: Record<string, string | undefined> }>("/login", async (request, reply) => {
        const body = request.body ?? {};
        const next = safeNext(body.next, base);
        if (!sameSecret(body._login, request.cookies[LOGIN_COOKIE]))
          return loginForm(request, reply, { error: (tr) => tr.t("login.expired"), next }, 403);
        const username = String(body.username ?? "").slice(0, 256);
        const password = String(body.password ?? "").slice(0, 1024);
        const checked = await gate.check(username, password, request.ip);
        if (checked.outcome === "throttled") return tooMany(reply, checked.waitMs, false);
        if (checked.outcome === "wrong") {
          request.log.warn(`failed sign-in for ${JSON.stringify(username)} from ${request.ip}`);
          return loginForm(request, reply, { error: (tr) => tr.t("login.wrong"), next }, 401);
        }
        const { id } = sessions.create(checked.user);
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
      function banners(tr: Translator): Raw[] {
        const out: Raw[] = [];
        if (defaultPasswordInUse(store))
          out.push(
            html`<p class="banner warn" id="default-password-banner">${htmlMessage(
              tr,
              "banner.defaultPassword",
              {
                user: html`<b>${DEFAULT_USER.username}</b>`,
                change: html`<a href="${base}/account">${tr.t("banner.changeIt")}</a>`,
                command: html`<code>windflow users set-password ${DEFAULT_USER.username}</code>`,
              },
            )}</p>`,
          );
        return out;
      }
      /** A page shell for the signed-in user, in the request's language; `title` names it in that language. */
      const page = (
        request: FastifyRequest,
        reply: FastifyReply,
        o: {
          title: (tr: Translator) => string;
          page: string;
          data?: Record<string, string>;
          plotly?: boolean;
        },
      ) => {
        const s = request.session;
        const tr = translator(langOf(request));
        return sendHtml(
          reply,
          tr,
          shellFor(request, tr, {
            ...o,
            title: o.title(tr),
            banners: banners(tr),
            ...(s ? { user: { username: s.username, role: s.role, csrfToken: s.csrfToken } } : {}),
          }),
        );
      };

      app.get("/", async (request, reply) =>
        page(request, reply, { title: (tr) => tr.t("nav.dags"), page: "dags" }),
      );
      app.get<{ Params: { dagId: string } }>("/dags/:dagId", async (request, reply) => {
        if (!store.getDag(request.params.dagId)?.isActive)
          throw new NotFoundError(`no DAG ${request.params.dagId}`, { hint: "the DAG list shows the DAGs" });
        return page(request, reply, {
          title: () => request.params.dagId,
          page: "dag",
          data: { "dag-id": request.params.dagId },
          plotly: true,
        });
      });
      app.get<{ Params: { dagId: string; runId: string; taskId: string }; Querystring: { try?: string } }>(
        "/dags/:dagId/runs/:runId/tasks/:taskId/logs",
        async (request, reply) => {
          const { dagId, runId, taskId } = request.params;
          if (!store.getTaskInstance({ dagId, runId, taskId }))
            throw new NotFoundError(`no task instance ${dagId}/${runId}/${taskId}`);
          return page(request, reply, {
            title: (tr) => tr.t("log.title", { taskId }),
            page: "log",
            data: {
              "dag-id": dagId,
              "run-id": runId,
              "task-id": taskId,
              try: String(request.query.try ?? ""),
            },
          });
        },
      );
      app.get("/predictions", async (request, reply) =>
        page(request, reply, { title: (tr) => tr.t("nav.predictions"), page: "predictions", plotly: true }),
      );
      app.get("/models", async (request, reply) =>
        page(request, reply, { title: (tr) => tr.t("nav.models"), page: "models" }),
      );
      app.get("/account", async (request, reply) =>
        page(request, reply, { title: (tr) => tr.t("nav.account"), page: "account" }),
      );

      // --- the API and its description --------------------------------------------------------------------
      await registerApi(app, { config, store, sessions, now, sessionCookie: SESSION_COOKIE, gate });
      app.get("/api/v1/openapi.json", async () => root.swagger());
    },
    { prefix: base },
  );

  return app;
}

export { escapeHtml };
