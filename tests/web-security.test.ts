/**
 * The web server's security, over real HTTP: every route refuses a request without a session (but sign-in
 * and static files), state changes need the CSRF token, payloads in DAG data come back escaped or as JSON
 * text, names with `../` reach no file, wrong passwords are slowed down, sessions end when the password
 * changes, and the server binds to loopback by default.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../src/config.js";
import { setDagPaused, triggerDag } from "../src/orchestration/scheduler/trigger.js";
import { routesOf } from "../src/server/app.js";
import { hashPassword, LoginThrottle } from "../src/server/auth.js";
import { ROOT } from "./helpers/scheduler-env.js";
import { WebClient, type WebEnv, webEnv } from "./helpers/web-env.js";

let web: WebEnv;
let runId = "";

before(async () => {
  web = await webEnv({ dags: ["web-xss.ts"], viewer: true });
  setDagPaused(web.env.store, "web_xss", false);
  runId = triggerDag(web.env.store, "web_xss").run.runId;
  const report = await web.env.runScheduler({ mode: "until-idle" });
  assert.equal(report.stoppedBy, "idle", web.env.lines.join("\n"));
});
after(() => web.close());

/** A URL for a route pattern, with real ids where it has parameters. */
function concrete(url: string): string {
  return url
    .replace(":dagId", "web_xss")
    .replace(":runId", runId)
    .replace(":taskId", "shout")
    .replace(":tryNumber", "1")
    .replace(":name", "latest.csv");
}

describe("web: authentication", () => {
  test("every route but sign-in and static files refuses a request without a session", async () => {
    const routes = routesOf(web.served.app);
    assert.ok(routes.length > 20, `${routes.length} routes`);
    const c = web.client();
    const checked: string[] = [];
    for (const { method, url } of routes) {
      if (url === "/login" || url.startsWith("/static/")) continue;
      const path = concrete(url);
      const r = await c.request(method, path, method === "GET" ? {} : { json: {} });
      if (path.startsWith("/api/")) {
        assert.equal(r.status, 401, `${method} ${path}: ${r.status}`);
        assert.match(((await r.json()) as { error: string }).error, /sign in first/);
      } else {
        assert.equal(r.status, 303, `${method} ${path}: ${r.status}`);
        assert.match(r.headers.get("location") ?? "", /^\/login\?next=/);
      }
      checked.push(`${method} ${url}`);
    }
    for (const must of [
      "GET /",
      "GET /api/v1/dags",
      "PATCH /api/v1/dags/:dagId",
      "POST /api/v1/dags/:dagId/runs",
      "GET /api/v1/openapi.json",
      "POST /logout",
    ])
      assert.ok(checked.includes(must), `${must} was checked`);
    // Static files and the sign-in page are public.
    assert.equal((await c.get("/static/app.css")).status, 200);
    assert.equal((await c.get("/login")).status, 200);
  });

  test("the language switch (?lang=) sends back to this site only, and lets nothing through the gate", async () => {
    const c = web.client();
    for (const [path, location] of [
      ["//evil.example/?lang=fr", "/"],
      ["/%2F%2Fevil.example/?lang=fr", "/%2F%2Fevil.example/"],
      ["/\\evil.example/?lang=fr", "/"],
      ["/dags/web_xss?lang=fr", "/dags/web_xss"],
    ] as const) {
      const r = await c.get(path);
      assert.equal(r.status, 303, path);
      assert.equal(r.headers.get("location"), location, path);
    }
    // Without a session, the page it sends back to still sends to the sign-in page.
    const page = await c.get("/dags/web_xss");
    assert.equal(page.status, 303);
    assert.match(page.headers.get("location") ?? "", /^\/login\?next=/);
    // The value is a language or nothing (no header injection, no cookie of another name).
    const odd = await c.get("/?lang=fr%0d%0aSet-Cookie:%20x=1");
    assert.equal(odd.status, 303);
    assert.deepEqual(odd.headers.getSetCookie(), []);
  });

  test("sign-in: a session cookie, HttpOnly and SameSite; wrong password 401; a form without its token 403; sign-out", async () => {
    const c = web.client();
    const wrong = await c.signIn("admin", "not-the-password");
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /wrong username or password/);
    const c2 = web.client();
    const ok = await c2.signIn("admin", "admin");
    assert.equal(ok.status, 303);
    const setCookie = ok.headers.getSetCookie().find((l) => l.startsWith("windflow_session="));
    assert.match(setCookie ?? "", /HttpOnly/i);
    assert.match(setCookie ?? "", /SameSite=Lax/i);
    assert.equal((await c2.get("/api/v1/me")).status, 200);
    // Login CSRF: a sign-in form posted from elsewhere has no double-submit cookie.
    const forged = await web.client().request("POST", "/login", {
      form: { _login: "x", username: "admin", password: "admin" },
    });
    assert.equal(forged.status, 403);
    // Sign out needs the CSRF token too; then the session is gone.
    assert.equal((await c2.request("POST", "/logout", { form: {} })).status, 403);
    const out = await c2.request("POST", "/logout", { form: { _csrf: c2.csrf } });
    assert.equal(out.status, 303);
    assert.equal((await c2.get("/api/v1/me")).status, 401);
  });

  test("HTTP Basic authentication for scripts: right credentials read, wrong ones 401 with a challenge", async () => {
    const basic = (u: string, p: string) => ({
      authorization: `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`,
    });
    const ok = await web.client().get("/api/v1/dags", basic("vera", "viewer-password"));
    assert.equal(ok.status, 200);
    const bad = await web.client().get("/api/v1/dags", basic("vera", "nope"));
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get("www-authenticate") ?? "", /^Basic/);
    // Pages do not take Basic credentials: a browser never caches them for this site.
    assert.equal((await web.client().get("/", basic("vera", "viewer-password"))).status, 303);
  });
});

