/**
 * windflow's own entry points started from the sources (src/util/node-entry.ts): tsx's loader by its absolute
 * path, so a child whose working folder is a project outside windflow's (a DAGs folder anywhere, a worker's
 * data root) starts; a bare `--import tsx` is resolved from that folder and does not.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { nodeEntryCommand } from "../src/util/node-entry.js";
import { tempDir } from "./helpers/csv.js";

const tmp = tempDir("windflow-entry-");
after(() => tmp.cleanup());

test("from the sources, an entry point starts in a folder outside the project; from the build, plain node", () => {
  tmp.file(
    "hello.ts",
    'const who: string = "outside";\nconsole.log("hello from " + who + " " + process.cwd());\n',
  );
  const command = nodeEntryCommand(join(tmp.dir, "caller.ts"), "hello");
  assert.equal(command[0], process.execPath);
  assert.equal(command[1], "--import");
  assert.match(command[2] ?? "", /^\/.*\/node_modules\/tsx\//, "tsx's loader, absolute");
  assert.equal(command[3], join(tmp.dir, "hello.ts"));
  const ran = spawnSync(command[0] as string, command.slice(1), { cwd: tmp.dir, encoding: "utf8" });
  assert.equal(ran.status, 0, ran.stderr);
  assert.equal(ran.stdout.trim(), `hello from outside ${tmp.dir}`);
  // What it replaces: `--import tsx` looks for tsx from the child's folder, where there is none.
  const bare = spawnSync(process.execPath, ["--import", "tsx", command[3] as string], {
    cwd: tmp.dir,
    encoding: "utf8",
  });
  assert.notEqual(bare.status, 0);
  assert.match(bare.stderr, /Cannot find (package|module) 'tsx'/);
  // From the build: `node <dir>/<name>.js`, no loader.
  const built = resolve(__dirname, "..", "dist", "orchestration", "executor", "local.js");
  assert.deepEqual(nodeEntryCommand(built, "task-process"), [
    process.execPath,
    join(__dirname, "..", "dist", "orchestration", "executor", "task-process.js"),
  ]);
});
