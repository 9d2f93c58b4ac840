/**
 * Adversarial, class "guessing" (fast lane): the sign-in throttle and the gate in front of scrypt, on an
 * injected clock and a store of one account. Bursts of parallel guesses, a classroom behind one address, the
 * memory of verified HTTP Basic credentials and what ends it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MetadataStore, UserRecord } from "../../src/orchestration/store/store.js";
import { hashPassword, LoginThrottle, SignInGate, signInKeys } from "../../src/server/auth.js";

/** A store that knows only users (all the gate reads). */
function usersStore(users: Map<string, UserRecord>): MetadataStore {
  return { getUser: (name: string) => users.get(name) } as unknown as MetadataStore;
}

async function account(
  username: string,
  password: string,
  changedAt: Date | null = null,
): Promise<UserRecord> {
  return {
    username,
    passwordHash: await hashPassword(password),
    role: "user",
    createdAt: new Date(0),
    passwordChangedAt: changedAt,
  };
}

const CLASSROOM = "10.1.2.3";

describe("adversarial: guessing (throttle and gate)", () => {
  test("20 parallel guesses for one user: only the free ones reach scrypt, the rest wait (in flight counts)", async () => {
    const users = new Map([["ada", await account("ada", "right-password")]]);
    const now = 1_000_000;
    const gate = new SignInGate(usersStore(users), new LoginThrottle({}, () => now), {}, () => now);
    const guesses = Array.from({ length: 20 }, (_, i) => (i === 19 ? "right-password" : `wrong-${i}`));
    const results = await Promise.all(guesses.map((g) => gate.check("ada", g, CLASSROOM, true)));
    const outcomes = results.map((r) => r.outcome);
    assert.equal(gate.scryptChecks, 3, "3 free attempts for a user from one address");
    assert.equal(outcomes.filter((o) => o === "throttled").length, 17);
    assert.deepEqual(outcomes.slice(0, 3), ["wrong", "wrong", "wrong"]);
    const last = results[19];
    assert.ok(last?.outcome === "throttled" && last.waitMs >= 1000, "the right password is throttled too");
    // Another burst at the same instant: nothing reaches scrypt.
    const again = await Promise.all(guesses.map((g) => gate.check("ada", g, CLASSROOM, true)));
    assert.ok(again.every((r) => r.outcome === "throttled"));
    assert.equal(gate.scryptChecks, 3);
  });

  test("a script's 20 parallel first requests with the right password share one check: all let in", async () => {
    const users = new Map([["bot", await account("bot", "script-password")]]);
    const now = 0;
    const gate = new SignInGate(usersStore(users), new LoginThrottle({}, () => now), {}, () => now);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => gate.check("bot", "script-password", CLASSROOM, true)),
    );
    assert.deepEqual(new Set(results.map((r) => r.outcome)), new Set(["ok"]));
    assert.equal(gate.scryptChecks, 1);
    // The same wrong password 20 times at once: one check, one failure counted (the 2nd to 3rd are still free).
    const wrong = await Promise.all(
      Array.from({ length: 20 }, () => gate.check("bot", "nope", CLASSROOM, true)),
    );
    assert.deepEqual(new Set(wrong.map((r) => r.outcome)), new Set(["wrong"]));
    assert.equal((await gate.check("bot", "script-password", "10.0.0.7", true)).outcome, "ok");
  });

  test("a burst whose first guesses are still in flight: the later ones are refused before any ends", () => {
    let now = 0;
    const t = new LoginThrottle({}, () => now);
    const keys = signInKeys("ada", CLASSROOM);
    const ends = [0, 1, 2].map(() => {
      assert.equal(t.waitMs(keys), 0);
      return t.begin(keys);
    });
    assert.equal(t.waitMs(keys), 1000, "3 attempts in flight count as 3 failures");
    for (const end of ends) end(false);
    assert.equal(t.waitMs(keys), 1000);
    now += 1000;
    assert.equal(t.waitMs(keys), 0);
    const end = t.begin(keys);
    end(true);
    end(false); // a second end is ignored
    t.succeed(keys[0] as string);
    t.succeed(keys[2] as string);
    assert.equal(t.waitMs(keys), 0, "a success clears the user's counts");
  });

  test("a classroom behind one address: one trainee's typos lock out that trainee only", async () => {
    const users = new Map<string, UserRecord>();
    for (const name of ["typo", "t1", "t2", "t3"]) users.set(name, await account(name, `${name}-password`));
    let now = 5_000_000;
    const gate = new SignInGate(usersStore(users), new LoginThrottle({}, () => now), {}, () => now);
    assert.equal((await gate.check("typo", "typo-1", CLASSROOM)).outcome, "wrong");
    // 25 typos (more than the old per-address limit of 20), each after the previous delay, counted as the gate
    // counts them (without paying scrypt 25 times here).
    for (let i = 0; i < 25; i++) {
      gate.throttle.fail(signInKeys("typo", CLASSROOM));
      now += 61_000;
    }
    now -= 61_000;
    assert.equal((await gate.check("typo", "typo-password", CLASSROOM)).outcome, "throttled");
    for (const name of ["t1", "t2", "t3"])
      assert.equal((await gate.check(name, `${name}-password`, CLASSROOM)).outcome, "ok", name);
    // The same trainee from another address is not held back by the classroom's typos (30 free per account).
    assert.equal((await gate.check("typo", "typo-password", "10.9.9.9")).outcome, "ok");
  });

  test("the address ceiling still stops one address guessing many accounts", () => {
    const now = 0;
    const t = new LoginThrottle({ freeAttemptsPerAddress: 10 }, () => now);
    for (let i = 0; i < 10; i++) {
      const keys = signInKeys(`user${i}`, CLASSROOM);
      assert.equal(t.waitMs(keys), 0, `user${i}`);
      t.fail(keys);
    }
    assert.equal(t.waitMs(signInKeys("user-next", CLASSROOM)), 1000);
    assert.equal(t.waitMs(signInKeys("user-next", "10.0.0.2")), 0, "another address is free");
  });

  test("one account guessed from many addresses: throttled past the per-account ceiling", () => {
    const now = 0;
    const t = new LoginThrottle({ freeAttemptsPerAccount: 5 }, () => now);
    for (let i = 0; i < 5; i++) t.fail(signInKeys("admin", `10.0.0.${i}`));
    assert.equal(t.waitMs(signInKeys("admin", "10.0.0.99")), 1000);
  });

  test("HTTP Basic: a script's repeated requests pay scrypt once; a password change ends the memory", async () => {
    const users = new Map([["bot", await account("bot", "script-password")]]);
    let now = 0;
    const gate = new SignInGate(usersStore(users), new LoginThrottle({}, () => now), {}, () => now);
    for (let i = 0; i < 50; i++)
      assert.equal((await gate.check("bot", "script-password", CLASSROOM, true)).outcome, "ok");
    assert.equal(gate.scryptChecks, 1);
    // Another password for the same user is not taken from the memory.
    assert.equal((await gate.check("bot", "script-passwordX", CLASSROOM, true)).outcome, "wrong");
    assert.equal(gate.scryptChecks, 2);
    // The password changes (the CLI, the account page): the old one is checked again, and refused.
    users.set("bot", await account("bot", "new-password", new Date(1000)));
    assert.equal((await gate.check("bot", "script-password", CLASSROOM, true)).outcome, "wrong");
    assert.equal((await gate.check("bot", "new-password", CLASSROOM, true)).outcome, "ok");
    const checks = gate.scryptChecks;
    // After 5 minutes the memory is gone: one more scrypt.
    now += 5 * 60_000;
    assert.equal((await gate.check("bot", "new-password", CLASSROOM, true)).outcome, "ok");
    assert.equal(gate.scryptChecks, checks + 1);
    // The account is deleted: refused at once.
    users.delete("bot");
    assert.equal((await gate.check("bot", "new-password", CLASSROOM, true)).outcome, "wrong");
    // The sign-in form does not use the memory.
    users.set("bot", await account("bot", "form-password"));
    await gate.check("bot", "form-password", CLASSROOM);
    const before = gate.scryptChecks;
    await gate.check("bot", "form-password", CLASSROOM);
    assert.equal(gate.scryptChecks, before + 1);
  });

  test("a throttled client cannot test guesses against the memory", async () => {
    const users = new Map([["bot", await account("bot", "script-password")]]);
    const now = 0;
    const gate = new SignInGate(usersStore(users), new LoginThrottle({}, () => now), {}, () => now);
    assert.equal((await gate.check("bot", "script-password", CLASSROOM, true)).outcome, "ok");
    for (let i = 0; i < 3; i++) await gate.check("bot", `guess-${i}`, CLASSROOM, true);
    assert.equal((await gate.check("bot", "script-password", CLASSROOM, true)).outcome, "throttled");
  });

  test("the memory is bounded: the oldest credentials go first", async () => {
    const users = new Map<string, UserRecord>();
    for (let i = 0; i < 4; i++) users.set(`u${i}`, await account(`u${i}`, `password-${i}`));
    const now = 0;
    const gate = new SignInGate(
      usersStore(users),
      new LoginThrottle({}, () => now),
      { rememberMax: 2 },
      () => now,
    );
    for (let i = 0; i < 4; i++) await gate.check(`u${i}`, `password-${i}`, CLASSROOM, true);
    assert.equal(gate.remembered, 2);
    const checks = gate.scryptChecks;
    await gate.check("u3", "password-3", CLASSROOM, true);
    assert.equal(gate.scryptChecks, checks, "the newest is remembered");
    await gate.check("u0", "password-0", CLASSROOM, true);
    assert.equal(gate.scryptChecks, checks + 1, "the oldest was dropped");
  });
});
