/**
 * The kernel's status (src/notebook/kernel.ts), on tslab's own classes (its ZmqServer and JupyterHandlerImpl, the
 * pinned version), driven with Jupyter messages as its sockets deliver them (signed frames), its sockets and its
 * executor stand-ins: no process, no socket. The cells' code is not compiled: the executor stand-in runs a cell
 * until the test ends it. A fresh copy of tslab's module, left as it is, shows the bug the patch removes (the
 * control): Idle while a cell runs.
 */
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { makeKernelStatusTruthful, type TslabJupyterModule } from "../src/notebook/kernel.js";

const KEY = "test-key";
const DELIM = Buffer.from("<IDS|MSG>");

interface Sent {
  readonly type: string;
  readonly parent: string;
  readonly content: Record<string, unknown>;
}

/** The frames of a request, as tslab's shell socket hands them over. */
function frames(msgType: string, content: object): { id: string; frames: Buffer[] } {
  const id = randomUUID();
  const parts = [
    JSON.stringify({ msg_id: id, msg_type: msgType, session: "s", username: "u", version: "5.3", date: "" }),
    "{}",
    "{}",
    JSON.stringify(content),
  ];
  const hmac = createHmac("sha256", KEY);
  for (const p of parts) hmac.update(p);
  return {
    id,
    frames: [
      Buffer.from("client"),
      DELIM,
      Buffer.from(hmac.digest("hex")),
      ...parts.map((p) => Buffer.from(p)),
    ],
  };
}

function parse(raw: (Buffer | string)[]): Sent {
  const at = raw.findIndex((f) => Buffer.isBuffer(f) && f.equals(DELIM));
  const [header, parent, , content] = raw.slice(at + 2).map((f) => JSON.parse(String(f)));
  return { type: header.msg_type, parent: parent.msg_id, content };
}

/** A fresh copy of tslab's jupyter module (its own classes), patched or not. */
function tslabJupyter(patched: boolean): TslabJupyterModule & Record<string, unknown> {
  for (const file of Object.keys(require.cache))
    if (/[/\\]tslab[/\\]dist[/\\]/.test(file)) delete require.cache[file];
  const jupyter = require("tslab/dist/jupyter.js") as TslabJupyterModule & Record<string, unknown>;
  if (patched) makeKernelStatusTruthful(jupyter);
  return jupyter;
}

/** A kernel made of tslab's server and handler, its sockets recording, its cells run until the test ends them. */
function kernel(patched: boolean) {
  const jupyter = tslabJupyter(patched);
  const iopub: Sent[] = [];
  const replies: Sent[] = [];
  const running = new Map<string, (ok: boolean) => void>();
  const started: string[] = [];
  const executor = {
    execute(code: string): Promise<boolean> {
      started.push(code);
      if (code === "fail") return Promise.resolve(false);
      return new Promise((resolve) => running.set(code, resolve));
    },
  };
  const out = process.stdout.write;
  const err = process.stderr.write;
  // tslab points process.stdout/stderr at the cell's output while it runs: here they stay the test's own.
  const Handler = class extends (jupyter.JupyterHandlerImpl as unknown as new (...a: unknown[]) => object) {
    createWriteToIopub(name: string) {
      return name === "stdout" ? out : err;
    }
  };
  const Server = jupyter.ZmqServer as unknown as new (
    handler: object,
    configPath: string,
  ) => {
    connInfo: unknown;
    iopub: unknown;
    handleShellMessage(sock: unknown, ...frames: Buffer[]): Promise<void>;
  };
  const server = new Server(new Handler(executor, false), "");
  server.connInfo = { key: KEY };
  server.iopub = { send: (raw: Buffer[]) => iopub.push(parse(raw)) };
  const shell = { send: (raw: Buffer[]) => replies.push(parse(raw)) };
  const pending: Promise<void>[] = [];
  return {
    iopub,
    replies,
    started,
    /** Sends a request as the shell socket's loop does (not awaited); returns its id. */
    send(msgType: string, content: object = {}): string {
      const m = frames(msgType, content);
      pending.push(server.handleShellMessage(shell, ...m.frames));
      return m.id;
    },
    execute(code: string): string {
      return this.send("execute_request", { code, silent: false, store_history: true });
    },
    end(code: string, ok = true): void {
      const resolve = running.get(code);
      assert.ok(resolve, `${code} is running`);
      running.delete(code);
      resolve(ok);
    },
    /** The last status published, as JupyterLab shows it. */
    status(): string | undefined {
      return iopub.filter((m) => m.type === "status").at(-1)?.content.execution_state as string | undefined;
    },
    statuses(parent: string): string[] {
      return iopub
        .filter((m) => m.type === "status" && m.parent === parent)
        .map((m) => m.content.execution_state as string);
    },
    settled: () => Promise.all(pending),
    cleanup() {
      process.stdout.write = out;
      process.stderr.write = err;
    },
  };
}

