/**
 * The notebook runner, end to end: a real Jupyter server from the project's .venv, real tslab kernels,
 * notebooks importing the built package ("windflow" -> dist/, so run `npm run -s build` first).
 * One server serves the whole suite; the `after` hook stops it and checks that neither it nor any kernel
 * it started is still running.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { WindflowError } from "../src/errors.js";
import {
  findProjectRoot,
  jupyterEnv,
  tslabKernelspec,
  writeKernelspec,
} from "../src/notebook/jupyter-env.js";
import {
  type CellEvent,
  type NotebookRunResult,
  readNotebook,
  runNotebook,
  runNotebooks,
} from "../src/notebook/run.js";
import { type JupyterServer, startJupyterServer, withJupyterServer } from "../src/notebook/server.js";
import { tempNotebookDir } from "./helpers/notebook-fixtures.js";
import { descendantPids, survivors } from "./helpers/notebook-procs.js";
import { HANG_GUARD_MS, until } from "./helpers/scheduler-env.js";

const root = findProjectRoot(__dirname);
const SETUP_NOTEBOOK = join(root, "notebooks", "00-setup-check.ipynb");

/** Everything a run printed, all cells together. */
function printed(result: NotebookRunResult): string {
  return result.cells
    .flatMap((cell) => cell.outputs)
    .map((o) => (o.output_type === "stream" ? (typeof o.text === "string" ? o.text : o.text.join("")) : ""))
    .join("");
}

describe("project-local Jupyter environment", () => {
  test("findProjectRoot finds windflow's package.json from src/ and dist/, and fails elsewhere with a hint", () => {
    assert.equal(findProjectRoot(join(root, "src", "notebook")), root);
    assert.equal(findProjectRoot(join(root, "dist", "notebook")), root);
    assert.throws(
      () => findProjectRoot(tmpdir()),
      (e: unknown) =>
        e instanceof WindflowError && /windflow project/.test(e.message) && e.hint !== undefined,
    );
  });

  test("writeKernelspec writes tslab's kernel.json once, atomically, and only rewrites it when it changes", (t) => {
    const fake = mkdtempSync(join(tmpdir(), "windflow-kernelspec-"));
    t.after(() => rmSync(fake, { recursive: true, force: true }));
    assert.throws(
      () => writeKernelspec(fake),
      (e: unknown) => e instanceof WindflowError && /npm install/.test(e.hint ?? ""),
    );
    const tslab = join(fake, "node_modules", "tslab", "bin", "tslab");
    mkdirSync(join(tslab, ".."), { recursive: true });
    writeFileSync(tslab, "");
    const entry = join(fake, "dist", "notebook", "kernel.js");
    assert.throws(
      () => writeKernelspec(fake),
      (e: unknown) =>
        e instanceof WindflowError && e.message.includes(entry) && /make build/.test(e.hint ?? ""),
      "tslab installed but windflow not built",
    );
    mkdirSync(join(entry, ".."), { recursive: true });
    writeFileSync(entry, "");

    const first = writeKernelspec(fake);
    assert.equal(first.path, join(fake, ".jupyter", "data", "kernels", "tslab", "kernel.json"));
    assert.equal(first.written, true);
    assert.deepEqual(JSON.parse(readFileSync(first.path, "utf8")), {
      argv: [process.execPath, entry, "--config-path", "{connection_file}"],
      display_name: "TypeScript",
      language: "typescript",
      env: { MALLOC_MMAP_THRESHOLD_: "32768", MALLOC_TRIM_THRESHOLD_: "32768" },
    });
    assert.deepEqual(tslabKernelspec(fake).argv[1], entry);

    const mtime = statSync(first.path).mtimeMs;
    assert.equal(writeKernelspec(fake).written, false);
    assert.equal(statSync(first.path).mtimeMs, mtime, "an identical kernelspec is left untouched");

    writeFileSync(first.path, "{}");
    assert.equal(writeKernelspec(fake).written, true, "a changed kernelspec is repaired");
    assert.equal(JSON.parse(readFileSync(first.path, "utf8")).display_name, "TypeScript");
  });

  test("jupyterEnv points every Jupyter folder into <root>/.jupyter and drops inherited JUPYTER* variables", () => {
    const env = jupyterEnv("/p", {
      PATH: "/usr/bin",
      JUPYTER_CONFIG_PATH: "/somewhere/else",
      JUPYTERLAB_DIR: "/global/lab",
      IPYTHONDIR: "/home/x/.ipython",
    });
    assert.equal(env.PATH, "/usr/bin");
    assert.equal(env.JUPYTER_CONFIG_PATH, undefined);
    assert.equal(env.JUPYTERLAB_DIR, undefined);
    assert.equal(env.JUPYTER_DATA_DIR, "/p/.jupyter/data");
    assert.equal(env.JUPYTER_PATH, "/p/.jupyter/data");
    assert.equal(env.JUPYTER_CONFIG_DIR, "/p/.jupyter/config");
    assert.equal(env.JUPYTER_RUNTIME_DIR, "/p/.jupyter/runtime");
    assert.equal(env.IPYTHONDIR, "/p/.jupyter/ipython");
    assert.equal(env.PYTHONNOUSERSITE, "1");
  });

  test("readNotebook rejects broken files with an error naming the file", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "windflow-nb-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const broken = join(dir, "broken.ipynb");
    writeFileSync(broken, "{ not json");
    assert.throws(() => readNotebook(broken), /broken\.ipynb is not a notebook: invalid JSON/);
    const old = join(dir, "old.ipynb");
    writeFileSync(old, JSON.stringify({ nbformat: 3, nbformat_minor: 0, metadata: {}, worksheets: [] }));
    assert.throws(
      () => readNotebook(old),
      (e: unknown) =>
        e instanceof WindflowError &&
        /old\.ipynb is not a valid nbformat 4 notebook/.test(e.message) &&
        !!e.hint,
    );
  });
});

