/** Where the windflow project is: the folder of its package.json (the config, Jupyter and the CLI start there). */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { WindflowError } from "../errors.js";

/**
 * The project root: the nearest folder at or above `start` whose package.json is windflow's. The default
 * start is this module's folder, which is `<root>/dist/util` when compiled and `<root>/src/util`
 * under tsx; Node resolves the `node_modules/windflow -> ..` self-link to the real path, so notebooks that
 * import "windflow" land here too.
 */
export function findProjectRoot(start: string = __dirname): string {
  let dir = resolve(start);
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && readPackageName(manifest) === "windflow") return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new WindflowError(`no windflow project found at or above ${resolve(start)}`, {
        hint: "Run the command from inside the windflow project folder (the one with its package.json).",
      });
    }
    dir = parent;
  }
}

function readPackageName(manifest: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(manifest, "utf8"));
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      "name" in parsed &&
      typeof parsed.name === "string"
    ) {
      return parsed.name;
    }
  } catch {
    // An unreadable or broken package.json is simply not windflow's.
  }
  return undefined;
}
