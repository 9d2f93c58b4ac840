/**
 * Adversarial, classes "bad CSVs", "bad Parquet", "bad config/conf", "disk full and read-only outputs" (fast
 * lane: no process, no server). Every case is a table row with its defined outcome: the error that names the
 * file (and the line and column where there is one), or what loads; and for writes, that nothing is left
 * half-written and `latest.csv` always holds the newest dated file's content.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import pl from "nodejs-polars";
import { loadDataset, shortLine } from "../../src/data/load.js";
import { COLUMNS } from "../../src/data/schema.js";
import { type DatedFs, writeDated } from "../../src/io/dated.js";
import { csvFile, InputReadError, parquetReader, withIO } from "../../src/io/with-io.js";
import { jsonProblem, MAX_JSON_DEPTH } from "../../src/orchestration/context.js";
import { ConfSyntaxError, parseConf } from "../../src/orchestration/scheduler/trigger.js";
import { explainWriteError, OutputWriteError, writeAtomically } from "../../src/util/atomic.js";
import { HEADER, row, tempDir } from "../helpers/csv.js";

const tmp = tempDir("windflow-adv-inputs-");
after(() => tmp.cleanup());
let n = 0;
const csv = (content: string | Buffer) => {
  const path = join(tmp.dir, `case-${++n}.csv`);
  writeFileSync(path, content);
  return path;
};
const lines = (...ls: string[]) => `${ls.join("\n")}\n`;
const NAME = COLUMNS.indexOf("Wind_turbine_name");
/** A data line with only its first `k` fields. */
const cut = (k: number, i = 1) => row({}, i).split(";").slice(0, k).join(";");
const bytes = (...parts: (string | number[] | Buffer)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));
/** A data line whose turbine name holds `raw` bytes. */
const withName = (raw: number[], i = 1) => {
  const fields = row({}, i).split(";");
  fields[NAME] = "@@";
  const [a, b] = fields.join(";").split("@@");
  return bytes(a as string, raw, b as string);
};

