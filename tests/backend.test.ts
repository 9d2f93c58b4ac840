import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { chooseBackend, NATIVE_PACKAGE } from "../src/model/backend.js";

const realRequire = (name: string): unknown => require(name);
function notFound(name: string): never {
  const error = new Error(`Cannot find module '${name}'`) as Error & { code: string };
  error.code = "MODULE_NOT_FOUND";
  throw error;
}

describe("TensorFlow.js backend choice", () => {
  test("without the native package it takes wasm, says why, and computes", async () => {
    const lines: string[] = [];
    const choice = await chooseBackend({
      log: (l) => lines.push(l),
      load: (name) => (name === NATIVE_PACKAGE ? notFound(name) : realRequire(name)),
    });
    assert.equal(choice.backend, "wasm");
    assert.equal(tf.getBackend(), "wasm");
    assert.deepEqual(
      choice.attempts.map((a) => [a.backend, a.ok]),
      [
        ["tensorflow", false],
        ["wasm", true],
      ],
    );
    assert.match(choice.attempts[0]?.reason ?? "", /not installed.*npm ci/);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? "", /backend: wasm/);
    assert.deepEqual(Array.from(tf.tensor([1, 2, 3]).sum().dataSync()), [6]);
  });

  test("a native package that is present is taken first", async () => {
    // Simulate tfjs-node: loading it registers a backend named "tensorflow" (here backed by cpu).
    const load = (name: string): unknown => {
      if (name === NATIVE_PACKAGE) {
        const cpu = tf.findBackendFactory("cpu");
        assert.ok(cpu);
        if (!tf.findBackendFactory("tensorflow")) tf.registerBackend("tensorflow", cpu, 0);
        return {};
      }
      return realRequire(name);
    };
    const choice = await chooseBackend({ load, log: () => {} });
    assert.equal(choice.backend, "tensorflow");
    assert.equal(tf.getBackend(), "tensorflow");
    tf.removeBackend("tensorflow");
  });

  test("a native package that fails to load is reported, and wasm is used", async () => {
    const choice = await chooseBackend({
      log: () => {},
      load: (name) => {
        if (name === NATIVE_PACKAGE) throw new Error("libtensorflow.so.2: cannot open shared object file");
        return realRequire(name);
      },
    });
    assert.equal(choice.backend, "wasm");
    assert.match(choice.reason, /failed to load: libtensorflow\.so\.2/);
  });

  test("falls back to cpu when wasm cannot load either", async () => {
    const choice = await chooseBackend({
      log: () => {},
      load: (name) => notFound(name),
    });
    assert.equal(choice.backend, "cpu");
    assert.equal(tf.getBackend(), "cpu");
    assert.deepEqual(
      choice.attempts.map((a) => a.ok),
      [false, false, true],
    );
  });

  test("prefer forces one backend", async () => {
    const choice = await chooseBackend({ prefer: "cpu", log: () => {} });
    assert.equal(choice.backend, "cpu");
    assert.equal(choice.attempts.length, 1);
  });
});

describe("ensureBackend", () => {
  test("decides once per process and switches only when asked", async () => {
    const { ensureBackend } = await import("../src/model/backend.js");
    const first = await ensureBackend({ prefer: "cpu", log: () => {} });
    const again = await ensureBackend({ log: () => {} });
    assert.equal(again, first, "the same decision object is returned");
    const wasm = await ensureBackend({ prefer: "wasm", log: () => {} });
    assert.equal(wasm.backend, "wasm");
    assert.equal(tf.getBackend(), "wasm");
  });
});