describe("running notebooks on a real Jupyter server", () => {
  let server: JupyterServer | undefined;
  const notebooks = tempNotebookDir(root);
  const connect = () => {
    assert.ok(server, "the Jupyter server did not start (see the before hook's error)");
    // The runner's own guards come before the test's (HANG_GUARD_MS): a stuck step fails naming itself.
    return {
      serverUrl: server.url,
      token: server.token,
      serverRootDir: server.rootDir,
      timeoutMs: 120_000,
      kernelStartTimeoutMs: 120_000,
    };
  };

  before(
    async () => {
      const started = Date.now();
      server = await startJupyterServer({ root });
      console.log(`jupyter server ready in ${Date.now() - started} ms at ${server.url}`);
    },
    { timeout: HANG_GUARD_MS },
  );

  after(
    async () => {
      notebooks.remove();
      if (server === undefined) return;
      const pids = [server.pid, ...descendantPids(server.pid)];
      await server.stop();
      assert.deepEqual(await survivors(pids), [], "the server and its kernels must be gone");
    },
    { timeout: HANG_GUARD_MS },
  );

  test("the setup notebook runs green and prints the 138 columns", { timeout: HANG_GUARD_MS }, async () => {
    const source = readFileSync(SETUP_NOTEBOOK, "utf8");
    const events: CellEvent[] = [];
    const output = join(notebooks.dir, "00-setup-check.out.ipynb");
    const result = await runNotebook(SETUP_NOTEBOOK, {
      ...connect(),
      outputPath: output,
      onCell: (e) => events.push(e),
    });
    console.log(
      `setup notebook: kernel started in ${result.kernelStartMs} ms, run in ${result.durationMs} ms`,
    );
    assert.equal(result.ok, true, result.failure?.message);
    assert.equal(result.failure, undefined);
    assert.match(printed(result), /\b138\b/);
    assert.match(printed(result), /R80711/);
    assert.deepEqual(
      result.cells.map((c) => [c.status, c.executionCount]),
      result.cells.map((_, i) => ["ok", i + 1]),
    );
    assert.deepEqual(
      events.map((e) => e.kind),
      result.cells.flatMap(() => ["start", "end"]),
    );

    const written = readNotebook(output);
    assert.deepEqual(written, result.notebook);
    assert.equal(written.metadata.kernelspec !== undefined, true);
    assert.equal(readFileSync(SETUP_NOTEBOOK, "utf8"), source, "the source notebook is not modified");
  });

  test("a type error in cell 2 fails there with the compiler's message: types flow from the package", {
    timeout: HANG_GUARD_MS,
  }, async () => {
    const path = notebooks.write("type-error.ipynb", [
      'import { COLUMNS } from "windflow";',
      "const s: string = COLUMNS.length;",
      'console.log("cell 3 ran");',
    ]);
    const result = await runNotebook(path, connect());
    assert.equal(result.ok, false);
    assert.equal(result.failure?.cellIndex, 2);
    assert.equal(result.failure?.codeCell, 2);
    assert.equal(result.failure?.reason, "error");
    assert.match(result.failure?.message ?? "", /TS2322|not assignable/);
    assert.match(result.failure?.message ?? "", /'number'.*'string'/);
    assert.deepEqual(
      result.cells.map((c) => c.status),
      ["ok", "error", "not-run"],
    );
    const third = result.notebook.cells[2];
    assert.equal(third?.cell_type, "code");
    if (third?.cell_type === "code") {
      assert.equal(third.execution_count, null);
      assert.deepEqual(third.outputs, []);
    }
    assert.doesNotMatch(printed(result), /cell 3 ran/);
  });

  test("a runtime error in cell 3 fails there with its message; later cells do not run", {
    timeout: HANG_GUARD_MS,
  }, async () => {
    const path = notebooks.write("runtime-error.ipynb", [
      { markdown: "# A notebook that throws" },
      'import { TURBINES } from "windflow";\nconsole.log(TURBINES.length);',
      'throw new Error("boom");',
      'console.log("after the error");',
    ]);
    const result = await runNotebook(path, connect());
    assert.equal(result.ok, false);
    assert.equal(result.failure?.cellIndex, 3, "1-based among all cells, markdown included");
    assert.equal(result.failure?.codeCell, 2, "1-based among code cells");
    assert.match(result.failure?.message ?? "", /Error: boom/);
    assert.doesNotMatch(
      result.failure?.message ?? "",
      /tslab[\\/]dist/,
      "kernel-internal frames are dropped",
    );
    assert.deepEqual(
      result.cells.map((c) => c.status),
      ["ok", "error", "not-run"],
    );
    assert.match(printed(result), /^4$/m);
    assert.doesNotMatch(printed(result), /after the error/);
  });

  test("a windflow error prints its sentence and hint, without stack frames, awaited or not", {
    timeout: HANG_GUARD_MS,
  }, async () => {
    const awaited = notebooks.write("windflow-error-awaited.ipynb", [
      'import { loadDataset } from "windflow";\nawait loadDataset("/no/such/file.csv");',
    ]);
    // Thrown from windflow's compiled code in a cell without await: Node's vm prepends that source line to the
    // stack (its DecorateErrorStack), which must not show either.
    const thrown = notebooks.write("windflow-error-sync.ipynb", [
      'import { splitRows } from "windflow";\nsplitRows(-1);',
    ]);
    for (const [path, sentence, hint] of [
      [awaited, /WindflowError: \/no\/such\/file.csv: no such file/, /\n {2}hint: run `make dataset`/],
      [thrown, /SplitError: .*the row count must be a whole number/, null],
    ] as const) {
      const result = await runNotebook(path, connect());
      assert.equal(result.ok, false, path);
      const shown = `${printed(result)}\n${result.failure?.message ?? ""}`;
      assert.match(shown, sentence);
      if (hint) assert.match(shown, hint);
      assert.doesNotMatch(shown, /^\s+at /m, `no stack frame: ${shown}`);
      assert.doesNotMatch(shown, /dist[\\/]|\^$/m, `no windflow source line: ${shown}`);
    }
  });

  test("a cell running past its timeout is interrupted and reported", {
    timeout: HANG_GUARD_MS,
  }, async () => {
    // The endless cell comes first: whatever the machine's load, it is the one that runs past the budget (a
    // cell before it could too, on a busy machine, since the kernel's first cell compiles its TypeScript setup).
    const path = notebooks.write("endless.ipynb", ["while (true) {}", '"not reached"']);
    const result = await runNotebook(path, { ...connect(), timeoutMs: 1_500 });
    assert.equal(result.ok, false);
    assert.equal(result.failure?.reason, "timeout");
    assert.equal(result.failure?.cellIndex, 1);
    assert.match(result.failure?.message ?? "", /did not finish within 1500 ms/);
    assert.deepEqual(
      result.cells.map((c) => c.status),
      ["timeout", "not-run"],
    );
  });

  test("runNotebooks runs each notebook on its own kernel and writes each executed copy", {
    timeout: HANG_GUARD_MS,
  }, async () => {
    const good = notebooks.write("good.ipynb", ["const x = 20;", "x * 2"]);
    const bad = notebooks.write("bad.ipynb", ["x * 2"]);
    const results = await runNotebooks([good, bad], {
      ...connect(),
      outputFor: (p) => p.replace(/\.ipynb$/, ".out.ipynb"),
    });
    assert.deepEqual(
      results.map((r) => r.ok),
      [true, false],
    );
    assert.match(printed(results[0] as NotebookRunResult), /^40$/m);
    // A fresh kernel: `x` from the first notebook does not exist in the second.
    assert.match(results[1]?.failure?.message ?? "", /Cannot find name 'x'/);
    const copy = readNotebook(good.replace(/\.ipynb$/, ".out.ipynb"));
    const last = copy.cells[1];
    assert.equal(last?.cell_type === "code" ? last.execution_count : undefined, 2);
  });

  // src/notebook/kernel.ts; tests/kernel-status.test.ts has the cases on tslab's classes. Here, the kernel the
  // kernelspec starts, as JupyterLab's client (@jupyterlab/services) sees its status.
  test("Run All: the kernel's status is busy while the second cell runs, and while a kernel_info request is answered mid-cell", {
    timeout: HANG_GUARD_MS,
  }, async () => {
    assert.ok(server, "the Jupyter server did not start (see the before hook's error)");
    const { KernelManager, ServerConnection } = await import("@jupyterlab/services");
    const serverSettings = ServerConnection.makeSettings({ baseUrl: server.url, token: server.token });
    const debug = console.debug;
    console.debug = () => {};
    const manager = new KernelManager({ serverSettings });
    const kernel = await manager.startNew({ name: "tslab" });
    try {
      await kernel.info;
      const seen: string[] = [];
      kernel.iopubMessage.connect((_, msg) => {
        if (msg.header.msg_type !== "stream") return;
        const text = String((msg.content as { text?: string }).text ?? "");
        // What JupyterLab's status bar shows at that moment: the client's status, from the kernel's messages.
        for (const mark of ["second cell running", "after kernel_info"])
          if (text.includes(mark)) seen.push(`${mark}: ${kernel.status}`);
      });
      const first = kernel.requestExecute({ code: "await new Promise((r) => setTimeout(r, 200)); 1" });
      // The second cell waits for the test's go (a file), written once the kernel_info reply is in: its
      // "after kernel_info" line is printed after whatever the kernel published for that request.
      const go = join(mkdtempSync(join(tmpdir(), "windflow-kernel-status-")), "go");
      const second = kernel.requestExecute({
        code: [
          'console.log("second cell running");',
          `const go = ${JSON.stringify(go)};`,
          'const { existsSync } = await import("node:fs");',
          "for (let i = 0; i < 2400 && !existsSync(go); i++) await new Promise((r) => setTimeout(r, 50));",
          'console.log("after kernel_info");',
          "2",
        ].join("\n"),
      });
      // A kernel_info request while the second cell waits (JupyterLab sends one when it reconnects).
      await new Promise<void>((resolve) => {
        const watch = (_: unknown, msg: { header: { msg_type: string }; content: unknown }) => {
          if (
            msg.header.msg_type === "stream" &&
            String((msg.content as { text?: string }).text).includes("second cell running")
          ) {
            kernel.iopubMessage.disconnect(watch);
            resolve();
          }
        };
        kernel.iopubMessage.connect(watch);
      });
      await kernel.requestKernelInfo();
      writeFileSync(go, "");
      await first.done;
      await second.done;
      rmSync(join(go, ".."), { recursive: true, force: true });
      // Without the patch (tslab's own kernel), measured: "after kernel_info: idle", the request's idle came last.
      // (The first mark reads busy either way here: the second cell prints before the first cell's idle arrives;
      // jupyterlab-browser.test.ts shows that case in JupyterLab, and kernel-status.test.ts on tslab's classes.)
      assert.deepEqual(seen, ["second cell running: busy", "after kernel_info: busy"]);
      await until("the kernel idle once both cells are done", () =>
        kernel.status === "idle" ? true : undefined,
      );
    } finally {
      await kernel.shutdown().catch(() => {});
      kernel.dispose();
      manager.dispose();
      console.debug = debug;
    }
  });
});

