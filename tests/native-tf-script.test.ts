/**
 * `scripts/native-tf.sh` (make install's native TensorFlow step, README "The native TensorFlow backend") as an
 * install meets it: done already, it checks the backend and does nothing else (fast); PyPI unreachable, it prints
 * one line naming the step and why, exits 0 (the install goes on with wasm) and leaves no half-downloaded file;
 * NATIVE_TF=0 skips it; an unknown action is a usage error. (tests/model-backends.test.ts trains on what it built.)
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ROOT } from "./helpers/scheduler-env.js";

const work = mkdtempSync(join(tmpdir(), "windflow-native-tf-"));
after(() => rmSync(work, { recursive: true, force: true }));

function script(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync("bash", [join(ROOT, "scripts", "native-tf.sh"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 240_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A port on 127.0.0.1 where nothing listens (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("scripts/native-tf.sh", () => {
  test("done already (make test's install built it): it checks the backend, does nothing else, and touches the stamp", async () => {
    const stamp = join(work, "stamp");
    const started = Date.now();
    // Should the check fail here, the script must not download nor rebuild in the project: a cache of its own and
    // an index where nothing listens (it then stops at the download, before touching node_modules).
    const r = script(["all"], {
      NATIVE_TF_STAMP: stamp,
      NATIVE_TF_CACHE: join(work, "all-cache"),
      PIP_INDEX_URL: `http://127.0.0.1:${await closedPort()}/simple`,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^native-tf: tfjs-node-native already works: backend tensorflow \(tfjs-node 4\.22\.0, libtensorflow 2\.9\.1\), tiny model loss/m,
    );
    assert.doesNotMatch(r.stdout, /download|stage|compiling/, "no step ran again");
    assert.ok(existsSync(stamp), "the stamp make reads");
    // A bound against a rebuild, not a speed target: a compile takes minutes on these machines.
    assert.ok(Date.now() - started < 120_000);
  });

  test("PyPI unreachable: one line naming the step and why, exit 0 (wasm stays), no half-downloaded file", async () => {
    const cache = join(work, "cache");
    const r = script(["download"], {
      NATIVE_TF_CACHE: cache,
      PIP_INDEX_URL: `http://127.0.0.1:${await closedPort()}/simple`,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // The script's own lines (pip's "Looking in indexes: ..." shows with a non-default index, as set here; pip's
    // stdout stays on the terminal so that a real download shows its progress bar).
    const lines = r.stdout
      .trim()
      .split("\n")
      .filter((l) => !/^Looking in (indexes|links): /.test(l));
    assert.match(lines[0] ?? "", /^native-tf: 1\/3 download: tensorflow-cpu==2\.9\.1 wheel from PyPI/);
    assert.equal(lines.length, 2, r.stdout);
    assert.match(
      lines[1] ?? "",
      /^native-tf: download failed: pip could not fetch tensorflow-cpu==2\.9\.1 \(PyPI unreachable: .*Connection refused.*\); the TensorFlow\.js backend stays wasm \(make install goes on; NATIVE_TF=0 skips this step\)$/,
    );
    assert.deepEqual(readdirSync(cache), ["last-step.log"], "no wheel, no download.tmp");
  });

  test("NATIVE_TF=0 skips it; an unknown action is a usage error", () => {
    const skipped = script(["all"], { NATIVE_TF: "0", NATIVE_TF_CACHE: join(work, "skipped") });
    assert.equal(skipped.code, 0);
    assert.equal(skipped.stdout, "native-tf: skipped (NATIVE_TF=0): the TensorFlow.js backend stays wasm\n");
    const bad = script(["build"], { NATIVE_TF_CACHE: join(work, "bad") });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /usage: .*native-tf\.sh \[all\|download\|stage\|addon\|check\|clean\]/);
  });
});
