/**
 * The page script (bundled by esbuild into dist/server/static/app.js): draws the page named by the body's
 * `data-page` from the REST API.
 */
import { describe, toast } from "./dom.js";
import { accountPage, dagPage, dagsPage, header, logPage, modelsPage, predictionsPage } from "./pages.js";

const PAGES: Record<string, () => void> = {
  dags: dagsPage,
  dag: dagPage,
  log: logPage,
  predictions: predictionsPage,
  models: modelsPage,
  account: accountPage,
};

async function start(): Promise<void> {
  const page = document.body.dataset.page ?? "";
  for (const a of document.querySelectorAll<HTMLAnchorElement>("header nav a"))
    a.classList.toggle("active", a.dataset.nav === page || (page === "dag" && a.dataset.nav === "dags"));
  await header();
  PAGES[page]?.();
}

start().catch((error: unknown) => toast(describe(error), "error"));