/** Bad and odd CSV files: content, then the error (message regex, line, column) or the rows that load. */
const CSVS: readonly {
  name: string;
  content: () => string | Buffer;
  error?: RegExp;
  line?: number;
  column?: string;
  rows?: number;
}[] = [
  {
    name: "a short line mid-file",
    content: () => lines(HEADER, row({}, 1), cut(40, 2), row({}, 3)),
    error: /expected 138 fields.*found 40/,
    line: 3,
  },
  {
    name: "a line of one field mid-file",
    content: () => lines(HEADER, row({}, 1), "R80711", row({}, 3)),
    error: /found 1\b/,
    line: 3,
  },
  {
    name: "a line of name and date only",
    content: () => lines(HEADER, cut(2, 1), row({}, 2)),
    error: /found 2\b/,
    line: 2,
  },
  {
    name: "a short line after blank lines",
    content: () => lines(HEADER, row({}, 1), "", "", cut(100, 2)),
    error: /found 100/,
    line: 5,
  },
  {
    name: "a short line with Windows line endings",
    content: () => `${[HEADER, row({}, 1), cut(137, 2), row({}, 3)].join("\r\n")}\r\n`,
    error: /found 137/,
    line: 3,
  },
  {
    name: "a line one field short (137 of 138)",
    content: () => lines(HEADER, cut(137, 1), row({}, 2)),
    error: /found 137/,
    line: 2,
  },
  {
    name: "a short line as the last line, ended",
    content: () => lines(HEADER, row({}, 1), cut(70, 2)),
    error: /found 70/,
    line: 3,
  },
  {
    name: "a last line cut, not ended",
    content: () => `${HEADER}\n${row({}, 1)}\n${cut(70, 2)}`,
    error: /found 70/,
    line: 3,
  },
  {
    name: "a line with an extra field",
    content: () => lines(HEADER, `${row({}, 1)};9`),
    error: /found 139/,
    line: 2,
  },
  {
    name: "a decimal comma",
    content: () => lines(HEADER, row({ Ba_avg: "1,5" }, 1)),
    error: /"1,5" is not a number/,
    line: 2,
    column: "Ba_avg",
  },
  {
    name: "text in a sensor column",
    content: () => lines(HEADER, row({}, 1), row({ Rt_avg: "hot" }, 2)),
    error: /"hot" is not a number/,
    line: 3,
    column: "Rt_avg",
  },
  {
    name: "a date without offset",
    content: () => lines(HEADER, row({ Date_time: "2017-01-01T00:00:00" }, 1)),
    error: /bad date/,
    line: 2,
    column: "Date_time",
  },
  {
    name: "an impossible date",
    content: () => lines(HEADER, row({ Date_time: "2017-13-45T00:00:00+01:00" }, 1)),
    error: /bad date|unparsable/,
    line: 2,
  },
  {
    name: "a US date",
    content: () => lines(HEADER, row({ Date_time: "01/02/2017 10:00" }, 1)),
    error: /bad date/,
    line: 2,
    column: "Date_time",
  },
  {
    name: "an empty turbine name",
    content: () => lines(HEADER, row({}, 1), row({ Wind_turbine_name: "" }, 2)),
    error: /empty turbine name|empty name or date/,
    line: 3,
  },
  {
    name: "a byte 0xFF in a name",
    content: () => bytes(`${HEADER}\n`, withName([0xff], 1), "\n"),
    error: /not UTF-8/,
    line: 2,
    column: "Wind_turbine_name",
  },
  {
    name: "Latin-1 é (0xE9) in a name",
    content: () => bytes(`${HEADER}\n`, row({}, 1), "\n", withName([0x52, 0xe9, 0x65], 2), "\n"),
    error: /not UTF-8/,
    line: 3,
    column: "Wind_turbine_name",
  },
  {
    name: "a cut UTF-8 sequence in a name",
    content: () => bytes(`${HEADER}\n`, withName([0xe2, 0x82], 1), "\n"),
    error: /not UTF-8/,
    line: 2,
  },
  {
    name: "a UTF-16 file",
    content: () =>
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(lines(HEADER, row({}, 1)), "utf16le")]),
    error: /column|separator/,
  },
  { name: "a header only", content: () => lines(HEADER), error: /header but no data line/, line: 2 },
  {
    name: "a header and blank lines",
    content: () => lines(HEADER, "", "\r", ""),
    error: /header but no data line/,
  },
  {
    name: "a line of spaces (one field to polars)",
    content: () => lines(HEADER, "", "  ", ""),
    error: /found 1\b/,
    line: 3,
  },
  { name: "an empty file", content: () => "", error: /the file is empty/, line: 1 },
  { name: "only line breaks", content: () => "\n\n\n", error: /header line is empty/, line: 1 },
  {
    name: "comma-separated",
    content: () => lines(HEADER.replaceAll(";", ","), row({}, 1).replaceAll(";", ",")),
    error: /wrong separator.*","/,
    line: 1,
  },
  {
    name: "tab-separated",
    content: () => lines(HEADER.replaceAll(";", "\t"), row({}, 1).replaceAll(";", "\t")),
    error: /wrong separator/,
    line: 1,
  },
  {
    name: "a duplicated column",
    content: () => lines(`${HEADER};Ba_avg`, `${row({}, 1)};1`),
    error: /Ba_avg appears twice/,
    line: 1,
  },
  {
    name: "a missing column",
    content: () => lines(HEADER.replace(";Ba_avg;", ";"), cut(137, 1)),
    error: /missing column Ba_avg/,
    line: 1,
  },
  {
    name: "an unknown column",
    content: () => lines(HEADER.replace("Ba_avg", "Ba_mean"), row({}, 1)),
    error: /unknown column Ba_mean/,
    line: 1,
  },
  {
    name: "old Mac line endings (CR only)",
    content: () => `${[HEADER, row({}, 1)].join("\r")}\r`,
    error: /column/,
  },
  {
    name: "a NUL byte in a number",
    content: () => lines(HEADER, row({ Ba_avg: "1\u00002" }, 1)),
    error: /is not a number/,
    line: 2,
    column: "Ba_avg",
  },
  {
    name: "a 100 kB field",
    content: () => lines(HEADER, row({ Ba_avg: "9".repeat(100_000).replace(/^9/, "x") }, 1)),
    error: /is not a number/,
    line: 2,
  },
  {
    name: "a quoted separator (no quoting in this data)",
    content: () => lines(HEADER, row({ Wind_turbine_name: '"R;1"' }, 1)),
    error: /found 139/,
    line: 2,
  },
  {
    name: "BOM, CRLF and blank lines",
    content: () => `\ufeff${[HEADER, "", row({}, 1), "", row({}, 2)].join("\r\n")}\r\n\r\n`,
    rows: 2,
  },
  { name: "no final line break", content: () => `${HEADER}\n${row({}, 1)}`, rows: 1 },
  {
    name: "a line of blanks and a tab between rows",
    content: () => lines(HEADER, row({}, 1), " \t ", row({}, 2)),
    error: /found 1\b/,
    line: 3,
  },
  {
    name: "5,000 rows across the 4 MB reads of the check",
    content: () => lines(HEADER, ...Array.from({ length: 5000 }, (_, i) => row({}, i))),
    rows: 5000,
  },
  {
    name: "a short line past the first 4 MB",
    content: () =>
      lines(HEADER, ...Array.from({ length: 4500 }, (_, i) => row({}, i)), cut(20, 1), row({}, 2)),
    error: /found 20/,
    line: 4502,
  },
];

