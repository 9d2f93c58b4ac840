/** The colours of task and run states, as in Airflow's UI: the web UI's grid and graph, the notebooks' graphs. */
export const STATE_COLOURS: Readonly<Record<string, string>> = {
  success: "#2e8b57",
  failed: "#d9534f",
  running: "#32cd32",
  queued: "#808080",
  scheduled: "#d2b48c",
  up_for_retry: "#ffd700",
  upstream_failed: "#ff8c00",
  skipped: "#ff69b4",
  none: "#f0f0f0",
};
