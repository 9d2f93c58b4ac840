/**
 * Who may use the web UI and the REST API, and how they prove it.
 *
 * - **Passwords** are stored as scrypt hashes (`scrypt$N$r$p$salt$hash`, node:crypto; N = 2^15, r = 8, p = 1:
 *   ~60 ms and 32 MB per check), compared in constant time. An unknown user costs the same check (a dummy
 *   hash), so response times do not tell which usernames exist.
 * - **Sessions** live in the web server's memory, keyed by the sha256 of a random 256-bit id sent in an
 *   HttpOnly, SameSite=Lax cookie: a stolen database gives no session, and restarting the web server signs
 *   everyone out. Idle sessions end after 12 hours.
 * - **CSRF**: every state change carries the session's token (header `X-CSRF-Token` from the pages' scripts,
 *   or a `_csrf` form field), compared in constant time; the sign-in form uses a double-submit token (a cookie
 *   and the same value in the form) so nobody can sign a victim in as someone else.
 * - **Throttling** (`SignInGate`): failed sign-ins are counted per username *and* address (3 free: one
 *   trainee's typos lock out only that trainee's account from that address), per address (150 free: a classroom
 *   shares one address, thirty people may mistype) and per username from anywhere (30 free: guessing one
 *   account from many addresses). Past the free failures of a key, in 15 minutes, the next attempt must wait
 *   1, 2, 4 ... up to 60 s after the last failure (answered 429 with `Retry-After`). An attempt still being
 *   checked counts as a failure until it ends, so a burst of parallel guesses is throttled as a sequence is
 *   (only the free ones reach scrypt); identical attempts in flight (a script's first parallel requests) share
 *   one check and count once. A success clears the username's counts.
 * - Scripts and notebooks may use HTTP Basic authentication on `/api/` instead of a session (no cookie, so no
 *   CSRF risk), throttled the same way. Credentials verified once are remembered for 5 minutes, keyed by an
 *   HMAC of username and password under a per-process key (never the password itself), so a script's requests
 *   do not each pay scrypt's 60 ms and 32 MB; the entry holds the password version and dies with a password
 *   change or the account's deletion. The throttle is checked first: a remembered password does not let a
 *   throttled client test guesses at full speed.
 */
import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { WindflowError } from "../errors.js";
import type { MetadataStore, UserRecord, UserRole } from "../orchestration/store/store.js";

/** scrypt's cost parameters (see the module comment). */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, maxmem: 64 * 1024 * 1024 } as const;

/** The course's default account (Airflow's admin/admin in the lab), shown with a banner until changed. */
export const DEFAULT_USER = { username: "admin", password: "admin" } as const;

/** Shortest password `users set-password` and the account page accept. */
export const MIN_PASSWORD_LENGTH = 8;

function scryptAsync(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, SCRYPT.keyLength, { N, r, p, maxmem: SCRYPT.maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** A new hash of `password` with a fresh salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Whether `password` matches `hash` (false for a malformed hash). */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parts = hash.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((v) => Number.isInteger(v) && v > 0)) return false;
  const salt = Buffer.from(parts[4] as string, "base64");
  const expected = Buffer.from(parts[5] as string, "base64");
  const key = await scryptAsync(password, salt, N, r, p);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Compares two secrets in constant time (false when either is missing). */
export function sameSecret(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A user's password version: when it last changed, 0 if never. */
export const passwordVersion = (user: Pick<UserRecord, "passwordChangedAt">): number =>
  user.passwordChangedAt?.getTime() ?? 0;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const token = () => randomBytes(32).toString("base64url");

/** A signed-in user's session. */
export interface Session {
  readonly username: string;
  readonly role: UserRole;
  /** The CSRF token of every state change in this session. */
  readonly csrfToken: string;
  /**
   * The user's `passwordChangedAt` when the session began (0: never changed): a password changed since, from
   * the CLI or another session, ends the session at its next request.
   */
  passwordVersion: number;
  readonly createdAt: number;
  lastSeen: number;
}

/** Sessions in memory (see the module comment). */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly idleMs = 12 * 3600_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a session; returns the id to put in the cookie. */
  create(user: Pick<UserRecord, "username" | "role" | "passwordChangedAt">): {
    id: string;
    session: Session;
  } {
    this.sweep();
    const id = token();
    const at = this.now();
    const session: Session = {
      username: user.username,
      role: user.role,
      csrfToken: token(),
      passwordVersion: passwordVersion(user),
      createdAt: at,
      lastSeen: at,
    };
    this.sessions.set(sha256(id), session);
    return { id, session };
  }

  /** The live session of a cookie's id, touched; undefined if unknown or idle too long. */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const key = sha256(id);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    if (this.now() - session.lastSeen > this.idleMs) {
      this.sessions.delete(key);
      return undefined;
    }
    session.lastSeen = this.now();
    return session;
  }

  delete(id: string | undefined): void {
    if (id) this.sessions.delete(sha256(id));
  }

  /** Ends every session of a user (a password changed elsewhere), but `keep`. */
  deleteUser(username: string, keep?: string): void {
    const kept = keep ? sha256(keep) : undefined;
    for (const [key, s] of this.sessions)
      if (s.username === username && key !== kept) this.sessions.delete(key);
  }

  private sweep(): void {
    const at = this.now();
    for (const [key, s] of this.sessions) if (at - s.lastSeen > this.idleMs) this.sessions.delete(key);
  }
}