describe("adversarial: bad CSVs (loadDataset)", () => {
  for (const c of CSVS)
    test(c.name, async () => {
      const file = csv(c.content());
      if (c.rows !== undefined) {
        assert.equal((await loadDataset(file)).height, c.rows);
        return;
      }
      await assert.rejects(loadDataset(file), (e: Error & { where?: { line?: number; column?: string } }) => {
        assert.ok(e.message.includes(file), `names the file: ${e.message}`);
        assert.match(e.message, c.error as RegExp);
        if (c.line !== undefined) assert.equal(e.where?.line, c.line, e.message);
        if (c.column !== undefined) assert.equal(e.where?.column, c.column, e.message);
        return true;
      });
    });

  test("a folder given as the data file", async () => {
    const dir = join(tmp.dir, "a-folder.csv");
    mkdirSync(dir);
    await assert.rejects(loadDataset(dir), /a-folder\.csv is a folder, not a CSV file/);
  });

  test("shortLine: the line of the first bad field count, or none", () => {
    const table: [string, number | undefined][] = [
      ["a;b;c\n1;2;3\n", undefined],
      ["a;b;c\n1;2\n", 2],
      ["a;b;c\n\n\n1;2;3\n1\n", 5],
      ["a;b;c\r\n1;2;3\r\n", undefined],
      ["a;b;c\n1;2;3", undefined],
      ["a;b;c\n1;2", 2],
      ["a;b;c\n\r\n", undefined],
      ["a;b;c\n   \n", 2],
      ["a;b;c\nx\n", 2],
      ["a;b\n", 1],
      ["a;b;c\n1;2;3;4\n", 2],
    ];
    for (const [text, expected] of table)
      assert.equal(shortLine(csv(text), 3), expected, JSON.stringify(text));
  });
});

