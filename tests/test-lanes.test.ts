/**
 * The test lanes: `make test-fast` runs the files of FAST_TESTS (Makefile) under tests/helpers/pure-guard.ts,
 * which refuses processes and servers; `make test` runs every file. Checked here: the guard refuses what it
 * says (in a real test process), leaves the runner alone, and FAST_TESTS names existing test files.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "./helpers/scheduler-env.js";

const run = promisify(execFile);

/** Runs one test file under the guard, as `make test-fast` does; its spec output and exit code. */
async function guarded(body: string): Promise<{ code: number; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), "windflow-lanes-"));
  try {
    const file = join(dir, "probe.test.mjs");
    writeFileSync(file, `import { test } from "node:test";\n${body}\n`);
    const args = ["--import", "tsx", "--import", join(ROOT, "tests/helpers/pure-guard.ts"), "--test", file];
    try {
      // A runner of its own, not a child of this one (which would skip running files).
      const env = { ...process.env };
      delete env.NODE_TEST_CONTEXT;
      const { stdout, stderr } = await run(process.execPath, args, { cwd: ROOT, env, timeout: 60_000 });
      return { code: 0, out: stdout + stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("test lanes", () => {
  test("the fast lane's guard refuses a process and a server, naming the rule", async () => {
    const spawning = await guarded(
      `import { spawnSync } from "node:child_process";\ntest("spawns", () => { spawnSync("true"); });`,
    );
    assert.notEqual(spawning.code, 0);
    assert.match(spawning.out, /child_process\.spawnSync in the fast lane \(make test-fast\)/);
    const listening = await guarded(
      `import { createServer } from "node:http";\ntest("listens", () => { createServer().listen(0, "127.0.0.1"); });`,
    );
    assert.notEqual(listening.code, 0);
    assert.match(listening.out, /a server listening in the fast lane/);
    const pure = await guarded(`test("adds", () => { if (1 + 1 !== 2) throw new Error("no"); });`);
    assert.equal(pure.code, 0, pure.out);
  });

  test("FAST_TESTS names test files that exist", () => {
    const makefile = readFileSync(join(ROOT, "Makefile"), "utf8");
    const list = /^FAST_TESTS := \$\(patsubst %,tests\/%\.test\.ts,([^)]*)\)/m.exec(makefile)?.[1];
    assert.ok(list, "FAST_TESTS in the Makefile");
    const names = list.replace(/\\\n/g, " ").split(/\s+/).filter(Boolean);
    assert.ok(names.length >= 10, `${names.length} fast files`);
    for (const n of names) assert.ok(existsSync(join(ROOT, "tests", `${n}.test.ts`)), `tests/${n}.test.ts`);
  });
});