/**
 * Failed sign-ins, per key (see the module comment): `user:<name>@<address>`, `ip:<address>`, `account:<name>`.
 * `freeAttempts` failures of a username from one address are free, `freeAttemptsPerAddress` of an address,
 * `freeAttemptsPerAccount` of a username from all addresses. Attempts in flight (`begin`) count as failures
 * until they end.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; pending: number; last: number }>();

  constructor(
    private readonly options: {
      /** @default 3 */
      freeAttempts?: number;
      /** @default 150 */
      freeAttemptsPerAddress?: number;
      /** @default 30 */
      freeAttemptsPerAccount?: number;
      /** @default 15 minutes */
      windowMs?: number;
      /** @default 60 s */
      maxDelayMs?: number;
    } = {},
    private readonly now: () => number = Date.now,
  ) {}

  private free(key: string): number {
    if (key.startsWith("ip:")) return this.options.freeAttemptsPerAddress ?? 150;
    if (key.startsWith("account:")) return this.options.freeAttemptsPerAccount ?? 30;
    return this.options.freeAttempts ?? 3;
  }

  /** Milliseconds to wait before `keys` may try again (0: now). */
  waitMs(keys: readonly string[]): number {
    const at = this.now();
    let wait = 0;
    for (const key of keys) {
      const f = this.failures.get(key);
      if (!f) continue;
      if (f.pending === 0 && at - f.last > (this.options.windowMs ?? 15 * 60_000)) {
        this.failures.delete(key);
        continue;
      }
      const free = this.free(key);
      const count = f.count + f.pending;
      if (count < free) continue;
      const delay = Math.min(1000 * 2 ** (count - free), this.options.maxDelayMs ?? 60_000);
      wait = Math.max(wait, f.last + delay - at);
    }
    return Math.max(0, wait);
  }

  /**
   * An attempt starts: it counts as a failure of `keys` until `end` is called (true: it succeeded). Call only
   * when `waitMs(keys)` is 0, in the same tick.
   */
  begin(keys: readonly string[]): (succeeded: boolean) => void {
    const at = this.now();
    for (const key of keys) {
      const f = this.failures.get(key) ?? { count: 0, pending: 0, last: at };
      this.failures.set(key, { count: f.count, pending: f.pending + 1, last: at });
    }
    let ended = false;
    return (succeeded) => {
      if (ended) return;
      ended = true;
      const end = this.now();
      for (const key of keys) {
        const f = this.failures.get(key);
        if (!f) continue;
        const pending = Math.max(0, f.pending - 1);
        if (succeeded) {
          if (pending === 0 && f.count === 0) this.failures.delete(key);
          else this.failures.set(key, { ...f, pending });
        } else this.failures.set(key, { count: f.count + 1, pending, last: end });
      }
    };
  }

  fail(keys: readonly string[]): void {
    this.begin(keys)(false);
  }

  /** A success: the key's failures are forgotten (attempts still in flight still count). */
  succeed(key: string): void {
    const f = this.failures.get(key);
    if (!f) return;
    if (f.pending === 0) this.failures.delete(key);
    else this.failures.set(key, { count: 0, pending: f.pending, last: f.last });
  }
}

/** The throttle's keys of a sign-in by `username` from `address` (see `LoginThrottle`). */
export function signInKeys(username: string, address: string): string[] {
  return [`user:${username}@${address}`, `ip:${address}`, `account:${username}`];
}

/** Answer of `SignInGate.check`. */
export type SignInResult =
  | { readonly outcome: "ok"; readonly user: UserRecord }
  | { readonly outcome: "wrong" }
  | { readonly outcome: "throttled"; readonly waitMs: number };

/**
 * The one way in, for the sign-in form and HTTP Basic: the throttle (attempts in flight count), scrypt, and for
 * Basic a short-lived memory of verified credentials (see the module comment).
 */
export class SignInGate {
  private readonly verified = new Map<string, { username: string; version: number; until: number }>();
  private readonly cacheKey = randomBytes(32);
  /** Checks in flight, by credentials and address. */
  private readonly inflight = new Map<string, Promise<SignInResult>>();
  /** How many passwords this gate has checked with scrypt (the cost the memory saves). */
  scryptChecks = 0;

  constructor(
    private readonly store: MetadataStore,
    readonly throttle: LoginThrottle,
    private readonly options: {
      /** How long verified Basic credentials are remembered. @default 5 minutes */
      rememberMs?: number;
      /** At most this many remembered credentials (the oldest go first). @default 1000 */
      rememberMax?: number;
    } = {},
    private readonly now: () => number = Date.now,
  ) {}

