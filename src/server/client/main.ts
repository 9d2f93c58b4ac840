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

/**
 * The EN | FR links come back to the page as it is now: the server wrote them for the address it served, and
 * the page may have changed it since (the selected run, the tab).
 */
function followLanguageSwitch(): void {
  for (const a of document.querySelectorAll<HTMLAnchorElement>(".lang-switch a[data-lang]"))
    a.addEventListener("click", () => {
      const here = new URL(location.href);
      here.searchParams.set("lang", a.dataset.lang ?? "");
      a.href = here.pathname + here.search + here.hash;
    });
}

async function start(): Promise<void> {
  followLanguageSwitch();
  const page = document.body.dataset.page ?? "";
  for (const a of document.querySelectorAll<HTMLAnchorElement>("header nav a"))
    a.classList.toggle("active", a.dataset.nav === page || (page === "dag" && a.dataset.nav === "dags"));
  await header();
  PAGES[page]?.();
}

start().catch((error: unknown) => toast(describe(error), "error"));
