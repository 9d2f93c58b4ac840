/**
 * The web commands of the `windflow` CLI: webserver, standalone, users.
 */
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { Option } from "commander";
import type { WindflowConfig } from "../config.js";
import { WindflowError } from "../errors.js";
import { USER_ROLES, type UserRole } from "../orchestration/store/store.js";

interface CliContext {
  root: string;
  say: (line: string) => void;
}

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** Reads a password: from stdin when it is not a terminal, else asked without echo. */
async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "");
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const muted = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
  let asking = true;
  muted._writeToOutput = (s: string) => {
    if (!asking || s.startsWith(prompt)) process.stderr.write(asking ? prompt : s);
  };
  try {
    return await new Promise<string>((resolve) => rl.question(prompt, resolve));
  } finally {
    asking = false;
    process.stderr.write("\n");
    rl.close();
  }
}

export function registerServerCommands(program: Command, { root }: CliContext): void {
  async function config(): Promise<WindflowConfig> {
    const { loadConfig } = await import("../config.js");
    return loadConfig({ root });
  }

  const serveOptions = (command: Command) =>
    command
      .option("--host <host>", "address to listen on (default: [webserver] host, 127.0.0.1)")
      .option("--port <port>", "port (default: [webserver] port, 8080; 0: a free one)", (v) =>
        Number.parseInt(v, 10),
      )
      .option("--log-requests", "log each HTTP request (JSON lines on stdout)");
  type ServeCli = { host?: string; port?: number; logRequests?: boolean };
  /** The command line's options as `ServeOptions`. */
  const serveOptionsOf = async (opts: ServeCli) => ({
    config: await config(),
    ...(opts.host ? { host: opts.host } : {}),
    ...(opts.port === undefined ? {} : { port: opts.port }),
    ...(opts.logRequests ? { logRequests: true } : {}),
  });

  serveOptions(
    program
      .command("webserver")
      .description("the web UI and the REST API (reads the store; works while no scheduler runs)"),
  ).action(async (opts: ServeCli) => {
    const { serveUntilSignal, serveWebserver } = await import("../server/main.js");
    const options = await serveOptionsOf(opts);
    process.exitCode = await serveUntilSignal(() => serveWebserver(options));
  });

  serveOptions(
    program
      .command("standalone")
      .description(
        "scheduler + web server in one command: creates the database and the default user admin/admin if " +
          "there is none, prints the URL and how to sign in (make ui)",
      ),
  ).action(async (opts: ServeCli) => {
    const { serveStandalone, serveUntilSignal } = await import("../server/main.js");
    const options = await serveOptionsOf(opts);
    process.exitCode = await serveUntilSignal(() => serveStandalone(options));
  });

  const users = program.command("users").description("web UI accounts: list, create, set-password, delete");
  const withStore = async <T>(
    fn: (store: import("../orchestration/store/store.js").MetadataStore) => Promise<T> | T,
  ) => {
    const { openStore } = await import("../orchestration/store/index.js");
    const store = openStore(await config());
    try {
      return await fn(store);
    } finally {
      store.close();
    }
  };
  users
    .command("list")
    .description("the accounts and their roles")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      await withStore((store) => {
        const rows = store.listUsers().map((u) => ({
          username: u.username,
          role: u.role,
          createdAt: u.createdAt.toISOString(),
          passwordChangedAt: u.passwordChangedAt?.toISOString() ?? null,
        }));
        if (opts.json) out(JSON.stringify(rows, null, 2));
        else
          out(
            rows.length === 0
              ? "no users (windflow standalone creates admin/admin; windflow users create makes one)"
              : rows
                  .map((r) => `${r.username.padEnd(20)} ${r.role.padEnd(7)} created ${r.createdAt}`)
                  .join("\n"),
          );
      });
    });
  users
    .command("create")
    .description("create an account; the password is read from stdin, or asked for")
    .argument("<username>")
    .addOption(new Option("--role <role>", "what the user may do").choices([...USER_ROLES]).default("user"))
    .action(async (username: string, opts: { role: UserRole }) => {
      const { checkNewPassword, hashPassword } = await import("../server/auth.js");
      if (!/^[A-Za-z0-9._@-]{1,64}$/.test(username))
        throw new WindflowError(`username ${JSON.stringify(username)} is not valid`, {
          hint: "use 1-64 letters, digits, '.', '_', '@' or '-'",
        });
      const password = await readPassword(`password for ${username}: `);
      checkNewPassword(username, password);
      const hash = await hashPassword(password);
      await withStore((store) => {
        store.createUser({ username, passwordHash: hash, role: opts.role });
        // A chosen password, not the default one: no banner for it.
        store.setUserPassword(username, hash);
      });
      out(`user ${username} created (${opts.role})`);
    });
  users
    .command("set-password")
    .description(
      "replace an account's password (read from stdin, or asked for); the account's open sessions end",
    )
    .argument("<username>")
    .action(async (username: string) => {
      const { checkNewPassword, hashPassword } = await import("../server/auth.js");
      const password = await readPassword(`new password for ${username}: `);
      checkNewPassword(username, password);
      const hash = await hashPassword(password);
      const changed = await withStore((store) => store.setUserPassword(username, hash));
      if (!changed)
        throw new WindflowError(`no user ${username}`, { hint: "`windflow users list` shows the accounts" });
      out(`password of ${username} changed`);
    });
  users
    .command("delete")
    .description("delete an account")
    .argument("<username>")
    .action(async (username: string) => {
      const deleted = await withStore((store) => store.deleteUser(username));
      if (!deleted)
        throw new WindflowError(`no user ${username}`, { hint: "`windflow users list` shows the accounts" });
      out(`user ${username} deleted`);
    });
}
