/**
 * The course's charts as plotly figures (pure functions: data in, figure JSON out). Notebooks draw them with
 * `showPlot`; the web UI draws its own from the API. Scatter charts of the whole dataset use a fixed-seed
 * sample and WebGL (`scattergl`): 217k points would make a notebook heavy to save and slow to open.
 */
import pl from "nodejs-polars";
import { TARGET } from "../data/schema.js";
import type { Figure } from "./display.js";

/** An even, reproducible sample of at most `rows` rows. */
function sample(df: pl.DataFrame, rows: number, seed = 0): pl.DataFrame {
  return df.height <= rows ? df : df.sample(rows, undefined, false, seed);
}

const numbers = (df: pl.DataFrame, column: string) => df.getColumn(column).toArray() as (number | null)[];

/** Wind speed against active power, coloured by pitch angle: the MM82 power curve. */
export function powerCurve(data: pl.DataFrame, options: { sample?: number } = {}): Figure {
  const df = sample(
    // The three columns drawn, before the filter: filtering the whole frame would copy its 138 columns
    // (250 MB on the course file) to keep three.
    data
      .select("Ws_avg", "P_avg", TARGET)
      .filter(pl.col("Ws_avg").isNotNull().and(pl.col("P_avg").isNotNull())),
    options.sample ?? 5000,
  );
  return {
    data: [
      {
        type: "scattergl",
        mode: "markers",
        x: numbers(df, "Ws_avg"),
        y: numbers(df, "P_avg"),
        marker: {
          size: 4,
          color: numbers(df, TARGET),
          colorscale: "Viridis",
          colorbar: { title: { text: "pitch (deg)" } },
        },
        hovertemplate:
          "wind %{x:.1f} m/s<br>power %{y:.0f} kW<br>pitch %{marker.color:.1f} deg<extra></extra>",
      },
    ],
    layout: {
      title: { text: `Power curve: wind speed vs active power (${df.height} rows), coloured by pitch angle` },
      xaxis: { title: { text: "wind speed Ws_avg (m/s)" } },
      yaxis: { title: { text: "active power P_avg (kW)" } },
      height: 450,
    },
  };
}

/** Wind speed against pitch angle: near -1 deg below rated wind, rising above it, high when stopped. */
export function pitchVsWind(data: pl.DataFrame, options: { sample?: number } = {}): Figure {
  const df = sample(
    data.select("Ws_avg", TARGET).filter(pl.col("Ws_avg").isNotNull().and(pl.col(TARGET).isNotNull())),
    options.sample ?? 5000,
  );
  return {
    data: [
      {
        type: "scattergl",
        mode: "markers",
        x: numbers(df, "Ws_avg"),
        y: numbers(df, TARGET),
        marker: { size: 4, color: "#0b6e99", opacity: 0.5 },
        hovertemplate: "wind %{x:.1f} m/s<br>pitch %{y:.1f} deg<extra></extra>",
      },
    ],
    layout: {
      title: { text: `Pitch angle vs wind speed (${df.height} rows)` },
      xaxis: { title: { text: "wind speed Ws_avg (m/s)" } },
      yaxis: { title: { text: "pitch angle Ba_avg (deg)" } },
      height: 450,
    },
  };
}

/**
 * Predicted against actual values, with the diagonal (a perfect model). `rows` names the rows (default "test
 * rows": the held-out ones `trainModel` returns); beyond `sample` (5,000) rows, evenly spaced ones are drawn and the
 * title says how many of how many.
 */
export function predictedVsActual(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  options: { sample?: number; rows?: string } = {},
): Figure {
  const rows = options.rows ?? "test rows";
  const n = Math.min(actual.length, predicted.length);
  const step = Math.max(1, Math.ceil(n / (options.sample ?? 5000)));
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i += step) {
    x.push(actual[i] as number);
    y.push(predicted[i] as number);
  }
  const lo = Math.min(...x, ...y);
  const hi = Math.max(...x, ...y);
  return {
    data: [
      {
        type: "scattergl",
        mode: "markers",
        x,
        y,
        name: rows,
        marker: { size: 4, opacity: 0.5 },
      },
      {
        type: "scatter",
        mode: "lines",
        x: [lo, hi],
        y: [lo, hi],
        name: "perfect",
        line: { dash: "dash", color: "#888" },
      },
    ],
    layout: {
      title: {
        text: `Predicted vs actual pitch angle (${x.length < n ? `${count(x.length)} of ${count(n)}` : count(n)} ${rows})`,
      },
      xaxis: { title: { text: "actual Ba_avg (deg)" } },
      yaxis: { title: { text: "predicted Ba_avg (deg)" } },
      height: 450,
    },
  };
}

