"""The course's model, scored on the same time-ordered split as windflow's TensorFlow.js model.

The course fits scikit-learn ``RandomForestRegressor(n_estimators=1, max_depth=10)`` on all the features (a single
depth-10 tree grown on a bootstrap sample). Here it is fitted on the first rows of the features file and scored on
the last ``--validation-fraction`` of them, exactly the rows src/model/model.ts holds out:
``validation rows = floor(rows * fraction)``, the training rows are the ones before them (no shuffling).

Usage:
    .venv-oracle/bin/python tests/oracle/course_model.py FEATURES [--validation-fraction 0.2] [--seed 0]

FEATURES is the features file (Parquet, or CSV: ``,`` or ``;`` separated) with the target column ``Ba_avg`` and
every other column a feature. Prints one JSON object: rmse, mae, r2, baselineRmse (predicting the training mean),
fitSeconds, trainRows, validationRows.
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("features")
    parser.add_argument("--validation-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0, help="random_state of the forest (the course sets none)")
    args = parser.parse_args(argv)
    if not 0 < args.validation_fraction < 1:
        parser.error("--validation-fraction must be between 0 and 1")

    data = read_features(args.features)
    if TARGET not in data.columns:
        parser.error(f"{args.features} has no {TARGET} column")
    n = len(data)
    n_val = math.floor(n * args.validation_fraction)
    n_train = n - n_val
    if n_train < 1 or n_val < 1:
        parser.error(f"{n} rows cannot be split with fraction {args.validation_fraction}")
    x = data.drop(columns=[TARGET]).to_numpy(dtype=np.float64)
    y = data[TARGET].to_numpy(dtype=np.float64)
    x_train, y_train, x_val, y_val = x[:n_train], y[:n_train], x[n_train:], y[n_train:]

    model = RandomForestRegressor(n_estimators=1, max_depth=10, random_state=args.seed)
    started = time.perf_counter()
    model.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - started
    predicted = model.predict(x_val)

    baseline = np.full_like(y_val, y_train.mean())
    print(
        json.dumps(
            {
                "rmse": math.sqrt(mean_squared_error(y_val, predicted)),
                "mae": mean_absolute_error(y_val, predicted),
                "r2": r2_score(y_val, predicted),
                "baselineRmse": math.sqrt(mean_squared_error(y_val, baseline)),
                "fitSeconds": fit_seconds,
                "trainRows": n_train,
                "validationRows": n_val,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
