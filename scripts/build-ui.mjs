// Bundles the web UI's page script (src/server/client/main.ts) and copies its stylesheet into
// dist/server/static/, where the web server serves them. Run by `make build` and npm's `prepare`.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "server", "static");
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, "src", "server", "client", "main.ts")],
  outfile: join(out, "app.js"),
  bundle: true,
  format: "iife",
  target: ["es2022"],
  platform: "browser",
  minify: true,
  sourcemap: true,
  logLevel: "warning",
});
copyFileSync(join(root, "src", "server", "client", "app.css"), join(out, "app.css"));
