/**
 * Adversarial, classes "bad HTTP" (headers, bodies, parameters, encodings), "guessing" over HTTP and "task logs"
 * through the API: one real web server on 127.0.0.1 for all of them (tests/helpers/web-env.ts). Every bad
 * request gets a 4xx with a message, never a 500 nor a stack trace; parallel guesses are throttled as a
 * sequence; a classroom behind one address is not locked out by one trainee; a long log is read from its tail.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { after, before, describe, test } from "node:test";
import { taskLogPath } from "../../src/orchestration/executor/task-log.js";
import { setDagPaused, triggerDag } from "../../src/orchestration/scheduler/trigger.js";
import { hashPassword } from "../../src/server/auth.js";
import { type WebEnv, webEnv } from "../helpers/web-env.js";

let web: WebEnv;
let runId = "";
const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});
const ADMIN = basic("admin", "admin");

before(async () => {
  web = await webEnv({ dags: ["web-xss.ts"] });
  setDagPaused(web.env.store, "web_xss", false);
  runId = triggerDag(web.env.store, "web_xss").run.runId;
});
after(() => web.close());

/** A raw request (no client niceties): status, body text. */
async function raw(
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{ status: number; text: string }> {
  const r = await fetch(web.url + path, {
    method,
    headers: init.headers ?? {},
    ...(init.body === undefined
      ? {}
      : { body: typeof init.body === "string" ? init.body : new Uint8Array(init.body) }),
    redirect: "manual",
  });
  return { status: r.status, text: await r.text() };
}

const deep = (n: number) => `{"conf":${'{"a":'.repeat(n)}1${"}".repeat(n)}}`;
const json = { "content-type": "application/json" };
const STACK = /at [\w.<>]+ \(.*:\d+:\d+\)|node:internal/;

/** Bad requests, each with the status range it must get (never 5xx) and what the answer must say. */
const BAD: readonly {
  name: string;
  method: string;
  path: string | (() => string);
  headers?: Record<string, string>;
  body?: string | Buffer;
  status: number | [number, number];
  says?: RegExp;
}[] = [
  {
    name: "a conf nested 10,000 levels",
    method: "POST",
    path: "/api/v1/dags/web_xss/runs",
    headers: { ...ADMIN, ...json },
    body: deep(10_000),
    status: 400,
    says: /nested more than 64 levels/,
  },
  {
    name: "a conf nested 100 levels",
    method: "POST",
    path: "/api/v1/dags/web_xss/runs",
    headers: { ...ADMIN, ...json },
    body: deep(100),
    status: 400,
    says: /nested/,
  },
  {
    name: "a body that is not JSON",
    method: "POST",
    path: "/api/v1/dags/web_xss/runs",
    headers: { ...ADMIN, ...json },
    body: "{conf:",
    status: 400,
  },
  {
    name: "a JSON array body",
    method: "POST",
    path: "/api/v1/dags/web_xss/runs",
    headers: { ...ADMIN, ...json },
    body: "[]",
    status: 400,
  },
  {
    name: "a conf that is a string",
    method: "POST",
    path: "/api/v1/dags/web_xss/runs",
    headers: { ...ADMIN, ...json },
    body: '{"conf":"x"}',
    status: 400,
  },
  {
    name: "a logical date that is no date",
    method: "POST",
    path: "/api/v1/dags/web_xss/runs",
    headers: { ...ADMIN, ...json },
    body: '{"logicalDate":"yesterday"}',
    status: 400,
  },
  {
    name: "a body of 2 MB",
    method: "POST",
    path: "/api/v1/dags/web_xss/runs",
    headers: { ...ADMIN, ...json },
    body: `{"conf":{"a":"${"x".repeat(2 * 1024 * 1024)}"}}`,
    status: 413,
  },
  {
    name: "a text/plain body",
    method: "POST",
    path: "/api/v1/dags/web_xss/runs",
    headers: { ...ADMIN, "content-type": "text/plain" },
    body: "hello",
    status: [400, 415],
  },
  {
    name: "a body in UTF-16",
    method: "POST",
    path: "/api/v1/dags/web_xss/runs",
    headers: { ...ADMIN, ...json },
    body: Buffer.from('{"conf":{}}', "utf16le"),
    status: 400,
  },
  {
    name: "isPaused as a string",
    method: "PATCH",
    path: "/api/v1/dags/web_xss",
    headers: { ...ADMIN, ...json },
    body: '{"isPaused":"yes"}',
    status: 400,
  },
  { name: "an unknown DAG", method: "GET", path: "/api/v1/dags/nope", headers: ADMIN, status: 404 },
  {
    name: "a NUL in a DAG id",
    method: "GET",
    path: "/api/v1/dags/a%00b",
    headers: ADMIN,
    status: [400, 404],
  },
  {
    name: "a 10,000-character DAG id",
    method: "GET",
    path: `/api/v1/dags/${"d".repeat(10_000)}`,
    headers: ADMIN,
    status: [400, 414],
  },
  {
    name: "a broken percent-encoding",
    method: "GET",
    path: "/api/v1/dags/%E0%A4%A",
    headers: ADMIN,
    status: [400, 404],
  },
  {
    name: "an overlong UTF-8 slash",
    method: "GET",
    path: "/api/v1/dags/%C0%AF",
    headers: ADMIN,
    status: [400, 404],
  },
  {
    name: "a log offset that is text",
    method: "GET",
    path: () => `/api/v1/dags/web_xss/runs/${runId}/taskInstances/shout/logs/1?offset=abc`,
    headers: ADMIN,
    status: 400,
  },
  {
    name: "a negative log offset",
    method: "GET",
    path: () => `/api/v1/dags/web_xss/runs/${runId}/taskInstances/shout/logs/1?offset=-5`,
    headers: ADMIN,
    status: 400,
  },
  {
    name: "a log tail past the chunk size",
    method: "GET",
    path: () => `/api/v1/dags/web_xss/runs/${runId}/taskInstances/shout/logs/1?tail=999999999`,
    headers: ADMIN,
    status: 400,
  },
  {
    name: "try 0",
    method: "GET",
    path: () => `/api/v1/dags/web_xss/runs/${runId}/taskInstances/shout/logs/0`,
    headers: ADMIN,
    status: 400,
  },
  {
    name: "try 99999",
    method: "GET",
    path: () => `/api/v1/dags/web_xss/runs/${runId}/taskInstances/shout/logs/99999`,
    headers: ADMIN,
    status: 400,
  },
  {
    name: "Basic with bad base64",
    method: "GET",
    path: "/api/v1/me",
    headers: { authorization: "Basic !!!***" },
    status: 401,
  },
  {
    name: "Basic with nothing",
    method: "GET",
    path: "/api/v1/me",
    headers: { authorization: "Basic " },
    status: 401,
  },
  {
    name: "Basic without a colon",
    method: "GET",
    path: "/api/v1/me",
    headers: { authorization: `Basic ${Buffer.from("admin").toString("base64")}` },
    status: 401,
  },
  {
    name: "a Bearer token",
    method: "GET",
    path: "/api/v1/me",
    headers: { authorization: "Bearer abc" },
    status: 401,
    says: /sign in first/,
  },
  {
    name: "a forged session cookie",
    method: "GET",
    path: "/api/v1/me",
    headers: { cookie: "windflow_session=forged" },
    status: 401,
  },
  {
    name: "a malformed cookie header",
    method: "GET",
    path: "/api/v1/me",
    headers: { cookie: "=;;;==;windflow_session" },
    status: 401,
  },
  {
    name: "a 20 kB cookie",
    method: "GET",
    path: "/api/v1/me",
    headers: { cookie: `x=${"c".repeat(20_000)}` },
    status: 431,
  },
  {
    name: "a sign-in without its form token",
    method: "POST",
    path: "/login",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "username=admin&password=admin",
    status: 403,
  },
  {
    name: "a sign-in posted as JSON",
    method: "POST",
    path: "/login",
    headers: json,
    body: '{"username":"admin","password":"admin"}',
    status: 403,
  },
  { name: "OPTIONS", method: "OPTIONS", path: "/api/v1/dags", headers: ADMIN, status: [404, 405] },
  {
    name: "an unknown method on a route",
    method: "PUT",
    path: "/api/v1/dags",
    headers: ADMIN,
    status: [404, 405],
  },
  {
    name: "a prediction name with a path",
    method: "GET",
    path: "/api/v1/predictions/..%2F..%2Fwindflow.db",
    headers: ADMIN,
    status: [400, 404],
  },
  {
    name: "a prediction name of 10,000 characters",
    method: "GET",
    path: `/api/v1/predictions/${"p".repeat(10_000)}.csv`,
    headers: ADMIN,
    status: [400, 414],
  },
];

describe("adversarial: bad HTTP", () => {
  for (const c of BAD)
    test(`${c.name}: ${Array.isArray(c.status) ? c.status.join(" or ") : c.status}, never a 500`, async () => {
      const path = typeof c.path === "function" ? c.path() : c.path;
      const r = await raw(c.method, path, {
        ...(c.headers ? { headers: c.headers } : {}),
        ...(c.body === undefined ? {} : { body: c.body }),
      });
      const allowed: readonly number[] = Array.isArray(c.status) ? c.status : [c.status];
      assert.ok(allowed.includes(r.status), `${r.status}: ${r.text.slice(0, 300)}`);
      assert.doesNotMatch(r.text, STACK, "no stack trace");
      if (c.says) assert.match(r.text, c.says);
    });

  // Cases that need a signed-in session or the sign-in form's token to reach what they attack (without them, the
  // gate answers first and the case would test the gate again).
  test("a sign-out with a session but without its CSRF token: 403 naming the token; the session is kept", async () => {
    const c = await web.signedIn();
    const r = await c.request("POST", "/logout", { form: {} });
    assert.equal(r.status, 403);
    assert.match(await r.text(), /CSRF token/);
    assert.equal((await c.get("/api/v1/me")).status, 200, "still signed in");
    // With its token, the same sign-out works (the control).
    const out = await c.request("POST", "/logout", { form: { _csrf: c.csrf } });
    assert.equal(out.status, 303);
    assert.equal((await c.get("/api/v1/me")).status, 401, "signed out");
  });

  test("a sign-in with a 1 MB password and its form token: 401 (checked, wrong), never a 500", async () => {
    const c = web.client();
    const page = await (await c.get("/login")).text();
    const token = /name="_login" value="([^"]+)"/.exec(page)?.[1];
    assert.ok(token, "the sign-in form carries its token");
    const r = await c.request("POST", "/login", {
      form: {
        _login: token,
        username: "nobody-long-password",
        password: "p".repeat(1024 * 1024 - 200),
        next: "/",
      },
    });
    const text = await r.text();
    assert.equal(r.status, 401, text.slice(0, 300));
    assert.doesNotMatch(text, STACK, "no stack trace");
  });

  test("a page that does not exist, signed in: 404, the path shown as text", async () => {
    const c = await web.signedIn();
    const r = await c.get("/nope/%3Cscript%3E");
    const text = await r.text();
    assert.equal(r.status, 404, text.slice(0, 300));
    assert.doesNotMatch(text, /<script>/);
    assert.doesNotMatch(text, STACK, "no stack trace");
  });
});

