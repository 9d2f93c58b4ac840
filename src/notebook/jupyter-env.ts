/**
 * The project-local Jupyter environment.
 *
 * Jupyter reads and writes state in many places (~/.jupyter, ~/.local/share/jupyter, the runtime dir, the
 * Python user site...). A training environment must behave the same on every trainee's machine and must not
 * leave a kernelspec in their home folder, so everything Jupyter may write lives under `<root>/.jupyter/`
 * (git-ignored) and the variables below point Jupyter there. What still comes from outside the project:
 * the `.venv`'s own `share/jupyter` and `etc/jupyter` (JupyterLab's assets and its extension switches) and the
 * system-wide folders (`/usr/local/share/jupyter`, `/usr/share/jupyter`, `/etc/jupyter`), which jupyter_core
 * always appends and no variable removes; the project's folders come first, so they win.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { WindflowError } from "../errors.js";
import { writeFileAtomicSync } from "../util/atomic.js";
import { findProjectRoot } from "../util/project-root.js";

// Kept here too: notebooks and older callers import it from this module.
export { findProjectRoot };

/** The folders of the project-local Jupyter environment, all absolute. */
export interface JupyterPaths {
  /** The project root (the folder holding windflow's package.json). */
  readonly root: string;
  /** `<root>/.jupyter`: everything Jupyter writes. */
  readonly home: string;
  /** JUPYTER_DATA_DIR: kernelspecs, JupyterLab workspaces. */
  readonly dataDir: string;
  /** JUPYTER_CONFIG_DIR: config files, JupyterLab user settings. */
  readonly configDir: string;
  /** JUPYTER_RUNTIME_DIR: connection files, `jpserver-<pid>.json`, the cookie secret. */
  readonly runtimeDir: string;
  /** IPYTHONDIR, for the Python kernel the .venv also ships. */
  readonly ipythonDir: string;
  /** `<dataDir>/kernels/tslab/kernel.json`. */
  readonly kernelspecFile: string;
  /** `<root>/.venv/bin/jupyter`, installed by `make install`. */
  readonly jupyterBin: string;
  /** `<root>/node_modules/tslab/bin/tslab`, tslab's own command (installed by npm). */
  readonly tslabBin: string;
  /** `<root>/dist/notebook/kernel.js`, the kernel's entry point: tslab's kernel, its status made truthful. */
  readonly kernelEntry: string;
}

/** Computes the paths; touches nothing on disk. */
export function jupyterPaths(root: string): JupyterPaths {
  const absRoot = resolve(root);
  const home = join(absRoot, ".jupyter");
  const dataDir = join(home, "data");
  return {
    root: absRoot,
    home,
    dataDir,
    configDir: join(home, "config"),
    runtimeDir: join(home, "runtime"),
    ipythonDir: join(home, "ipython"),
    kernelspecFile: join(dataDir, "kernels", "tslab", "kernel.json"),
    jupyterBin: join(absRoot, ".venv", "bin", "jupyter"),
    tslabBin: join(absRoot, "node_modules", "tslab", "bin", "tslab"),
    kernelEntry: join(absRoot, "dist", "notebook", "kernel.js"),
  };
}

/**
 * The environment for Jupyter processes (server and, through it, kernels): the caller's environment minus
 * every inherited `JUPYTER*` variable and IPYTHONDIR (a trainee's own JUPYTER_CONFIG_PATH or JUPYTERLAB_DIR
 * would otherwise leak in), plus the project-local folders.
 */
export function jupyterEnv(root: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const paths = jupyterPaths(root);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (key.startsWith("JUPYTER") || key === "IPYTHONDIR") continue;
    env[key] = value;
  }
  return {
    ...env,
    JUPYTER_DATA_DIR: paths.dataDir,
    // Searched before every other data folder, so the project's tslab kernelspec wins over any other.
    JUPYTER_PATH: paths.dataDir,
    JUPYTER_CONFIG_DIR: paths.configDir,
    JUPYTER_RUNTIME_DIR: paths.runtimeDir,
    // Use the platformdirs layout jupyter_core is migrating to; this also silences its DeprecationWarning.
    JUPYTER_PLATFORM_DIRS: "1",
    // The .venv's share/ and etc/ (JupyterLab and its extensions) come before any user-level folder.
    JUPYTER_PREFER_ENV_PATH: "1",
    // Keeps ~/.local/lib/python*/site-packages and ~/.local/share/jupyter out of the server and kernels.
    PYTHONNOUSERSITE: "1",
    IPYTHONDIR: paths.ipythonDir,
  };
}