  /** Checks `username`/`password` from `address`; `remember`: HTTP Basic (a script's repeated requests). */
  async check(username: string, password: string, address: string, remember = false): Promise<SignInResult> {
    const keys = signInKeys(username, address);
    const wait = this.throttle.waitMs(keys);
    if (wait > 0) return { outcome: "throttled", waitMs: wait };
    // The same credentials from the same address: one key for the memory and for the check in flight.
    const id = createHmac("sha256", this.cacheKey)
      .update(username)
      .update("\0")
      .update(password)
      .update("\0")
      .update(address)
      .digest("base64");
    if (remember) {
      const hit = this.verified.get(id);
      if (hit) {
        const user = this.store.getUser(username);
        if (
          user &&
          hit.username === username &&
          hit.version === passwordVersion(user) &&
          this.now() < hit.until
        )
          return { outcome: "ok", user };
        this.verified.delete(id);
      }
    }
    // Identical attempts in parallel (a script's first requests) share one check and count as one attempt;
    // different guesses each count.
    const pending = this.inflight.get(id);
    if (pending) return pending;
    const checking = this.verify(username, password, keys, remember ? id : undefined);
    this.inflight.set(id, checking);
    try {
      return await checking;
    } finally {
      this.inflight.delete(id);
    }
  }

  private async verify(
    username: string,
    password: string,
    keys: readonly string[],
    rememberAs: string | undefined,
  ): Promise<SignInResult> {
    const end = this.throttle.begin(keys);
    let user: UserRecord | undefined;
    try {
      this.scryptChecks++;
      user = await authenticate(this.store, username, password);
    } finally {
      end(user !== undefined);
    }
    if (!user) return { outcome: "wrong" };
    this.throttle.succeed(keys[0] as string);
    this.throttle.succeed(keys[2] as string);
    if (rememberAs !== undefined) {
      this.verified.delete(rememberAs);
      this.verified.set(rememberAs, {
        username,
        version: passwordVersion(user),
        until: this.now() + (this.options.rememberMs ?? 5 * 60_000),
      });
      const max = this.options.rememberMax ?? 1000;
      for (const oldest of this.verified.keys()) {
        if (this.verified.size <= max) break;
        this.verified.delete(oldest);
      }
    }
    return { outcome: "ok", user };
  }

  /** Forgets every remembered credential of `username` (its password changed here, or it was deleted). */
  forget(username: string): void {
    for (const [id, v] of this.verified) if (v.username === username) this.verified.delete(id);
  }

  /** How many credentials are remembered now (for tests). */
  get remembered(): number {
    return this.verified.size;
  }
}

/** A dummy hash checked for unknown users, so that they cost as much as known ones. */
let dummyHash: Promise<string> | undefined;

/** Checks a username and password against the store: the user, or undefined. */
export async function authenticate(
  store: MetadataStore,
  username: string,
  password: string,
): Promise<UserRecord | undefined> {
  const user = store.getUser(username);
  if (!user) {
    dummyHash ??= hashPassword("not a password");
    await verifyPassword(password, await dummyHash);
    return undefined;
  }
  return (await verifyPassword(password, user.passwordHash)) ? user : undefined;
}

/**
 * Whether the default account still has the password it was created with (`ensureDefaultUser`): the pages
 * show a banner to everyone until it is changed. Users made by `windflow users create` chose theirs.
 */
export function defaultPasswordInUse(store: MetadataStore): boolean {
  const admin = store.getUser(DEFAULT_USER.username);
  return admin !== undefined && admin.passwordChangedAt === null;
}

/** A password too weak to set. */
export class WeakPasswordError extends WindflowError {
  readonly retryable = false;
  constructor(detail: string) {
    super(`password refused: ${detail}`, {
      hint: `choose at least ${MIN_PASSWORD_LENGTH} characters, not the username and not "admin"`,
    });
  }
}

/** Refuses passwords that are too short, equal to the username, or the default one. */
export function checkNewPassword(username: string, password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new WeakPasswordError(`shorter than ${MIN_PASSWORD_LENGTH} characters`);
  if (password === username) throw new WeakPasswordError("the same as the username");
  if (password === DEFAULT_USER.password) throw new WeakPasswordError("the default password");
}

/**
 * Creates the default user `admin`/`admin` (role admin) if no user exists yet: what `windflow standalone`
 * does, as Airflow's course set-up did. Returns whether it was created.
 */
export async function ensureDefaultUser(store: MetadataStore): Promise<boolean> {
  if (store.listUsers().length > 0) return false;
  store.createUser({
    username: DEFAULT_USER.username,
    passwordHash: await hashPassword(DEFAULT_USER.password),
    role: "admin",
  });
  return true;
}

/** Roles that may change things (pause, trigger); a viewer only reads. */
export const CAN_EDIT: ReadonlySet<UserRole> = new Set(["user", "op", "admin"]);