/** Lets queued promise callbacks run (tslab's queue hands a cell over on a later turn). */
async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !ok(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(ok(), what);
}

describe("the kernel's status: busy whenever a cell runs (tslab's classes, patched)", () => {
  test("Run All: while the second cell runs, the last status is busy (tslab as it is: idle, the control)", async () => {
    for (const patched of [false, true]) {
      const k = kernel(patched);
      try {
        const a = k.execute("cell 1");
        const b = k.execute("cell 2");
        await until("cell 1 runs", () => k.started.includes("cell 1"));
        assert.equal(k.status(), "busy");
        k.end("cell 1");
        await until("cell 2 runs", () => k.started.includes("cell 2"));
        await until("cell 1's idle", () => k.statuses(a).includes("idle"));
        if (!patched) {
          assert.equal(k.status(), "idle", "the control: tslab as it is says idle while cell 2 runs");
          k.end("cell 2");
          await k.settled();
          continue;
        }
        assert.equal(k.status(), "busy", "cell 2 runs");
        k.end("cell 2");
        await k.settled();
        assert.equal(k.status(), "idle", "all done");
        // Each request: busy first, one idle last, its reply with its count.
        for (const id of [a, b]) {
          const s = k.statuses(id);
          assert.equal(s[0], "busy");
          assert.deepEqual(
            s.filter((x) => x === "idle"),
            ["idle"],
          );
          assert.equal(s.at(-1), "idle");
        }
        assert.deepEqual(
          k.replies
            .filter((r) => r.type === "execute_reply")
            .map((r) => [r.parent, r.content.status, r.content.execution_count]),
          [
            [a, "ok", 1],
            [b, "ok", 2],
          ],
        );
      } finally {
        k.cleanup();
      }
    }
  });

  test("a request answered while a cell runs (kernel_info, a completion) gets its busy and idle, then the cell's busy again", async () => {
    for (const patched of [false, true]) {
      const k = kernel(patched);
      try {
        const a = k.execute("training");
        await until("the cell runs", () => k.started.includes("training"));
        const info = k.send("kernel_info_request");
        const complete = k.send("is_complete_request", { code: "1 +" });
        await until("both answered", () => [info, complete].every((id) => k.statuses(id).includes("idle")));
        await new Promise((r) => setImmediate(r));
        assert.equal(k.status(), patched ? "busy" : "idle", patched ? "the cell still runs" : "the control");
        assert.deepEqual(k.statuses(info), ["busy", "idle"]);
        assert.ok(k.replies.some((r) => r.parent === info && r.type === "kernel_info_reply"));
        k.end("training");
        await k.settled();
        assert.equal(k.status(), "idle");
        assert.equal(k.statuses(a).at(-1), "idle");
      } finally {
        k.cleanup();
      }
    }
  });

  test("a failing cell drops the cells queued behind it, as tslab does; the kernel ends idle", async () => {
    const k = kernel(true);
    try {
      const a = k.execute("fail");
      const b = k.execute("never");
      await k.settled();
      assert.deepEqual(k.started, ["fail"], "the queued cell did not run");
      assert.deepEqual(
        k.replies.filter((r) => r.type === "execute_reply").map((r) => [r.parent, r.content.status]),
        [
          [a, "error"],
          [b, "abort"],
        ],
      );
      assert.equal(k.status(), "idle");
      // After the error, a new cell runs again (tslab resets its queue).
      await new Promise((r) => setTimeout(r, 250));
      const c = k.execute("again");
      await until("the next cell runs", () => k.started.includes("again"));
      assert.equal(k.status(), "busy");
      k.end("again");
      await k.settled();
      assert.equal(k.replies.find((r) => r.parent === c && r.type === "execute_reply")?.content.status, "ok");
      assert.equal(k.status(), "idle");
    } finally {
      k.cleanup();
    }
  });

  test("patching twice changes nothing more; a tslab without the expected methods is refused, naming them", () => {
    const jupyter = tslabJupyter(true);
    const before = (jupyter.ZmqServer.prototype as { handleShellMessage: unknown }).handleShellMessage;
    makeKernelStatusTruthful(jupyter);
    assert.equal((jupyter.ZmqServer.prototype as { handleShellMessage: unknown }).handleShellMessage, before);
    assert.throws(
      () => makeKernelStatusTruthful({ ZmqServer: class {}, JupyterHandlerImpl: class {} }),
      /tslab has no ZmqServer\.publishStatus: the kernel's status patch \(src\/notebook\/kernel\.ts\) needs updating/,
    );
  });
});