describe("web: CSRF and roles", () => {
  test("a state change without the CSRF token, or with a wrong one, is refused; with it, it is done", async () => {
    const c = await web.signedIn();
    const none = await c.request("PATCH", "/api/v1/dags/web_xss", { json: { isPaused: true } });
    assert.equal(none.status, 403);
    assert.match(((await none.json()) as { error: string }).error, /CSRF/);
    const wrong = await c.request("PATCH", "/api/v1/dags/web_xss", {
      json: { isPaused: true },
      headers: { "x-csrf-token": "forged" },
    });
    assert.equal(wrong.status, 403);
    const trigger = await c.request("POST", "/api/v1/dags/web_xss/runs", { json: {} });
    assert.equal(trigger.status, 403);
    assert.equal(web.env.store.getDag("web_xss")?.isPaused, false, "nothing changed");
    const right = await c.api("PATCH", "/dags/web_xss", { isPaused: true });
    assert.equal(right.status, 200);
    assert.equal(web.env.store.getDag("web_xss")?.isPaused, true);
    assert.equal((await c.api("PATCH", "/dags/web_xss", { isPaused: false })).status, 200);
  });

  test("a viewer reads but may not pause or trigger (403, naming the role)", async () => {
    const v = await web.signedIn("vera", "viewer-password");
    assert.equal((await v.api("GET", "/dags")).status, 200);
    const pause = await v.api("PATCH", "/dags/web_xss", { isPaused: true });
    assert.equal(pause.status, 403);
    assert.match(((await pause.json()) as { error: string }).error, /vera \(viewer\) may only read/);
    assert.equal((await v.api("POST", "/dags/web_xss/runs", {})).status, 403);
  });
});

describe("web: output escaping and paths", () => {
  test("HTML in a description, tag, param, output, log line and return value comes back as text", async () => {
    const c = await web.signedIn();
    const dag = (await (await c.api("GET", "/dags/web_xss")).json()) as { descriptionHtml: string };
    assert.doesNotMatch(dag.descriptionHtml, /<script|<img/);
    assert.match(dag.descriptionHtml, /&lt;script&gt;window.__xss = &quot;description&quot;&lt;\/script&gt;/);
    assert.match(dag.descriptionHtml, /<strong>bold<\/strong>/, "markdown still renders");
    // Pages are shells: no DAG data in their HTML, so nothing to inject there.
    const page = await (await c.get("/dags/web_xss")).text();
    assert.doesNotMatch(page, /__xss/);
    assert.match(page, /data-dag-id="web_xss"/);
    // A log line is JSON text; the page script appends it as a text node (the browser test checks that).
    const log = (await (
      await c.api("GET", `/dags/web_xss/runs/${runId}/taskInstances/shout/logs/1`)
    ).json()) as {
      content: string;
    };
    assert.match(log.content, /<script>window.__xss = 'log'<\/script>/);
    // A page with a name in it escapes it.
    const notFound = await (await c.get("/nope<script>alert(1)</script>")).text();
    assert.doesNotMatch(notFound, /<script>alert/);
    assert.match(notFound, /No page \/nope/);
  });

  test("`../` in a log, prediction, model or static path reaches nothing (404)", async () => {
    const c = await web.signedIn();
    const attempts = [
      `/api/v1/dags/web_xss/runs/${runId}/taskInstances/..%2F..%2F..%2Fwindflow.cfg/logs/1`,
      `/api/v1/dags/web_xss/runs/..%2F..%2F/taskInstances/shout/logs/1`,
      `/api/v1/dags/..%2F..%2Fetc/runs/${runId}/taskInstances/shout/logs/1`,
      "/api/v1/predictions/..%2F..%2Fpackage.json",
      "/api/v1/predictions/..%2F..%2F..%2Fetc%2Fpasswd",
      "/static/..%2F..%2Fpackage.json",
      "/static/%2e%2e%2fpackage.json",
    ];
    for (const path of attempts) {
      const r = await c.get(path);
      assert.equal(r.status, 404, `${path}: ${r.status}`);
      assert.doesNotMatch(await r.text(), /"name": "windflow"|root:x:0/);
    }
    // A try number past the tries is refused too.
    assert.equal((await c.get(`/api/v1/dags/web_xss/runs/${runId}/taskInstances/shout/logs/7`)).status, 404);
  });

  test("security headers: a strict CSP without inline scripts, nosniff, no framing by others", async () => {
    const r = await web.client().get("/login");
    const csp = r.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    assert.match(csp, /frame-ancestors 'self'/);
  });
});