describe("adversarial: bad Parquet and input paths (withIO)", () => {
  const read = withIO(([df]: [pl.DataFrame]) => df, {
    readers: [parquetReader("features file", "run prepare_features first")],
    writer: csvFile(),
  });
  const PARQUETS: readonly [string, () => Buffer | string][] = [
    ["a CSV named .parquet", () => lines(HEADER, row({}, 1))],
    ["an empty file", () => ""],
    ["random bytes", () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))],
    ["the magic bytes only", () => "PAR1PAR1"],
    [
      "a Parquet file cut in half",
      () => {
        const whole = join(tmp.dir, "whole.parquet");
        pl.DataFrame({ a: [1, 2, 3], b: ["x", "y", "z"] }).writeParquet(whole);
        const b = readFileSync(whole);
        return b.subarray(0, Math.floor(b.length / 2));
      },
    ],
    [
      "a Parquet file with its footer zeroed",
      () => {
        const whole = join(tmp.dir, "whole2.parquet");
        pl.DataFrame({ a: [1, 2, 3] }).writeParquet(whole);
        const b = Buffer.from(readFileSync(whole));
        b.fill(0, b.length - 12);
        return b;
      },
    ],
  ];
  for (const [name, content] of PARQUETS)
    test(`corrupt Parquet: ${name} is named`, async () => {
      const path = join(tmp.dir, `bad-${++n}.parquet`);
      writeFileSync(path, content());
      await assert.rejects(read([path], join(tmp.dir, `out-${n}.csv`), undefined), (e: Error) => {
        assert.ok(e instanceof InputReadError, String(e));
        assert.ok(e.message.includes(path), e.message);
        assert.match(e.message, /cannot read the features file/);
        return true;
      });
      assert.equal(existsSync(join(tmp.dir, `out-${n}.csv`)), false, "nothing written");
    });

  test("a folder given as a Parquet input", async () => {
    const dir = join(tmp.dir, "folder.parquet");
    mkdirSync(dir, { recursive: true });
    await assert.rejects(read([dir], join(tmp.dir, "o.csv"), undefined), /folder\.parquet: it is a folder/);
  });
});

describe("adversarial: bad conf", () => {
  const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
  const CONFS: readonly [string, string, RegExp | undefined][] = [
    ["nested 10,000 levels", nested(10_000), /nested more than 64 levels deep/],
    ["nested 65 levels", nested(65), /nested more than 64 levels deep/],
    ["nested 63 levels", nested(63), undefined],
    ["arrays nested 10,000 levels", `{"a":${"[".repeat(10_000)}${"]".repeat(10_000)}}`, /nested more than/],
    ["not JSON", "{seed: 7}", /not valid JSON/],
    ["an array", "[1, 2]", /not a JSON object/],
    ["null", "null", /not a JSON object/],
    ["a string", '"x"', /not a JSON object/],
    ["a number", "7", /not a JSON object/],
    ["empty", "", /not valid JSON/],
    ["a duplicated key (the last wins)", '{"a": 1, "a": 2}', undefined],
    ["__proto__ as a key", '{"__proto__": {"polluted": true}}', undefined],
    ["unicode escapes", '{"a": "\\u0000\\ud800"}', undefined],
    ["a huge number", '{"a": 1e400}', /is Infinity/],
  ];
  for (const [name, text, error] of CONFS)
    test(`--conf ${name}`, () => {
      if (error === undefined) {
        const conf = parseConf(text);
        assert.equal(typeof conf, "object");
        assert.equal(({} as Record<string, unknown>).polluted, undefined, "no prototype pollution");
        return;
      }
      assert.throws(
        () => parseConf(text),
        (e: Error) => e instanceof ConfSyntaxError && error.test(e.message),
      );
    });

  test("jsonProblem's depth bound is the documented one, and does not overflow the stack", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = { a: deep };
    assert.match(jsonProblem(deep) ?? "", new RegExp(`more than ${MAX_JSON_DEPTH} levels`));
  });
});

