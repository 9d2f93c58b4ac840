/**
 * The fast lane's rule (`make test-fast`): its tests start no process and open no server. Loaded with
 * `--import` into each test file's process, this makes starting a process or listening on a socket throw,
 * naming the rule, so a test that needs either is moved to the full suite rather than slowing the lane down.
 * The test runner's own process (which starts one process per test file) is left alone.
 */
import childProcess from "node:child_process";
import { syncBuiltinESMExports } from "node:module";
import net from "node:net";

if (process.env.NODE_TEST_CONTEXT !== undefined) {
  const refuse = (what: string) => () => {
    throw new Error(
      `${what} in the fast lane (make test-fast): its tests start no process and open no server; ` +
        "drop this test file from FAST_TESTS in the Makefile (make test runs it)",
    );
  };
  for (const name of ["spawn", "spawnSync", "fork", "exec", "execSync", "execFile", "execFileSync"] as const)
    (childProcess as unknown as Record<string, unknown>)[name] = refuse(`child_process.${name}`);
  net.Server.prototype.listen = refuse("a server listening") as never;
  syncBuiltinESMExports();
}
