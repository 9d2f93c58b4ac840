// Child process of bench/run.ts: danfojs-node readCSV on the data file (the notebooks' pandas-like library).
void (async () => {
  const file = process.argv[2] as string;
  const dfd = require("danfojs-node") as typeof import("danfojs-node");
  const started = process.hrtime.bigint();
  const df = await dfd.readCSV(file, { delimiter: ";" });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(
    `${JSON.stringify({ seconds, rssMB: process.resourceUsage().maxRSS / 1024, rows: df.shape[0], cols: df.shape[1] })}\n`,
  );
})();