/** A count with thousands separated, as the titles show it (21,563). */
function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** Training and validation loss per epoch (the model's `training.history`). */
export function trainingCurve(history: readonly { epoch: number; loss: number; valLoss: number }[]): Figure {
  return {
    data: [
      {
        type: "scatter",
        mode: "lines+markers",
        name: "training loss",
        x: history.map((h) => h.epoch),
        y: history.map((h) => h.loss),
      },
      {
        type: "scatter",
        mode: "lines+markers",
        name: "validation loss",
        x: history.map((h) => h.epoch),
        y: history.map((h) => h.valLoss),
      },
    ],
    layout: {
      title: { text: "Loss per epoch (standardised units)" },
      xaxis: { title: { text: "epoch" } },
      yaxis: { title: { text: "mean squared error" }, type: "log" },
      height: 350,
    },
  };
}

/** One prediction file's rows, as `readPredictions` gives them. */
export interface PredictionSeries {
  /** The run's time (its stamp as an ISO instant). */
  time: string;
  predictions: readonly number[];
}

/** Every prediction of every run, over the runs' times; the mean of each run as a line. */
export function predictionsOverTime(runs: readonly PredictionSeries[]): Figure {
  const sorted = [...runs].sort((a, b) => (a.time < b.time ? -1 : 1));
  return {
    data: [
      {
        type: "scatter",
        mode: "markers",
        name: "predictions",
        x: sorted.flatMap((r) => r.predictions.map(() => r.time)),
        y: sorted.flatMap((r) => [...r.predictions]),
        marker: { color: "#2e8b57", size: 7, opacity: 0.6 },
      },
      {
        type: "scatter",
        mode: "lines",
        name: "mean of each run",
        x: sorted.map((r) => r.time),
        y: sorted.map((r) => r.predictions.reduce((a, b) => a + b, 0) / Math.max(1, r.predictions.length)),
        line: { color: "#0b6e99" },
      },
    ],
    layout: {
      title: { text: `Predictions of ${sorted.length} runs` },
      xaxis: { type: "date", title: { text: "run (UTC)" } },
      yaxis: { title: { text: "predicted Ba_avg (deg)" } },
      height: 400,
    },
  };
}

/** The latest predictions as markers over the distribution of the training target (a histogram). */
export function predictionsOverTarget(
  predictions: readonly number[],
  histogram: { edges: readonly number[]; counts: readonly number[] } | null,
): Figure {
  const data: Record<string, unknown>[] = [];
  if (histogram && histogram.counts.length > 0) {
    const total = histogram.counts.reduce((a, b) => a + b, 0);
    data.push({
      type: "bar",
      name: "training target Ba_avg",
      x: histogram.counts.map(
        (_, i) => ((histogram.edges[i] as number) + (histogram.edges[i + 1] as number)) / 2,
      ),
      y: histogram.counts.map(
        (c, i) => c / total / ((histogram.edges[i + 1] as number) - (histogram.edges[i] as number)),
      ),
      marker: { color: "rgba(70,130,180,0.45)" },
    });
  }
  data.push({
    type: "scatter",
    mode: "markers",
    name: "latest predictions",
    x: [...predictions],
    y: predictions.map(() => 0),
    marker: { color: "#d9534f", size: 14, symbol: "line-ns-open", line: { width: 3 } },
  });
  return {
    data,
    layout: {
      title: { text: "Latest predictions over the training target's distribution" },
      xaxis: { title: { text: "pitch angle Ba_avg (deg)" } },
      yaxis: { title: { text: "density" } },
      bargap: 0,
      height: 380,
    },
  };
}