describe("adversarial: disk full and read-only outputs (fault-injecting writer)", () => {
  const errno = (code: string, message = `${code}: injected`) => Object.assign(new Error(message), { code });
  const listing = (dir: string) => readdirSync(dir).sort();

  /** A predictions folder holding one earlier dated file and its latest.csv. */
  async function folder(): Promise<string> {
    const dir = join(tmp.dir, `predictions-${++n}`);
    await writeDated(dir, ".csv", (t) => writeFileSync(t, "old\n"), new Date("2026-01-01T00:00:00Z"));
    return dir;
  }
  const newest = (dir: string) =>
    listing(dir)
      .filter((f) => /^\d{8}-\d{6}/.test(f))
      .pop() as string;

  const FAULTS: readonly [string, (fs: DatedFs) => Partial<DatedFs>, RegExp][] = [
    ["the content write", () => ({}), /disk is full/],
    [
      "latest's copy",
      () => ({
        copyFileSync: () => {
          throw errno("ENOSPC");
        },
      }),
      /disk is full/,
    ],
    [
      "the dated name's link",
      () => ({
        linkSync: () => {
          throw errno("ENOSPC");
        },
      }),
      /disk is full/,
    ],
    [
      "latest's rename",
      () => ({
        renameSync: () => {
          throw errno("EIO", "EIO: i/o error, rename");
        },
      }),
      /EIO/,
    ],
    [
      "a read-only file system at the copy",
      () => ({
        copyFileSync: () => {
          throw errno("EROFS");
        },
      }),
      /read-only/,
    ],
    [
      "a quota at the link",
      () => ({
        linkSync: () => {
          throw errno("EDQUOT");
        },
      }),
      /quota is full/,
    ],
  ];
  for (const [step, fault, message] of FAULTS)
    test(`a fault at ${step}: latest.csv still matches the newest dated file, no temporary left`, async () => {
      const dir = await folder();
      const before = listing(dir);
      const { copyFileSync, linkSync, renameSync } = await import("node:fs");
      const real: DatedFs = { copyFileSync, linkSync, renameSync };
      const writeContent = (t: string) => {
        if (step === "the content write") throw errno("ENOSPC");
        writeFileSync(t, "new\n");
      };
      await assert.rejects(
        writeDated(dir, ".csv", writeContent, new Date("2026-06-01T00:00:00Z"), { ...real, ...fault(real) }),
        (e: Error) => message.test(e.message) && (e instanceof OutputWriteError || /EIO/.test(e.message)),
      );
      assert.deepEqual(listing(dir), before, "nothing new, nothing half-written");
      assert.equal(
        readFileSync(join(dir, "latest.csv"), "utf8"),
        readFileSync(join(dir, newest(dir)), "utf8"),
      );
    });

  test("without faults: the new dated file and latest.csv hold the same content", async () => {
    const dir = await folder();
    const w = await writeDated(
      dir,
      ".csv",
      (t) => writeFileSync(t, "new\n"),
      new Date("2026-06-01T00:00:00Z"),
    );
    assert.equal(newest(dir), "20260601-000000.csv");
    assert.equal(readFileSync(w.latest, "utf8"), "new\n");
    assert.equal(listing(dir).filter((f) => f.endsWith(".tmp")).length, 0);
  });

  const WRITE_ERRORS: readonly [string, unknown, RegExp][] = [
    ["EROFS", errno("EROFS"), /read-only/],
    ["EACCES", errno("EACCES"), /permission denied/],
    ["EPERM", errno("EPERM"), /permission denied/],
    ["ENOSPC", errno("ENOSPC"), /disk is full/],
    ["polars' Rust text (os error 30)", new Error("Read-only file system (os error 30)"), /read-only/],
    ["polars' Rust text (os error 28)", new Error("No space left on device (os error 28)"), /disk is full/],
    ["polars' Rust text (os error 13)", new Error("Permission denied (os error 13)"), /permission denied/],
  ];
  for (const [name, error, message] of WRITE_ERRORS)
    test(`a write failing with ${name} is named with its path; the destination is untouched`, async () => {
      const dest = join(tmp.dir, `features-${++n}.parquet`);
      writeFileSync(dest, "previous");
      await assert.rejects(
        writeAtomically(dest, (t) => {
          writeFileSync(t, "half");
          throw error;
        }),
        (e: Error) => e instanceof OutputWriteError && message.test(e.message) && e.message.includes(dest),
      );
      assert.equal(readFileSync(dest, "utf8"), "previous");
      assert.equal(
        readdirSync(tmp.dir).filter((f) => f.startsWith(".features-") && f.endsWith(".tmp")).length,
        0,
      );
    });

  test("other errors pass through unchanged", () => {
    const e = new TypeError("a bug");
    assert.equal(explainWriteError(e, "/x"), e);
  });
});