describe("adversarial: guessing over HTTP", () => {
  test("20 parallel Basic guesses: 3 checked, 17 told to wait; the right password is throttled too", async (t) => {
    web.env.store.createUser({
      username: "burst",
      passwordHash: await hashPassword("burst-password"),
      role: "user",
    });
    web.clock.freeze();
    t.after(() => web.clock.release());
    const guesses = Array.from({ length: 20 }, (_, i) => (i === 10 ? "burst-password" : `guess-${i}`));
    const statuses = await Promise.all(
      guesses.map(async (g) => (await fetch(`${web.url}/api/v1/me`, { headers: basic("burst", g) })).status),
    );
    assert.equal(statuses.filter((s) => s === 429).length, 17, statuses.join(" "));
    assert.equal(statuses.filter((s) => s !== 429).length, 3, statuses.join(" "));
    // Another burst at once: nothing gets through.
    const again = await Promise.all(
      guesses.map(async (g) => (await fetch(`${web.url}/api/v1/me`, { headers: basic("burst", g) })).status),
    );
    assert.ok(
      again.every((s) => s === 429),
      again.join(" "),
    );
    // X-Forwarded-For does not make a new address (no proxy is trusted).
    const spoofed = await fetch(`${web.url}/api/v1/me`, {
      headers: { ...basic("burst", "burst-password"), "x-forwarded-for": "10.9.9.9" },
    });
    assert.equal(spoofed.status, 429);
  });

  test("one trainee's typos do not lock out the classroom behind the same address", async (t) => {
    const hash = await hashPassword("class-password");
    for (const name of ["typo-trainee", "trainee-a", "trainee-b"])
      web.env.store.createUser({ username: name, passwordHash: hash, role: "user" });
    web.clock.freeze();
    t.after(() => web.clock.release());
    for (let i = 0; i < 4; i++) await web.client().signIn("typo-trainee", `typo-${i}`);
    assert.equal((await web.client().signIn("typo-trainee", "class-password")).status, 429);
    assert.equal((await web.client().signIn("trainee-a", "class-password")).status, 303);
    assert.equal(
      (await fetch(`${web.url}/api/v1/me`, { headers: basic("trainee-b", "class-password") })).status,
      200,
    );
  });

  test("a stolen session guessing the current password (a password change) is throttled like a sign-in", async (t) => {
    web.env.store.createUser({
      username: "changer",
      passwordHash: await hashPassword("changer-password"),
      role: "user",
    });
    const session = await web.signedIn("changer", "changer-password");
    web.clock.freeze();
    t.after(() => web.clock.release());
    const change = (current: string) =>
      session.api("POST", "/me/password", { currentPassword: current, newPassword: "a-new-long-one" });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await change(`guess-${i}`)).status);
    assert.deepEqual(statuses.slice(0, 3), [403, 403, 403], statuses.join(" "));
    assert.ok(
      statuses.slice(3).every((s) => s === 429),
      statuses.join(" "),
    );
    const right = await change("changer-password");
    assert.equal(right.status, 429, "the right password waits too");
    assert.ok(Number(right.headers.get("retry-after")) > 0);
    assert.match(((await right.json()) as { error: string }).error, /too many wrong passwords/);
    web.clock.advance(10 * 60_000);
    assert.equal((await change("changer-password")).status, 200);
  });

  test("a script's Basic requests keep working, and stop the moment its password changes", async () => {
    web.env.store.createUser({
      username: "script",
      passwordHash: await hashPassword("script-password"),
      role: "user",
    });
    for (let i = 0; i < 10; i++)
      assert.equal(
        (await fetch(`${web.url}/api/v1/me`, { headers: basic("script", "script-password") })).status,
        200,
      );
    web.env.store.setUserPassword(
      "script",
      await hashPassword("rotated-password"),
      new Date(Date.now() + 1000),
    );
    assert.equal(
      (await fetch(`${web.url}/api/v1/me`, { headers: basic("script", "script-password") })).status,
      401,
    );
    assert.equal(
      (await fetch(`${web.url}/api/v1/me`, { headers: basic("script", "rotated-password") })).status,
      200,
    );
  });
});

