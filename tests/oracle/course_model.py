"""The course's model, scored on the same time-ordered test rows as windflow's TensorFlow.js model.

The course fits scikit-learn ``RandomForestRegressor(n_estimators=1, max_depth=10)`` on all the features (a single
depth-10 tree grown on a bootstrap sample). Here it is scored on the last ``--test-fraction`` of the rows of the
features file, exactly the test rows of src/model/model.ts (``splitRows``): ``test rows = floor(rows * fraction)``,
taken at the end, no shuffling. It is fitted on every row before them: windflow's MLP trains on the first of those
rows and stops early on the others (its validation rows); a tree needs no early stopping, so it gets all the rows
the MLP may use.

Usage:
    .venv-oracle/bin/python tests/oracle/course_model.py FEATURES [--test-fraction 0.1] [--seed 0]

FEATURES is the features file (Parquet, or CSV: ``,`` or ``;`` separated) with the target column ``Ba_avg`` and
every other column a feature. Prints one JSON object: rmse, mae, r2, baselineRmse (predicting the mean of the fitted
rows), all on the test rows, then fitSeconds, trainRows (the rows fitted), testRows, seed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

TARGET = "Ba_avg"


def read_features(path: str) -> pd.DataFrame:
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    with open(path, encoding="utf-8") as f:
        header = f.readline()
    return pd.read_csv(path, sep=";" if header.count(";") > header.count(",") else ",")


def test_rows(rows: int, test_fraction: float) -> int:
    """How many rows, the last ones, are test rows: the floor rule of splitRows (src/model/model.ts)."""
    return math.floor(rows * test_fraction)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("features")
    parser.add_argument(
        "--test-fraction", type=float, default=0.1, help="share of the rows, the last ones, scored (default 0.1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random_state of the forest (the course sets none)")
    args = parser.parse_args(argv)
    if not 0 < args.test_fraction < 1:
        parser.error("--test-fraction must be between 0 and 1 (exclusive)")

    data = read_features(args.features)
    if TARGET not in data.columns:
        parser.error(f"{args.features} has no {TARGET} column")
    n = len(data)
    n_test = test_rows(n, args.test_fraction)
    n_fit = n - n_test
    if n_fit < 1 or n_test < 1:
        parser.error(f"{n} rows cannot be split with --test-fraction {args.test_fraction}")
    x = data.drop(columns=[TARGET]).to_numpy(dtype=np.float64)
    y = data[TARGET].to_numpy(dtype=np.float64)
    x_fit, y_fit, x_test, y_test = x[:n_fit], y[:n_fit], x[n_fit:], y[n_fit:]

    model = RandomForestRegressor(n_estimators=1, max_depth=10, random_state=args.seed)
    started = time.perf_counter()
    model.fit(x_fit, y_fit)
    fit_seconds = time.perf_counter() - started
    predicted = model.predict(x_test)

    baseline = np.full_like(y_test, y_fit.mean())
    print(
        json.dumps(
            {
                "rmse": math.sqrt(mean_squared_error(y_test, predicted)),
                "mae": mean_absolute_error(y_test, predicted),
                "r2": r2_score(y_test, predicted),
                "baselineRmse": math.sqrt(mean_squared_error(y_test, baseline)),
                "fitSeconds": fit_seconds,
                "trainRows": n_fit,
                "testRows": n_test,
                "seed": args.seed,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
