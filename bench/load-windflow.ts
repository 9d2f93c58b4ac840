// Child process of bench/run.ts: loads the data file with windflow's loader, prints {seconds, rssMB, rows}, and
// the time of the short-line check alone (shortLine: part of the load, measured again on its own).
import { checkHeader, loadDataset, shortLine } from "../src/data/load.js";

void (async () => {
  const file = process.argv[2] as string;
  const started = process.hrtime.bigint();
  const df = await loadDataset(file);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const checkStarted = process.hrtime.bigint();
  shortLine(file, checkHeader(file).length);
  const lineCheckSeconds = Number(process.hrtime.bigint() - checkStarted) / 1e9;
  process.stdout.write(
    `${JSON.stringify({ seconds, lineCheckSeconds, rssMB: process.resourceUsage().maxRSS / 1024, rows: df.height, cols: df.width })}\n`,
  );
})();