describe("server start-up errors", () => {
  test("a project without .venv gets an error naming `make install`", async (t) => {
    const fake = mkdtempSync(join(tmpdir(), "windflow-novenv-"));
    t.after(() => rmSync(fake, { recursive: true, force: true }));
    await assert.rejects(
      startJupyterServer({ root: fake }),
      (e: unknown) =>
        e instanceof WindflowError &&
        /\.venv\/bin\/jupyter is missing/.test(e.message) &&
        /make install/.test(e.hint ?? ""),
    );
  });

  test("a server that dies before it is ready is reported with its last output", {
    timeout: HANG_GUARD_MS,
  }, async (t) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    t.after(() => blocker.close());
    const port = (blocker.address() as AddressInfo).port;
    await assert.rejects(startJupyterServer({ root, port }), (e: unknown) => {
      assert.ok(e instanceof WindflowError);
      assert.match(e.message, /exited with 1 before it was ready/);
      assert.match(e.message, new RegExp(`port ${port} is not available|${port} is already in use`));
      return true;
    });
  });
});

/** Starts a fake Jupyter server on a free port (closed after the test) and writes a one-cell notebook for it. */
async function listenWithNotebook(
  t: { after(fn: () => void): void },
  fake: HttpServer,
  name: string,
): Promise<{ url: string; notebook: string }> {
  await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    fake.closeAllConnections();
    fake.close();
  });
  const dir = tempNotebookDir(root);
  t.after(() => dir.remove());
  return {
    url: `http://127.0.0.1:${(fake.address() as AddressInfo).port}/`,
    notebook: dir.write(name, ["1 + 1"]),
  };
}

