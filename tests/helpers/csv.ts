import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COLUMNS } from "../../src/data/schema.js";

/** One data line of the schema: `overrides` maps column names to raw field text. */
export function row(overrides: Record<string, string> = {}, i = 0): string {
  return COLUMNS.map((c) => {
    if (c in overrides) return overrides[c];
    if (c === "Wind_turbine_name") return "R80711";
    if (c === "Date_time") return `2017-01-01T0${i % 10}:00:00+01:00`;
    if (c.startsWith("Pas_")) return "";
    return (i + 0.5).toFixed(2);
  }).join(";");
}

export const HEADER = COLUMNS.join(";");

/** A temporary folder removed by the returned `cleanup`. */
export function tempDir(prefix = "windflow-test-"): {
  dir: string;
  file(name: string, text: string): string;
  cleanup(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file(name, text) {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
