import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { predictedVsActual } from "../src/notebook/figures.js";

describe("figures", () => {
  test("predicted vs actual names its rows (the test rows by default) and says how many of them it draws", () => {
    const actual = Float64Array.from({ length: 21_563 }, (_, i) => i % 90);
    const predicted = Float32Array.from(actual, (v) => v + 0.5);
    const sampled = predictedVsActual(actual, predicted);
    const title = (f: typeof sampled) => (f.layout as { title: { text: string } }).title.text;
    const points = (f: typeof sampled) => (f.data[0] as { x: number[] }).x.length;
    assert.equal(points(sampled), 4_313);
    assert.equal(title(sampled), "Predicted vs actual pitch angle (4,313 of 21,563 test rows)");
    assert.equal((sampled.data[0] as { name: string }).name, "test rows");
    const small = predictedVsActual(actual.subarray(0, 300), predicted, { rows: "validation rows" });
    assert.equal(points(small), 300);
    assert.equal(title(small), "Predicted vs actual pitch angle (300 validation rows)");
    assert.equal((small.data[0] as { name: string }).name, "validation rows");
  });
});
