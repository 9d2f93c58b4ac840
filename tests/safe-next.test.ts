/**
 * Where the sign-in page sends a user back (`next`): a path of this site under its base, read as the browser
 * will read the Location header, so that nothing a link can carry makes the redirect leave the site or fail.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { safeNext } from "../src/server/app.js";

describe("safeNext (the sign-in redirect)", () => {
  test("local paths under the base are kept, percent-encoded, with their query and fragment", () => {
    assert.equal(safeNext("/dags/train?tab=grid#x", ""), "/dags/train?tab=grid#x");
    assert.equal(safeNext("/windflow/dags/train", "/windflow"), "/windflow/dags/train");
    assert.equal(safeNext("/dags/é tè", ""), "/dags/%C3%A9%20t%C3%A8");
    assert.equal(safeNext("/a/../dags", ""), "/dags");
  });

  test("anything that could leave the site, or fail as a header, goes home instead", () => {
    const leaving = [
      "//evil.example/",
      "/\t/evil.example/", // a TAB: the browser drops it, leaving //evil.example
      "/\n/evil.example/",
      "/\r\n/evil.example/",
      "/\\evil.example/", // the browser reads \ as /
      "/\\\\evil.example/",
      "https://evil.example/",
      "javascript:alert(1)",
      " /dags",
      "dags",
      "",
      "/login",
      "/login?next=/dags",
      `/${"a".repeat(3000)}`,
    ];
    for (const next of leaving) assert.equal(safeNext(next, ""), "/", JSON.stringify(next));
    for (const next of [42, null, undefined, ["/dags"], { a: 1 }]) assert.equal(safeNext(next, ""), "/");
    // Under a base path: only its own paths, and never its sign-in page.
    assert.equal(safeNext("/other/", "/windflow"), "/windflow/");
    assert.equal(safeNext("/windflow/login", "/windflow"), "/windflow/");
    assert.equal(safeNext("/windflow/\t/evil.example", "/windflow"), "/windflow//evil.example");
  });

  test("what is kept is always a header-safe local path", () => {
    for (const next of ["/dags/\u0000x", "/dags/\u2028", "/dags/%00", "/dags/\u{1F600}", "/dags/\u007f"]) {
      const path = safeNext(next, "");
      assert.match(path, /^\/[\x21-\x7e]*$/, JSON.stringify(next));
      assert.ok(!path.startsWith("//"));
    }
  });
});
