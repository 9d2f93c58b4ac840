/**
 * A web server for tests: a temporary home (tests/helpers/scheduler-env.ts) with fixture DAGs recorded in its
 * store, the default user admin/admin and a viewer, the real web server on 127.0.0.1 and a free port, and an
 * HTTP client that keeps cookies and signs in through the sign-in form as a browser does.
 */
import assert from "node:assert/strict";
import { syncDagFolder } from "../../src/orchestration/scheduler/dag-processor.js";
import { ensureDefaultUser, hashPassword } from "../../src/server/auth.js";
import { type Served, serveWebserver } from "../../src/server/main.js";
import { type SchedulerEnv, schedulerEnv } from "./scheduler-env.js";

export interface WebEnv {
  readonly env: SchedulerEnv;
  /**
   * The web server's clock (sessions, the sign-in throttle, runs): `freeze` stops it, `advance` moves it on
   * instead of waiting, `release` lets it run again with the time moved kept.
   */
  readonly clock: { freeze(): void; advance(ms: number): void; release(): void };
  readonly url: string;
  readonly served: Served;
  client(): WebClient;
  /** A client signed in as `username`. */
  signedIn(username?: string, password?: string): Promise<WebClient>;
  close(): Promise<void>;
}

export async function webEnv(
  options: { dags?: string[]; settings?: Record<string, string>; viewer?: boolean } = {},
): Promise<WebEnv> {
  const env = schedulerEnv(options.settings ?? {});
  for (const f of options.dags ?? []) env.install(f);
  if ((options.dags ?? []).length > 0) {
    const summary = await syncDagFolder(env.config, env.store);
    assert.deepEqual(summary.errors, []);
  }
  await ensureDefaultUser(env.store);
  if (options.viewer) {
    const hash = await hashPassword("viewer-password");
    env.store.createUser({ username: "vera", passwordHash: hash, role: "viewer" });
    env.store.setUserPassword("vera", hash);
  }
  let offsetMs = 0;
  let frozenAt: number | undefined;
  const served = await serveWebserver({
    config: env.config,
    port: 0,
    host: "127.0.0.1",
    say: () => {},
    now: () => new Date(frozenAt ?? Date.now() + offsetMs),
  });
  const self: WebEnv = {
    env,
    clock: {
      freeze() {
        frozenAt = Date.now() + offsetMs;
      },
      advance(ms) {
        if (frozenAt === undefined) offsetMs += ms;
        else frozenAt += ms;
      },
      release() {
        if (frozenAt !== undefined) offsetMs = frozenAt - Date.now();
        frozenAt = undefined;
      },
    },
    url: served.url,
    served,
    client: () => new WebClient(served.url),
    async signedIn(username = "admin", password = "admin") {
      const c = new WebClient(served.url);
      const r = await c.signIn(username, password);
      assert.equal(r.status, 303, `sign-in of ${username}: ${r.status} ${await r.text()}`);
      return c;
    },
    async close() {
      await served.stop();
      env.cleanup();
    },
  };
  return self;
}

/** An HTTP client with a cookie jar (cookies of this one server), redirects not followed. */
export class WebClient {
  readonly cookies = new Map<string, string>();
  csrf = "";

  constructor(readonly base: string) {}

  async request(
    method: string,
    path: string,
    options: { json?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    let body: string | undefined;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(options.form).toString();
    }
    const response = await fetch(this.base + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      redirect: "manual",
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = (pair as string).indexOf("=");
      const name = (pair as string).slice(0, eq);
      const value = (pair as string).slice(eq + 1);
      if (value === "" || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.request("GET", path, { headers });
  }

  /** A JSON call with the session's CSRF token. */
  api(method: string, path: string, json?: unknown): Promise<Response> {
    return this.request(method, `/api/v1${path}`, {
      ...(json === undefined ? {} : { json }),
      headers: { "x-csrf-token": this.csrf },
    });
  }

  /** Signs in through the form (its double-submit token), then reads the CSRF token of the pages. */
  async signIn(username: string, password: string): Promise<Response> {
    const page = await (await this.get("/login")).text();
    const token = /name="_login" value="([^"]+)"/.exec(page)?.[1] ?? "";
    const response = await this.request("POST", "/login", {
      form: { _login: token, username, password, next: "/" },
    });
    if (response.status === 303) {
      const home = await (await this.get("/")).text();
      this.csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(home)?.[1] ?? "";
    }
    return response;
  }
}
