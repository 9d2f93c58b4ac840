/**
 * Adversarial, class "disk full", on a real file system: a 4 MB tmpfs mounted for this file (the machine lets
 * root mount one; where it does not, each test says why and checks that the only reason is a missing privilege,
 * and the fault-injecting writer of `inputs-pure.test.ts` covers the same steps). The disk is filled to a chosen
 * number of free bytes, then a real step writes there: `windflow features` (polars' Parquet writer), the dated
 * predictions (`writeDated`: the content, then latest's copy), the model registry (`saveToRegistry`: the staged
 * folder, then the `latest` pointer) and the SQLite metadata store under `windflow dags trigger`. Every one ends
 * with an error that names the file and says the disk is full, no stack trace, no temporary left behind, and the
 * previous outputs as they were; once space is freed, the same step succeeds. And the same tmpfs remounted
 * read-only: `features`, `train` and `predict` say so, naming the folder, before any work.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, type TestContext, test } from "node:test";
import * as pl from "nodejs-polars";
import { writeDated } from "../../src/io/dated.js";
import { ensureBackend } from "../../src/model/backend.js";
import { LATEST_FILE, saveToRegistry } from "../../src/model/io.js";
import { trainModel } from "../../src/model/model.js";
import { openSqliteStore } from "../../src/orchestration/store/sqlite.js";
import { OutputWriteError } from "../../src/util/atomic.js";
import { HEADER, row } from "../helpers/csv.js";
import { ROOT } from "../helpers/scheduler-env.js";

const WORK = mkdtempSync(join(tmpdir(), "windflow-disk-full-"));
const MNT = join(WORK, "tmpfs");
const FILLER = join(MNT, ".filler");
let mounted = false;
let whyNot = "";

before(() => {
  mkdirSync(MNT);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", MNT], { stdio: "pipe" });
    mounted = true;
  } catch (error) {
    whyNot = `${(error as { stderr?: Buffer }).stderr?.toString() ?? ""} ${String(error)}`;
  }
});
after(() => {
  if (mounted) execFileSync("umount", ["-l", MNT]);
  rmSync(WORK, { recursive: true, force: true });
});

/** False (with the reason, which must be a missing privilege) where no tmpfs could be mounted. */
function onTmpfs(t: TestContext): boolean {
  if (mounted) return true;
  t.diagnostic(`no tmpfs here (${whyNot.trim()}); inputs-pure.test.ts injects the same faults`);
  assert.match(whyNot, /permission|not permitted|superuser|EPERM|EACCES|ENOENT|only root/i);
  return false;
}

/** Frees the tmpfs, then fills it so that about `free` bytes remain (tmpfs counts 4 kB pages). */
function fill(free: number): void {
  rmSync(FILLER, { force: true });
  const s = statfsSync(MNT);
  let left = Math.max(0, s.bavail * s.bsize - free);
  const fd = openSync(FILLER, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    while (left > 0) left -= writeSync(fd, chunk, 0, Math.min(chunk.length, left));
  } finally {
    closeSync(fd);
  }
}
const free = () => rmSync(FILLER, { force: true });
const temporaries = (dir: string) =>
  readdirSync(dir).filter((f) => f.endsWith(".tmp") || f.startsWith(".tmp-"));

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, "dist", "cli", "main.js"), ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** What a user reads: the message, the hint, no JavaScript stack. */
function assertNamed(stderr: string, path: RegExp) {
  assert.match(stderr, /the disk is full|disk I\/O error/, stderr);
  assert.match(stderr, path, stderr);
  assert.match(stderr, /hint: /, stderr);
  assert.doesNotMatch(stderr, /^\s+at /m, `no stack trace:\n${stderr}`);
}

