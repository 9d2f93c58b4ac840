import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { loadConfig } from "../src/config.js";
import { WindflowError } from "../src/errors.js";
import { chooseBackend, NATIVE_PACKAGE } from "../src/model/backend.js";

const realRequire = (name: string): unknown => require(name);
/** `[model] backend` left at its default, whatever this machine's environment says. */
const auto = () => ({ value: "auto" as const, from: "default" });
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
      setting: auto,
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
    assert.match(choice.attempts[0]?.reason ?? "", /not installed \(`make install` builds it/);
    // One short line, and the details where they are asked for (windflow doctor shows choice.reason).
    assert.deepEqual(lines, [
      "TensorFlow.js backend: wasm (native backend not installed: `windflow doctor` says why)",
    ]);
    assert.match(choice.reason, /^WebAssembly, one thread.*; not native: tfjs-node-native is not installed/);
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
    const lines: string[] = [];
    const choice = await chooseBackend({ load, setting: auto, log: (l) => lines.push(l) });
    assert.equal(choice.backend, "tensorflow");
    assert.deepEqual(lines, ["TensorFlow.js backend: tensorflow (native libtensorflow)"]);
    assert.equal(tf.getBackend(), "tensorflow");
    tf.removeBackend("tensorflow");
  });

  test("a native package that fails to load is reported, and wasm is used", async () => {
    const choice = await chooseBackend({
      log: () => {},
      setting: auto,
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
      setting: auto,
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

  test("[model] backend forces one, says where it was set, and a forced backend that cannot start is an error", async () => {
    const env = { ...process.env, WINDFLOW__MODEL__BACKEND: "cpu" };
    const config = loadConfig({ env });
    assert.equal(config.model.backend, "cpu");
    const entry = config.entries.find((e) => e.section === "model" && e.key === "backend");
    assert.equal(entry?.from, "environment variable WINDFLOW__MODEL__BACKEND");
    const lines: string[] = [];
    const setting = () => ({ value: config.model.backend, from: entry?.from ?? "" });
    const choice = await chooseBackend({ setting, log: (l) => lines.push(l) });
    assert.equal(choice.backend, "cpu");
    assert.equal(choice.forcedBy, "environment variable WINDFLOW__MODEL__BACKEND");
    assert.deepEqual(lines, [
      "TensorFlow.js backend: cpu (forced by [model] backend, environment variable WINDFLOW__MODEL__BACKEND)",
    ]);
    // Forced native, not installed: no silent fallback to wasm.
    await assert.rejects(
      chooseBackend({
        setting: () => ({ value: "tensorflow", from: "/home/windflow.cfg:3" }),
        log: () => {},
        load: (name) => (name === NATIVE_PACKAGE ? notFound(name) : realRequire(name)),
      }),
      (e: unknown) =>
        e instanceof WindflowError &&
        /the TensorFlow\.js backend tensorflow cannot start: tensorflow: tfjs-node-native is not installed/.test(
          e.message,
        ) &&
        /\[model\] backend = tensorflow \(\/home\/windflow\.cfg:3\): set it to auto/.test(e.hint ?? ""),
    );
    assert.throws(
      () => loadConfig({ env: { ...process.env, WINDFLOW__MODEL__BACKEND: "gpu" } }),
      /\[model\] backend.*gpu/,
    );
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