describe("a Jupyter server that does not answer", () => {
  test("a session request left unanswered fails after the kernel start guard, naming the step", {
    timeout: HANG_GUARD_MS,
  }, async (t) => {
    // Answers every poll of @jupyterlab/services with an empty list, and never answers the session request.
    const held: ServerResponse[] = [];
    const fake = createHttpServer((request, response) => {
      if (request.method === "POST" && request.url?.startsWith("/api/sessions")) {
        held.push(response);
        return;
      }
      response.writeHead(200, { "content-type": "application/json" }).end("[]");
    });
    const { url, notebook } = await listenWithNotebook(t, fake, "unanswered.ipynb");
    const started = Date.now();
    await assert.rejects(
      runNotebook(notebook, {
        serverUrl: url,
        token: "t",
        serverRootDir: root,
        kernelStartTimeoutMs: 1_500,
      }),
      (e: unknown) =>
        e instanceof WindflowError &&
        /did not answer the request for a tslab kernel/.test(e.message) &&
        /within 1500 ms/.test(e.message),
    );
    assert.equal(held.length, 1, "the session was asked for once");
    assert.ok(Date.now() - started < 60_000, "the guard, not the test's timeout, ended the wait");
  });

  test("a shutdown left unanswered is waited for up to its guard, said on stderr, and the run's own error kept", {
    timeout: HANG_GUARD_MS,
  }, async (t) => {
    const { fake, deletes } = sessionServer({ answerShutdown: false });
    const { url, notebook } = await listenWithNotebook(t, fake, "never-shut.ipynb");
    const said: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      said.push(String(chunk));
      return write.call(process.stderr, chunk, ...rest);
    }) as typeof process.stderr.write;
    t.after(() => {
      process.stderr.write = write;
    });
    const started = Date.now();
    await assert.rejects(
      runNotebook(notebook, {
        serverUrl: url,
        token: "t",
        serverRootDir: root,
        kernelStartTimeoutMs: 1_500,
        shutdownTimeoutMs: 1_000,
      }),
      (e: unknown) =>
        e instanceof WindflowError &&
        /did not answer its first kernel_info request within 1500 ms/.test(e.message),
    );
    assert.equal(deletes.length, 1, "the session's shutdown was asked for");
    assert.match(said.join(""), /did not confirm within 1000 ms that it shut down kernel k-1; going on/);
    assert.ok(Date.now() - started < 60_000, "the guards, not the test's timeout, ended the waits");
    // The request left unanswered is abandoned, so it keeps no process alive.
    await until(
      "the unanswered shutdown request to be abandoned",
      () => ((deletes[0] as ServerResponse).closed ? true : undefined),
      30_000,
    );
  });

  test("a session the server starts after the guard is shut down once it comes", {
    timeout: HANG_GUARD_MS,
  }, async (t) => {
    const { fake, deletes } = sessionServer({ sessionAfterMs: 2_500, answerShutdown: true });
    const { url, notebook } = await listenWithNotebook(t, fake, "late.ipynb");
    await assert.rejects(
      runNotebook(notebook, {
        serverUrl: url,
        token: "t",
        serverRootDir: root,
        kernelStartTimeoutMs: 1_000,
        shutdownTimeoutMs: 5_000,
      }),
      (e: unknown) =>
        e instanceof WindflowError && /did not answer the request for a tslab kernel/.test(e.message),
    );
    assert.equal(deletes.length, 0, "no shutdown before the session exists");
    await until("the late session's shutdown", () => (deletes.length === 1 ? true : undefined), 30_000);
  });
});