describe("adversarial: a long log through the API", () => {
  const key = () => ({ dagId: "web_xss", runId, taskId: "shout" });
  const logUrl = (q: string) => `/api/v1/dags/web_xss/runs/${runId}/taskInstances/shout/logs/1?${q}`;
  type Chunk = { content: string; start: number; nextOffset: number; size: number; finished: boolean };
  const get = async (q: string) => (await (await web.client().get(`${logUrl(q)}`, ADMIN)).json()) as Chunk;

  before(() => {
    const s = web.env.store;
    for (const [from, to] of [
      ["none", "scheduled"],
      ["scheduled", "queued"],
      ["queued", "running"],
    ] as const)
      assert.ok(s.setTaskState(key(), from, to, {}, new Date()), `${from} -> ${to}`);
    const path = taskLogPath(web.env.config.logging.base_log_folder, key(), 1);
    mkdirSync(dirname(path), { recursive: true });
    const lines = Array.from(
      { length: 6000 },
      (_, i) => `2026-11-28T12:00:00.000Z [stdout] line ${i} époque\n`,
    );
    writeFileSync(path, lines.join(""));
  });

  test("the tail starts at a line and ends at the file's end; earlier windows page back to the start", async () => {
    const tail = await get("tail=65536");
    assert.ok(tail.start > 0 && tail.start < tail.size);
    assert.match(tail.content, /^2026-11-28T12:00:00\.000Z \[stdout\] line \d+ époque\n/);
    assert.equal(tail.nextOffset, tail.size);
    assert.match(tail.content, /line 5999 époque\n$/);
    let start = tail.start;
    let text = tail.content;
    for (let guard = 0; start > 0 && guard < 20; guard++) {
      const earlier = await get(`tail=65536&end=${start}`);
      assert.ok(earlier.start < start);
      text = earlier.content + text;
      start = earlier.start;
    }
    assert.equal(start, 0);
    assert.equal(text.split("\n").length - 1, 6000);
    assert.equal(tail.finished, false, "running: still writing");
  });

  test("reading from offsets gives chunks of at most 256 kB that never cut a character", async () => {
    let offset = 0;
    let text = "";
    for (let guard = 0; guard < 20; guard++) {
      const c = await get(`offset=${offset}`);
      assert.ok(c.nextOffset - offset <= 256 * 1024);
      if (c.content === "") break;
      text += c.content;
      offset = c.nextOffset;
    }
    assert.doesNotMatch(text, /\ufffd/);
    assert.equal(text.split("\n").length - 1, 6000);
  });

  test("a try that failed and waits for its retry has ended: the page stops following it", async () => {
    assert.ok(
      web.env.store.setTaskState(
        key(),
        "running",
        "up_for_retry",
        { nextRetryAt: new Date(Date.now() + 3600_000) },
        new Date(),
      ),
    );
    assert.equal((await get("tail=1000")).finished, true);
  });
});
