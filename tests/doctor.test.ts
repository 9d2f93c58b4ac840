import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { formatDoctor, runDoctor } from "../src/doctor.js";
import { probeKernel } from "../src/notebook/run.js";
import { tempDir } from "./helpers/csv.js";

const root = join(__dirname, "..");
const tmp = tempDir();
after(() => tmp.cleanup());

describe("windflow doctor", () => {
  test("on this project (after make install) every part is ok, and the kernel runs a cell", async () => {
    const results = await runDoctor({ root, kernelProbe: probeKernel });
    const byName = Object.fromEntries(results.map((r) => [r.name, r]));
    for (const name of [
      "Node.js",
      "npm packages",
      "polars native module",
      "Python venv and JupyterLab",
      "tslab kernelspec",
      "tslab kernel starts",
    ]) {
      assert.equal(byName[name]?.status, "ok", `${name}: ${byName[name]?.detail}`);
    }
    assert.match(byName["TensorFlow.js backend"]?.detail ?? "", /^(tensorflow|wasm|cpu): /);
    assert.ok(!results.some((r) => r.status === "fail"), formatDoctor(results));
  });

  test("in a folder without the installs it fails those parts and says to run make install", async () => {
    const results = await runDoctor({
      root: tmp.dir,
      startKernel: false,
      chromium: join(tmp.dir, "no-chromium"),
    });
    const byName = Object.fromEntries(results.map((r) => [r.name, r]));
    assert.equal(byName["Python venv and JupyterLab"]?.status, "fail");
    assert.match(byName["Python venv and JupyterLab"]?.fix ?? "", /make install/);
    assert.equal(byName["tslab kernelspec"]?.status, "fail");
    assert.equal(byName["npm packages"]?.status, "fail");
    assert.equal(byName["Chromium (browser tests)"]?.status, "info");
    assert.match(formatDoctor(results), /FAIL Python venv and JupyterLab: .*\n {5}fix: run `make install`/);
  });
});