/**
 * A fake Jupyter server whose sessions start (after `sessionAfterMs`) with a kernel that never answers (its
 * websocket is refused); shutdowns (DELETE) are recorded, and answered or left hanging.
 */
function sessionServer(options: { sessionAfterMs?: number; answerShutdown: boolean }): {
  fake: HttpServer;
  deletes: ServerResponse[];
} {
  const kernel = {
    id: "k-1",
    name: "tslab",
    last_activity: new Date().toISOString(),
    execution_state: "starting",
    connections: 0,
  };
  const deletes: ServerResponse[] = [];
  const fake = createHttpServer((request, response) => {
    const json = (body: unknown, status = 200) =>
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (request.method === "POST" && request.url?.startsWith("/api/sessions")) {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        const asked = JSON.parse(body) as { path: string; name: string; type: string };
        setTimeout(
          () => json({ id: "s-1", path: asked.path, name: asked.name, type: asked.type, kernel }, 201),
          options.sessionAfterMs ?? 0,
        );
      });
      return;
    }
    if (request.method === "DELETE") {
      deletes.push(response);
      if (options.answerShutdown) response.writeHead(204).end();
      return;
    }
    if (request.url?.startsWith("/api/kernels/k-1")) return json(kernel);
    json([]);
  });
  return { fake, deletes };
}

describe("cleanup", () => {
  test("withJupyterServer stops the server and its kernels when the caller throws", {
    timeout: HANG_GUARD_MS,
  }, async () => {
    let pids: number[] = [];
    await assert.rejects(
      withJupyterServer({ root }, async (server) => {
        const response = await fetch(`${server.url}api/kernels`, {
          method: "POST",
          headers: { Authorization: `token ${server.token}` },
          body: JSON.stringify({ name: "tslab" }),
        });
        assert.equal(response.status, 201);
        const deadline = Date.now() + 20_000;
        while (descendantPids(server.pid).length === 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        pids = [server.pid, ...descendantPids(server.pid)];
        throw new Error("the caller failed");
      }),
      /the caller failed/,
    );
    assert.ok(pids.length >= 2, "a kernel process was running under the server");
    assert.deepEqual(await survivors(pids), []);
  });
});
