/**
 * Light start at run time (issue 12 §4; the static import checks are in light-start.test.ts, in the fast lane):
 * what a DAG file's `import ... from "windflow"` loads, from the build, in a fresh process; then the first use of
 * TensorFlow.js through windflow loads it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { test } from "node:test";

const SRC = resolve(__dirname, "..", "src");

test("importing windflow loads none of TensorFlow.js, the Jupyter client, dagre, tsx, cli-progress; TensorFlow.js loads on first use", () => {
  const probe = spawnSync(
    process.execPath,
    [
      "-e",
      `const w = require(${JSON.stringify(resolve(SRC, "..", "dist", "index.js"))});
         const loaded = () => ["@tensorflow/tfjs-core", "@jupyterlab/services", "@dagrejs/dagre", "tsx", "cli-progress"]
           .filter((p) => Object.keys(require.cache).some((f) => f.includes("/node_modules/" + p + "/")));
         const before = loaded();
         const m = w.createModel(3, { rankInputs: false });
         console.log(JSON.stringify({ before, after: loaded(), params: m.countParams() }));`,
    ],
    { encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(probe.status, 0, probe.stderr);
  const got = JSON.parse(probe.stdout.trim().split("\n").at(-1) as string) as {
    before: string[];
    after: string[];
    params: number;
  };
  assert.deepEqual(got.before, []);
  assert.ok(got.after.includes("@tensorflow/tfjs-core"), JSON.stringify(got));
  assert.ok(got.params > 0);
});