describe("adversarial: a full disk, on a real tmpfs", () => {
  test("windflow features: the Parquet write fails with the file named; the previous file is kept", (t) => {
    if (!onTmpfs(t)) return;
    const csv = join(WORK, "data.csv");
    const lines = [HEADER];
    for (let i = 0; i < 2000; i++)
      lines.push(
        row({ Date_time: `2017-01-${String(1 + (i % 28)).padStart(2, "0")}T0${i % 10}:00:00+01:00` }, i),
      );
    writeFileSync(csv, `${lines.join("\n")}\n`);
    const out = join(MNT, "features.parquet");
    writeFileSync(out, "previous");
    fill(0);
    const r = cli(["features", "--input", csv, "--output", out]);
    assert.equal(r.code, 1, r.stderr);
    assertNamed(r.stderr, /features\.parquet/);
    assert.equal(readFileSync(out, "utf8"), "previous");
    assert.deepEqual(temporaries(MNT), []);
    free();
    const again = cli(["features", "--input", csv, "--output", out]);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(pl.readParquet(out).height > 0);
  });

  for (const [step, room, failing] of [
    ["the content write", 0, "write"],
    ["latest's copy (the content fitted)", 600 * 1024, "copy"],
  ] as const)
    test(`dated predictions, full at ${step}: no new dated file, latest.csv still the newest's content`, async (t) => {
      if (!onTmpfs(t)) return;
      const dir = join(MNT, `predictions-${room}`);
      free();
      await writeDated(dir, ".csv", (p) => writeFileSync(p, "old\n"), new Date("2026-01-01T00:00:00Z"));
      const before = readdirSync(dir).sort();
      fill(room);
      const content = "x".repeat(400 * 1024); // fits once in 600 kB, not twice
      // The real file operations, watched: which one met the full disk.
      let failedAt = "";
      const watch =
        <A extends unknown[]>(name: string, op: (...a: A) => void) =>
        (...a: A) => {
          try {
            op(...a);
          } catch (error) {
            failedAt ||= `${name} ${(error as NodeJS.ErrnoException).code}`;
            throw error;
          }
        };
      const fs = { copyFileSync: watch("copy", copyFileSync), linkSync, renameSync };
      await assert.rejects(
        writeDated(
          dir,
          ".csv",
          watch("write", (p: string) => writeFileSync(p, content)),
          new Date("2026-06-01T00:00:00Z"),
          fs,
        ),
        (e: Error) =>
          e instanceof OutputWriteError && /the disk is full/.test(e.message) && e.message.includes(dir),
      );
      assert.equal(failedAt, `${failing} ENOSPC`);
      assert.deepEqual(readdirSync(dir).sort(), before, "nothing new, nothing half-written");
      assert.equal(readFileSync(join(dir, "latest.csv"), "utf8"), "old\n");
      free();
      const w = await writeDated(
        dir,
        ".csv",
        (p) => writeFileSync(p, content),
        new Date("2026-06-01T00:00:00Z"),
      );
      assert.equal(readFileSync(w.latest, "utf8"), content);
    });

  test("the model registry: a full disk while staging the model leaves the registry and latest as they were", async (t) => {
    if (!onTmpfs(t)) return;
    await ensureBackend({ prefer: "cpu", log: () => {} });
    const columns: Record<string, Float64Array> = {};
    for (let j = 0; j < 40; j++)
      columns[`f${j}`] = Float64Array.from({ length: 200 }, (_, i) => Math.sin(i * (j + 1)));
    columns.Ba_avg = Float64Array.from({ length: 200 }, (_, i) => (i % 90) - 1);
    const { model, metadata } = await trainModel(pl.DataFrame(columns), {
      hiddenUnits: [512],
      epochs: 1,
      seed: 1,
      progress: false,
      log: () => {},
    });
    const registry = join(MNT, "models");
    free();
    const first = await saveToRegistry(registry, model, metadata, { now: new Date("2026-01-01T00:00:00Z") });
    const before = readdirSync(registry).sort();
    fill(8 * 1024); // the weights (40 x 512 floats and more: over 80 kB) cannot fit
    await assert.rejects(
      saveToRegistry(registry, model, metadata, { now: new Date("2026-06-01T00:00:00Z") }),
      (e: Error) =>
        e instanceof OutputWriteError && /the disk is full/.test(e.message) && e.message.includes(registry),
    );
    assert.deepEqual(readdirSync(registry).sort(), before, "no new folder, no temporary");
    assert.equal(readFileSync(join(registry, LATEST_FILE), "utf8").trim(), first.name);
    free();
    const second = await saveToRegistry(registry, model, metadata, { now: new Date("2026-06-01T00:00:00Z") });
    assert.equal(readFileSync(join(registry, LATEST_FILE), "utf8").trim(), second.name);
  });

  test("the metadata store: dags trigger on a full disk names the database; nothing is lost or added", (t) => {
    if (!onTmpfs(t)) return;
    const home = join(MNT, "home");
    const env = { WINDFLOW_HOME: home };
    free();
    assert.equal(cli(["dags", "unpause", "train"], env).code, 0);
    const first = cli(["dags", "trigger", "train", "--date", "2026-01-01T00:00:00Z"], env);
    assert.equal(first.code, 0, first.stderr);
    fill(0);
    for (const args of [
      ["dags", "trigger", "train", "--date", "2026-02-01T00:00:00Z"],
      ["dags", "list-runs", "train"],
    ]) {
      const r = cli(args, env);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assertNamed(r.stderr, /windflow\.db/);
    }
    free();
    const runs = cli(["dags", "list-runs", "train"], env);
    assert.equal(runs.code, 0, runs.stderr);
    assert.match(runs.stdout, /2026-01-01T00:00:00/);
    assert.doesNotMatch(runs.stdout, /2026-02-01/);
    const store = openSqliteStore(join(home, "windflow.db"));
    try {
      assert.deepEqual(store.db.pragma("integrity_check"), [{ integrity_check: "ok" }]);
    } finally {
      store.close();
    }
    assert.ok(existsSync(join(home, "windflow.db")));
  });

  // chmod cannot make a folder read-only for root (the tests run as root in CI): a file system mounted read-only
  // can. checkWritable (util/atomic.ts) must say so before any work, for each step that writes.
  test("a read-only file system (the tmpfs remounted ro): features, train and predict name the folder and say it is read-only before any work; nothing written", (t) => {
    if (!onTmpfs(t)) return;
    free();
    const dir = join(MNT, "read-only");
    mkdirSync(dir);
    writeFileSync(join(dir, "kept.txt"), "kept");
    execFileSync("mount", ["-o", "remount,ro", MNT]);
    try {
      // The inputs do not exist: the read-only output is said first (before reading, training or predicting).
      const missing = join(WORK, "no-such-input.parquet");
      for (const [args, named] of [
        [["features", "--input", join(WORK, "no-such.csv"), "--output", join(dir, "features.parquet")], dir],
        [["train", "--features", missing, "--models", join(dir, "models")], dir],
        [["predict", "--features", missing, "--model", missing, "--output", join(dir, "predictions")], dir],
      ] as const) {
        const r = cli([...args]);
        assert.equal(r.code, 1, `${args[0]}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /the file system is read-only/, `${args[0]}: ${r.stderr}`);
        assert.ok(r.stderr.includes(named), `${args[0]} names ${named}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /no-such|not found|does not exist/i, `${args[0]}: the output first`);
        assert.doesNotMatch(r.stderr, /^\s+at |panicked/m, `${args[0]}: no stack trace, no Rust panic`);
      }
    } finally {
      execFileSync("mount", ["-o", "remount,rw", MNT]);
    }
    assert.deepEqual(readdirSync(dir), ["kept.txt"], "nothing written");
  });
});
