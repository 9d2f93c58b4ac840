import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
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
});
