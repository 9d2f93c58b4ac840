import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, test } from "node:test";

const root = join(__dirname, "..");

describe("windflow lab (make lab)", () => {
  test("starts JupyterLab on 127.0.0.1, prints the URL, serves the notebooks with tslab as default kernel, stops on Ctrl-C", async () => {
    const child = spawn(process.execPath, [join(root, "dist/cli/main.js"), "lab"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    try {
      const deadline = Date.now() + 60_000;
      while (!/lab\/tree\/notebooks\?token=/.test(out)) {
        assert.ok(Date.now() < deadline, `no URL printed within 60 s; output: ${out}`);
        assert.equal(child.exitCode, null, "windflow lab exited early");
        await new Promise((r) => setTimeout(r, 100));
      }
      const url = new URL(/(http:\/\/\S+lab\/tree\/notebooks\?token=\S+)/.exec(out)?.[1] ?? "");
      assert.equal(url.hostname, "127.0.0.1");
      const token = url.searchParams.get("token") ?? "";
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /JupyterLab/);
      const auth = { headers: { authorization: `token ${token}` } };
      const specs = (await (await fetch(new URL("/api/kernelspecs", url), auth)).json()) as {
        default: string;
        kernelspecs: Record<string, { spec: { display_name: string } }>;
      };
      assert.equal(specs.default, "tslab");
      assert.equal(specs.kernelspecs.tslab?.spec.display_name, "TypeScript");
      const names = async (path: string) =>
        (
          (await (await fetch(new URL(`/api/contents/${path}`, url), auth)).json()) as {
            content: { name: string }[];
          }
        ).content.map((c) => c.name);
      const top = await names("");
      assert.ok(
        top.includes("notebooks") && top.includes("dags"),
        "the project folder is the root: dags/ is reachable",
      );
      assert.ok((await names("notebooks")).includes("04-orchestration.ipynb"));
      // The launcher tile of the windflow UI (jupyter-server-proxy).
      const proxied = (await (await fetch(new URL("/server-proxy/servers-info", url), auth)).json()) as {
        server_processes: { name: string; launcher_entry: { title: string } }[];
      };
      assert.deepEqual(
        proxied.server_processes.map((p) => [p.name, p.launcher_entry.title]),
        [["windflow", "windflow"]],
      );
    } finally {
      child.kill("SIGINT");
      const [code] = (await once(child, "exit")) as [number | null];
      assert.equal(code, 0);
    }
  });

  test("--student opens the trainee's version in its own folder, made once and then kept as the trainee left it", async () => {
    mkdirSync(join(root, ".e2e"), { recursive: true });
    const folder = mkdtempSync(join(root, ".e2e", "trainee-"));
    rmSync(folder, { recursive: true });
    try {
      const first = await openLab(
        ["--student", "--folder", relative(root, folder)],
        async (url, auth, err) => {
          assert.match(
            err,
            /trainee version made in \.e2e\/trainee-\w+\/: .*dags\/predict\.ts \(1 exercise\)/,
          );
          const top = await contents(url, auth, "");
          assert.deepEqual(
            ["dags", "data", "models", "notebooks"].filter((n) => top.includes(n)),
            ["dags", "data", "models", "notebooks"],
          );
          assert.match(await text(url, auth, "dags/predict.ts"), /notDoneYet\("Exercise 4/);
          assert.match(
            await text(url, auth, "notebooks/02-features-and-model.ipynb"),
            /notDoneYet\(\\"Exercise 2/,
          );
          return err;
        },
      );
      assert.ok(first.length > 0);
      // The trainee's own environment: its dags/ and a home of its own, for the kernels and the tile's scheduler.
      assert.ok(existsSync(join(folder, ".windflow-trainee")));
      // The trainee works, closes the lab, opens it again (in French this time): the work is there.
      writeFileSync(join(folder, "dags", "predict.ts"), "// my work\n");
      await openLab(
        ["--student", "--folder", relative(root, folder), "--lang", "fr"],
        async (url, auth, err) => {
          assert.match(err, /trainee version reopened in \.e2e\/trainee-\w+\/ as it was/);
          assert.equal(await text(url, auth, "dags/predict.ts"), "// my work\n");
          assert.match(
            url.pathname,
            /\/lab\/tree\/notebooks\/fr$/,
            "JupyterLab opens on the French notebooks",
          );
          assert.ok((await contents(url, auth, "notebooks/fr")).includes("04-orchestration.ipynb"));
          assert.match(
            await text(url, auth, "notebooks/fr/02-features-and-model.ipynb"),
            /## Exercice 2[\s\S]*notDoneYet\(\\"Exercise 2/,
          );
          return err;
        },
      );
      assert.equal(readFileSync(join(folder, "dags", "predict.ts"), "utf8"), "// my work\n");
      // A folder windflow did not make is never taken over.
      const foreign = mkdtempSync(join(root, ".e2e", "not-trainee-"));
      const refused = spawnSync(
        process.execPath,
        [join(root, "dist/cli/main.js"), "lab", "--student", "--folder", foreign],
        { cwd: root, encoding: "utf8" },
      );
      rmSync(foreign, { recursive: true, force: true });
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /exists and is not a trainee workspace made by windflow/);
      // A language there are no notebooks in: refused, naming those there are.
      const german = spawnSync(process.execPath, [join(root, "dist/cli/main.js"), "lab", "--lang", "de"], {
        cwd: root,
        encoding: "utf8",
      });
      assert.notEqual(german.status, 0);
      assert.match(german.stderr, /argument 'de' is invalid\. Allowed choices are en, fr/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

type Auth = { headers: { authorization: string } };

/** Starts `windflow lab ARGS`, runs `fn` with its URL once printed, stops it with Ctrl-C (exit code 0). */
async function openLab<T>(
  args: string[],
  fn: (url: URL, auth: Auth, stderr: string) => Promise<T>,
): Promise<T> {
  const child = spawn(process.execPath, [join(root, "dist/cli/main.js"), "lab", ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  try {
    const deadline = Date.now() + 60_000;
    while (!/lab\/tree\/notebooks(\/fr)?\?token=/.test(out)) {
      assert.ok(Date.now() < deadline, `no URL printed within 60 s; output: ${out}${err}`);
      assert.equal(child.exitCode, null, `windflow lab exited early: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = new URL(/(http:\/\/\S+lab\/tree\/notebooks(\/fr)?\?token=\S+)/.exec(out)?.[1] ?? "");
    return await fn(url, { headers: { authorization: `token ${url.searchParams.get("token")}` } }, err);
  } finally {
    child.kill("SIGINT");
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0);
  }
}

async function contents(url: URL, auth: Auth, path: string): Promise<string[]> {
  const body = (await (await fetch(new URL(`/api/contents/${path}`, url), auth)).json()) as {
    content: { name: string }[];
  };
  return body.content.map((c) => c.name);
}

async function text(url: URL, auth: Auth, path: string): Promise<string> {
  const res = await fetch(new URL(`/api/contents/${path}?type=file&format=text`, url), auth);
  assert.equal(res.status, 200, `GET ${path}`);
  return ((await res.json()) as { content: string }).content;
}
