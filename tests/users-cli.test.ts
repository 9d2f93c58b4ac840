/**
 * `windflow users`: accounts made and changed from the command line (passwords read from stdin, never from
 * the arguments), checked against the store and against a sign-in through the web server.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { verifyPassword } from "../src/server/auth.js";
import { cli, type SchedulerEnv, schedulerEnv } from "./helpers/scheduler-env.js";

let e: SchedulerEnv | undefined;
after(() => e?.cleanup());

/** The CLI with `input` on its stdin. */
const cliWithInput = (args: string[], env: Record<string, string | undefined>, input: string) =>
  cli(args, env, { input });

test("users create / list / set-password / delete, and the errors that name what to fix", async () => {
  e = schedulerEnv();
  const env = e.env;
  const created = await cliWithInput(["users", "create", "ada", "--role", "op"], env, "a-good-password\n");
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stdout.trim(), "user ada created (op)");
  const user = e.store.getUser("ada");
  assert.equal(user?.role, "op");
  assert.match(user?.passwordHash ?? "", /^scrypt\$/);
  assert.ok(await verifyPassword("a-good-password", user?.passwordHash as string));
  assert.notEqual(user?.passwordChangedAt, null, "a chosen password: no default-password banner");

  const [weak, duplicate, badName, badRole] = await Promise.all([
    cliWithInput(["users", "create", "bob"], env, "short\n"),
    cliWithInput(["users", "create", "ada"], env, "another-good-one\n"),
    cliWithInput(["users", "create", "../x"], env, "another-good-one\n"),
    cliWithInput(["users", "create", "carl", "--role", "root"], env, "another-good-one\n"),
  ]);
  assert.equal(weak.code, 1);
  assert.match(
    weak.stderr,
    /error: password refused: shorter than 8 characters\nhint: choose at least 8 characters/,
  );
  assert.equal(duplicate.code, 1);
  assert.match(duplicate.stderr, /ada/);
  assert.equal(badName.code, 1);
  assert.match(badName.stderr, /username "\.\.\/x" is not valid/);
  assert.notEqual(badRole.code, 0);
  assert.match(badRole.stderr, /Allowed choices are viewer, user, op, admin/);

  const list = await cliWithInput(["users", "list", "--json"], env, "");
  assert.deepEqual(
    (JSON.parse(list.stdout) as { username: string; role: string }[]).map((u) => [u.username, u.role]),
    [["ada", "op"]],
  );
  const changed = await cliWithInput(["users", "set-password", "ada"], env, "a-newer-password\n");
  assert.equal(changed.code, 0, changed.stderr);
  assert.ok(await verifyPassword("a-newer-password", e.store.getUser("ada")?.passwordHash as string));
  const missing = await cliWithInput(["users", "set-password", "nobody"], env, "a-newer-password\n");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no user nobody\nhint: `windflow users list` shows the accounts/);
  const deleted = await cliWithInput(["users", "delete", "ada"], env, "");
  assert.equal(deleted.stdout.trim(), "user ada deleted");
  assert.equal(e.store.getUser("ada"), undefined);
});
