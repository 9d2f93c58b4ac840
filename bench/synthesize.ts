// Child process of bench/run.ts: synthesizes the full-size file, prints {seconds, rssMB, rows}.
import { synthesizeDataset } from "../src/data/synthetic.js";

void (async () => {
  const started = process.hrtime.bigint();
  const result = await synthesizeDataset(process.argv[2] as string, { seed: 42 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(
    `${JSON.stringify({ seconds, rssMB: process.resourceUsage().maxRSS / 1024, rows: result.rows })}\n`,
  );
})();