describe("web: passwords", () => {
  test("repeated failed sign-ins are slowed down: 429 with Retry-After, even for the right password, then allowed again", async (t) => {
    const hash = await hashPassword("right-password");
    web.env.store.createUser({ username: "target", passwordHash: hash, role: "user" });
    // The server's clock stands still: what is throttled does not depend on how fast this machine is.
    web.clock.freeze();
    t.after(() => web.clock.release());
    const c = web.client();
    for (let i = 0; i < 3; i++)
      assert.equal((await c.signIn("target", `wrong-${i}`)).status, 401, `attempt ${i + 1}`);
    const throttled = await c.signIn("target", "wrong-again");
    assert.equal(throttled.status, 429);
    const wait = Number(throttled.headers.get("retry-after"));
    assert.ok(wait >= 1, `Retry-After ${wait}`);
    assert.match(await throttled.text(), /too many failed sign-ins: try again in \d+ s/);
    assert.equal(
      (await web.client().signIn("target", "right-password")).status,
      429,
      "throttled whatever the password",
    );
    // The API's Basic authentication counts the same failures.
    const basic = { authorization: `Basic ${Buffer.from("target:right-password").toString("base64")}` };
    assert.equal((await web.client().get("/api/v1/me", basic)).status, 429);
    // Just before Retry-After: still throttled; once it is over, the right password is let in.
    web.clock.advance(wait * 1000 - 100);
    assert.equal((await web.client().signIn("target", "right-password")).status, 429);
    web.clock.advance(200);
    assert.equal((await web.client().signIn("target", "right-password")).status, 303);
  });

  test("the default password shows a banner until changed; a change ends the user's other sessions", async () => {
    const a = await web.signedIn();
    const b = await web.signedIn();
    assert.match(await (await a.get("/")).text(), /id="default-password-banner"/);
    const weak = await a.api("POST", "/me/password", { currentPassword: "admin", newPassword: "short" });
    assert.equal(weak.status, 400);
    assert.match(((await weak.json()) as { error: string }).error, /shorter than 8 characters/);
    const wrongCurrent = await a.api("POST", "/me/password", {
      currentPassword: "nope",
      newPassword: "a-long-new-one",
    });
    assert.equal(wrongCurrent.status, 403);
    const changed = await a.api("POST", "/me/password", {
      currentPassword: "admin",
      newPassword: "a-long-new-one",
    });
    assert.equal(changed.status, 200);
    assert.doesNotMatch(await (await a.get("/")).text(), /default-password-banner/);
    assert.equal((await a.api("GET", "/me")).status, 200, "this session goes on");
    assert.equal((await b.api("GET", "/me")).status, 401, "the other session ended");
    // A change made elsewhere (the CLI writes the store) ends this session too.
    web.env.store.setUserPassword("admin", await hashPassword("changed-by-cli"), new Date(Date.now() + 1000));
    assert.equal((await a.api("GET", "/me")).status, 401);
    assert.equal((await web.client().signIn("admin", "changed-by-cli")).status, 303);
  });

  test("throttle: delays double past the free failures of a username; an address has more; a success clears", () => {
    let now = 0;
    const t = new LoginThrottle({ freeAttempts: 3, freeAttemptsPerAddress: 5 }, () => now);
    const keys = ["user:ada", "ip:10.0.0.1"];
    for (let i = 0; i < 3; i++) {
      assert.equal(t.waitMs(keys), 0);
      t.fail(keys);
    }
    assert.equal(t.waitMs(keys), 1000);
    now += 1000;
    assert.equal(t.waitMs(keys), 0);
    t.fail(keys);
    assert.equal(t.waitMs(keys), 2000, "doubled");
    // Another user from the same address: the address has 4 failures of its 5 free ones.
    assert.equal(t.waitMs(["user:bob", "ip:10.0.0.1"]), 0);
    t.fail(["user:bob", "ip:10.0.0.1"]);
    assert.equal(t.waitMs(["user:bob", "ip:10.0.0.1"]), 1000, "the address is throttled now");
    t.succeed("user:ada");
    now += 20 * 60_000;
    assert.equal(t.waitMs(keys), 0, "failures older than the window are forgotten");
  });

  test("the server binds to loopback unless configured otherwise", () => {
    const c = loadConfig({ root: ROOT, env: {} });
    assert.equal(c.webserver.host, "127.0.0.1");
    assert.match(web.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe("web: behind a reverse proxy ([webserver] base_url)", () => {
  test("every page, API route, static file, redirect and cookie lives under the base path", async () => {
    const proxied = await webEnv({
      dags: ["scheduler-chain.ts"],
      settings: { WINDFLOW__WEBSERVER__BASE_URL: "/windflow" },
    });
    try {
      const outside = await proxied.client().get("/");
      assert.equal(outside.status, 404, "nothing outside the base path");
      const c = new WebClient(`${proxied.url}/windflow`);
      const login = await (await c.get("/login")).text();
      // A fresh home: the sign-in page tells the course's first account (only while its password is the default).
      assert.match(
        login,
        /id="first-account">First time\? Sign in as <b>admin<\/b> with the password <b>admin<\/b>/,
      );
      const home = await c.get("/");
      assert.equal(home.status, 303);
      assert.equal(home.headers.get("location"), "/windflow/login?next=%2Fwindflow%2F");
      const signed = await c.signIn("admin", "admin");
      assert.equal(signed.status, 303);
      assert.equal(signed.headers.get("location"), "/windflow/");
      assert.match(signed.headers.getSetCookie().join("\n"), /windflow_session=[^;]+; Path=\/windflow;/);
      const page = await (await c.get("/")).text();
      assert.match(page, /<script src="\/windflow\/static\/app\.js" defer><\/script>/);
      // The language switch: links under the base path, back under it, its cookie for the base path only.
      assert.match(page, /<a href="\/windflow\/\?lang=fr"/);
      const switched = await c.get("/dags/sched_chain?lang=fr");
      assert.equal(switched.headers.get("location"), "/windflow/dags/sched_chain");
      assert.match(switched.headers.getSetCookie().join("\n"), /windflow_lang=fr; [^\n]*Path=\/windflow;/);
      assert.match(await (await c.get("/dags/sched_chain")).text(), /<html lang="fr">/);
      assert.match(page, /data-base="\/windflow"/);
      assert.match(page, /<a href="\/windflow\/predictions"/);
      assert.equal((await c.get("/static/app.js")).status, 200);
      // Every link, script, style and form of every page points under the base path (the default-password
      // banner's "Change it" included), and each page it names answers.
      const targets = new Set<string>();
      for (const path of ["/", "/account", "/predictions", "/models", "/dags/sched_chain"]) {
        const r = await c.get(path);
        assert.equal(r.status, 200, path);
        for (const [, attr, url] of (await r.text()).matchAll(/\b(href|src|action)="([^"#][^"]*)"/g)) {
          if ((url as string).startsWith("data:")) continue; // the empty favicon
          assert.match(url as string, /^\/windflow\//, `${path}: ${attr}="${url}" is outside /windflow`);
          if (attr === "href") targets.add((url as string).slice("/windflow".length));
        }
      }
      assert.ok(targets.has("/account"), "the banner links to the account page");
      for (const t of targets) assert.notEqual((await c.get(t)).status, 404, `${t} exists`);
      const dags = (await (await c.api("GET", "/dags")).json()) as { dags: { dagId: string }[] };
      assert.deepEqual(
        dags.dags.map((d) => d.dagId),
        ["sched_chain"],
      );
      assert.equal((await c.api("PATCH", "/dags/sched_chain", { isPaused: false })).status, 200);
      assert.equal((await c.get("/api/v1/openapi.json")).status, 200);
    } finally {
      await proxied.close();
    }
  });
});