/** The content of the tslab kernelspec, as Jupyter reads it from `kernel.json`. */
export interface TslabKernelspec {
  readonly argv: readonly string[];
  readonly display_name: string;
  readonly language: string;
  /** Added to the kernel's environment by the Jupyter server. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * glibc's malloc settings for the kernels (issue 11, docs/adr/0014). nodejs-polars allocates its columns with
 * glibc's malloc, whose mmap threshold grows (up to 32 MB) each time a large mmapped block is freed: after the
 * first dropped frame, columns come from the heap's arenas, and freeing them there returns little to the system.
 * A fixed threshold of 32 KB keeps every block of 32 KB and more (polars reads and computes in chunks well under
 * 1 MB) in its own mapping, given back when the frame is freed: a process that read the full-size data file and
 * dropped it holds 77-79 MB instead of 351-379 MB with a 1 MB threshold, 122-158 MB instead of 577-627 MB after
 * each of three feature preparations; the trim threshold gives back a heap's free top over 32 KB. The cost:
 * three feature preparations 12-19 % slower (a mapping per block).
 */
export const KERNEL_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: "32768",
  MALLOC_TRIM_THRESHOLD_: "32768",
};

/**
 * The kernelspec runs tslab's kernel with the very Node that runs windflow (`process.execPath`), not whatever
 * `node` is first on the PATH, so the kernel gets the same Node version and the native addons (zeromq) match;
 * through windflow's entry point (src/notebook/kernel.ts: tslab's kernel whose status says busy while a cell
 * runs); its `env` sets malloc's thresholds (KERNEL_MALLOC_ENV).
 */
export function tslabKernelspec(root: string): TslabKernelspec {
  return {
    argv: [process.execPath, jupyterPaths(root).kernelEntry, "--config-path", "{connection_file}"],
    display_name: "TypeScript",
    language: "typescript",
    env: { ...KERNEL_MALLOC_ENV },
  };
}

/**
 * Writes `<root>/.jupyter/data/kernels/tslab/kernel.json` (what `tslab install` would do, without needing
 * jupyter in a particular Python). Atomic, and idempotent: an identical file is left untouched, so a running
 * JupyterLab never sees it change. Returns whether the file was (re)written.
 */
export function writeKernelspec(root: string): { path: string; written: boolean } {
  const paths = jupyterPaths(root);
  if (!existsSync(paths.tslabBin)) {
    throw new WindflowError(`the TypeScript kernel is not installed: ${paths.tslabBin} is missing`, {
      hint: "Run `npm install` (or `make install`) in the project folder.",
    });
  }
  if (!existsSync(paths.kernelEntry)) {
    throw new WindflowError(
      `windflow is not built: the kernel's entry point ${paths.kernelEntry} is missing`,
      {
        hint: "Run `make build` (or `make install`) in the project folder.",
      },
    );
  }
  const content = `${JSON.stringify(tslabKernelspec(root), null, 2)}\n`;
  let current: string | undefined;
  try {
    current = readFileSync(paths.kernelspecFile, "utf8");
  } catch {
    current = undefined;
  }
  if (current === content) return { path: paths.kernelspecFile, written: false };
  writeFileAtomicSync(paths.kernelspecFile, content);
  return { path: paths.kernelspecFile, written: true };
}

/**
 * Where the launcher tile's config goes: the project-local `jupyter_server_config.json`, which windflow owns
 * (jupyter-server-proxy does not see `ServerProxy` settings from a `jupyter_server_config.d/` file of the
 * user config folder: tried with jupyter-server 2.21 and jupyter-server-proxy 4.6).
 */
export function serverProxyConfigFile(root: string): string {
  return join(jupyterPaths(root).configDir, "jupyter_server_config.json");
}

/**
 * jupyter-server-proxy's settings for the windflow tile of JupyterLab's launcher (as the course launched
 * Airflow's UI from the launcher): clicking it starts `windflow standalone` (scheduler + web server) on a port
 * the proxy picks, serves it under `<jupyter base_url>windflow/` (`[webserver] base_url`, so every link of the
 * UI carries the prefix) and opens it in a new browser tab. The UI keeps its own sign-in.
 */
export function serverProxyConfig(root: string): object {
  return {
    ServerProxy: {
      servers: {
        windflow: {
          command: [process.execPath, join(root, "dist", "cli", "main.js"), "standalone", "--port", "{port}"],
          environment: { WINDFLOW__WEBSERVER__BASE_URL: "{base_url}windflow" },
          absolute_url: true,
          timeout: 60,
          new_browser_tab: true,
          launcher_entry: {
            enabled: true,
            title: "windflow",
            icon_path: join(root, "src", "server", "client", "windflow.svg"),
            // jupyter-server-proxy's default section: JupyterLab draws a tile's icon only in the Notebook and
            // Console sections (the course's Airflow tile sat there too).
            category: "Notebook",
          },
        },
      },
    },
  };
}

/** Writes the launcher tile's config (atomically, only when it changes); returns whether it was written. */
export function writeServerProxyConfig(root: string): { path: string; written: boolean } {
  const path = serverProxyConfigFile(root);
  const content = `${JSON.stringify(serverProxyConfig(root), null, 2)}\n`;
  let current: string | undefined;
  try {
    current = readFileSync(path, "utf8");
  } catch {
    current = undefined;
  }
  if (current === content) return { path, written: false };
  writeFileAtomicSync(path, content);
  return { path, written: true };
}
