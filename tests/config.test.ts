import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  CONFIG_OPTIONS,
  ConfigError,
  ConfigFileError,
  configGet,
  configList,
  defaultConfigText,
  loadConfig,
  parseIni,
  windflowHome,
  writeDefaultConfigFile,
} from "../src/config.js";
import { findProjectRoot } from "../src/notebook/jupyter-env.js";

const root = findProjectRoot(__dirname);
const dirs: string[] = [];
const tempHome = (cfg?: string) => {
  const dir = mkdtempSync(join(tmpdir(), "windflow-config-"));
  dirs.push(dir);
  if (cfg !== undefined) writeFileSync(join(dir, "windflow.cfg"), cfg);
  return dir;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("config", () => {
  test("defaults: home under the project, paths under the home and the root", () => {
    assert.equal(windflowHome({ env: {} }), join(root, ".windflow"));
    // A project of its own: the working copy's .windflow/windflow.cfg (written by `make demo`) is not a default.
    const project = tempHome();
    const config = loadConfig({ env: {}, root: project });
    assert.equal(config.root, project);
    assert.equal(config.home, join(project, ".windflow"));
    assert.equal(config.core.dags_folder, join(project, "dags"));
    assert.equal(config.core.load_examples, false);
    assert.equal(config.core.parallelism, 4);
    assert.equal(config.core.default_task_execution_timeout, null);
    assert.equal(config.core.max_xcom_size, 65536);
    assert.equal(config.scheduler.dag_dir_list_interval, 30_000);
    assert.equal(config.scheduler.dag_file_processor_timeout, 50_000);
    assert.equal(config.database.path, join(project, ".windflow", "windflow.db"));
    assert.equal(config.logging.base_log_folder, join(project, ".windflow", "logs"));
    assert.equal(config.webserver.host, "127.0.0.1");
    assert.equal(config.webserver.port, 8080);
    assert.ok(config.entries.every((e) => e.source.kind === "default" && e.from === "default"));
  });

  test("precedence: default < file < WINDFLOW__SECTION__KEY", () => {
    const home = tempHome(
      [
        "# the course lowers the listing interval",
        "[core]",
        "parallelism = 8",
        "load_examples = True",
        "",
        "[scheduler]",
        "dag_dir_list_interval = 300",
        "heartbeat_interval: 500ms",
        "[database]",
        "path = {WINDFLOW_HOME}/meta.db",
      ].join("\n"),
    );
    const config = loadConfig({
      env: {
        WINDFLOW_HOME: home,
        WINDFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL: "30",
        WINDFLOW__WEBSERVER__PORT: "9090",
        UNRELATED: "x",
      },
    });
    assert.equal(config.home, home);
    assert.equal(config.fileExists, true);
    assert.equal(config.core.parallelism, 8);
    assert.equal(config.core.load_examples, true);
    assert.equal(config.scheduler.dag_dir_list_interval, 30_000, "the variable wins over the file");
    assert.equal(config.scheduler.heartbeat_interval, 500);
    assert.equal(config.webserver.port, 9090);
    assert.equal(config.database.path, join(home, "meta.db"));

    const get = (s: string, k: string) => configGet(s, k, config);
    assert.deepEqual(get("core", "parallelism").source, {
      kind: "file",
      file: join(home, "windflow.cfg"),
      line: 3,
    });
    assert.equal(get("core", "parallelism").from, `${join(home, "windflow.cfg")}:3`);
    assert.equal(get("scheduler", "dag_dir_list_interval").value, "30s");
    assert.equal(
      get("SCHEDULER", "DAG_DIR_LIST_INTERVAL").from,
      "environment variable WINDFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL",
    );
    assert.equal(get("core", "dags_folder").from, "default");
    assert.equal(configList(config).length, config.entries.length);
    assert.throws(() => get("core", "nope"), ConfigError);
  });

  test("a bad value names the section, the key, the value and where it was set", () => {
    const home = tempHome("[core]\n\nparallelism = lots\n");
    assert.throws(
      () => loadConfig({ env: { WINDFLOW_HOME: home } }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.section === "core" &&
        e.key === "parallelism" &&
        e.message.includes(`${join(home, "windflow.cfg")}:3`) &&
        e.message.includes('"lots" is not a whole number') &&
        /whole number from 1/.test(e.hint ?? ""),
    );
    assert.throws(
      () => loadConfig({ env: { WINDFLOW_HOME: tempHome(), WINDFLOW__WEBSERVER__PORT: "70000" } }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.key === "port" &&
        e.message.includes("environment variable WINDFLOW__WEBSERVER__PORT") &&
        e.message.includes("out of range"),
    );
    assert.throws(
      () =>
        loadConfig({ env: { WINDFLOW_HOME: tempHome(), WINDFLOW__SCHEDULER__HEARTBEAT_INTERVAL: "soon" } }),
      (e: unknown) =>
        e instanceof ConfigError && e.key === "heartbeat_interval" && /duration/.test(e.hint ?? ""),
    );
    assert.throws(
      () => loadConfig({ env: { WINDFLOW_HOME: tempHome(), WINDFLOW__CORE__LOAD_EXAMPLES: "maybe" } }),
      /not true or false/,
    );
  });

  test("unknown keys and sections, and broken lines, are errors (no silent typo)", () => {
    assert.throws(
      () => loadConfig({ env: { WINDFLOW_HOME: tempHome("[scheduler]\ndag_dir_list_intervall = 30\n") } }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.key === "dag_dir_list_intervall" &&
        /is not a windflow setting/.test(e.message) &&
        /dag_dir_list_interval/.test(e.hint ?? ""),
    );
    assert.throws(
      () => loadConfig({ env: { WINDFLOW_HOME: tempHome("[celery]\nworkers = 3\n") } }),
      (e: unknown) =>
        e instanceof ConfigError && e.section === "celery" && /sections: core/.test(e.hint ?? ""),
    );
    assert.throws(
      () => loadConfig({ env: { WINDFLOW_HOME: tempHome(), WINDFLOW__CORE__PARALELISM: "3" } }),
      (e: unknown) => e instanceof ConfigError && e.key === "paralelism",
    );
    assert.throws(
      () => loadConfig({ env: { WINDFLOW_HOME: tempHome(), WINDFLOW__PARALLELISM: "3" } }),
      /WINDFLOW__SECTION__KEY/,
    );
    assert.throws(
      () => loadConfig({ env: { WINDFLOW_HOME: tempHome("parallelism = 3\n") } }),
      (e: unknown) => e instanceof ConfigFileError && e.line === 1 && /outside any section/.test(e.message),
    );
    assert.throws(
      () => parseIni("[core]\nparallelism = 3\nparallelism = 4\n", "x.cfg"),
      (e: unknown) => e instanceof ConfigFileError && e.line === 3 && /also on line 2/.test(e.message),
    );
    assert.throws(() => parseIni("[core]\njust words\n", "x.cfg"), /x\.cfg:2: cannot read/);
  });

  test("the generated file holds every setting with its default, parses back to the defaults", () => {
    const text = defaultConfigText();
    for (const [section, keys] of Object.entries(CONFIG_OPTIONS)) {
      assert.match(text, new RegExp(`^\\[${section}\\]$`, "m"));
      for (const [key, def] of Object.entries(keys)) {
        assert.ok(text.includes(`\n${key} = ${def.default}\n`), `${section}.${key}`);
        assert.ok(text.includes(`# ${def.description}`));
      }
    }
    const home = tempHome();
    const config = loadConfig({ env: { WINDFLOW_HOME: home } });
    assert.equal(config.fileExists, false);
    assert.deepEqual(writeDefaultConfigFile(config), { path: join(home, "windflow.cfg"), written: true });
    assert.deepEqual(writeDefaultConfigFile(config).written, false, "never overwrites");
    const reread = loadConfig({ env: { WINDFLOW_HOME: home } });
    assert.equal(reread.fileExists, true);
    assert.deepEqual(
      reread.entries.map((e) => [e.section, e.key, e.value]),
      config.entries.map((e) => [e.section, e.key, e.value]),
    );
    assert.ok(reread.entries.every((e) => e.source.kind === "file"));
  });

  test("relative paths are relative to the project root; a relative WINDFLOW_HOME too", () => {
    const home = tempHome("[core]\ndags_folder = tests/fixtures/dags\n");
    const config = loadConfig({ env: { WINDFLOW_HOME: home } });
    assert.equal(config.core.dags_folder, join(root, "tests", "fixtures", "dags"));
    assert.equal(loadConfig({ env: { WINDFLOW_HOME: "tmp-home" } }).home, join(root, "tmp-home"));
    assert.throws(
      () => loadConfig({ env: { WINDFLOW_HOME: home, WINDFLOW__CORE__DAGS_FOLDER: "{HOME}/dags" } }),
      /unknown placeholder \{HOME\}/,
    );
  });
});
