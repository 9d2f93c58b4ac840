import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import { SchemaError, WindflowError } from "../src/errors.js";

describe("how a windflow error prints (console.log, util.inspect: a notebook cell's failure)", () => {
  test("the sentence, the hint and the cause, no stack frame; the stack stays for the logs", () => {
    const e = new WindflowError("no model at models/", {
      hint: "run the train DAG",
      cause: new Error("ENOENT"),
    });
    assert.equal(
      inspect(e),
      "WindflowError: no model at models/\n  hint: run the train DAG\n  cause: ENOENT",
    );
    assert.equal(inspect(new WindflowError("plain")), "WindflowError: plain");
    assert.match(e.stack ?? "", /\n\s+at /, "the stack keeps its frames (task logs print it)");
    const schema = new SchemaError("data.csv", "a bad date", { line: 3 }, "dates are ISO 8601");
    assert.match(inspect(schema), /^SchemaError: data\.csv.*a bad date.*\n {2}hint: dates are ISO 8601$/);
    // Even after something decorated the stack (Node's vm prepends the throwing source line).
    e.stack = `/work/dist/model/io.js:83\n    throw new WindflowError(...)\n    ^\n\n${e.stack}`;
    assert.doesNotMatch(inspect(e), /dist|\^/);
  });
});
