"""Child process of bench/run.ts: the Python pipeline with the same semantics as windflow's, end to end.

read CSV -> prepare_features (the test oracle: pandas, stable sort) -> features Parquet -> read back ->
time-ordered split (the last TEST_FRACTION share of the rows for the test, as windflow's splitRows) ->
RandomForestRegressor(n_estimators=1, max_depth=10), the course's model, fitted on every row before the test rows
(the rows windflow's MLP trains and stops early on) -> test RMSE -> save the model (joblib) -> predict every row of
the features file -> predictions CSV. Prints one JSON line with the stage times, peak RSS and the test metrics.

Usage: pipeline_python.py DATA_CSV WORK_DIR TEST_FRACTION
"""
import json
import math
import os
import resource
import sys
import time

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "oracle"))
from prepare_features import prepare_features  # noqa: E402

TARGET = "Ba_avg"


def main():
    data_path, work_dir, test_fraction = sys.argv[1], sys.argv[2], float(sys.argv[3])
    os.makedirs(work_dir, exist_ok=True)
    t = {}
    start = time.perf_counter()
    data = pd.read_csv(data_path, sep=";")
    t["read"] = time.perf_counter() - start

    mark = time.perf_counter()
    features = prepare_features(data, training_mode=True)
    features_path = os.path.join(work_dir, "features.parquet")
    features.to_parquet(features_path, index=False)
    t["features"] = time.perf_counter() - mark

    mark = time.perf_counter()
    features = pd.read_parquet(features_path)
    y = features[TARGET].to_numpy()
    x = features.drop(columns=[TARGET]).to_numpy(dtype=np.float64)
    # The same test rows as windflow's splitRows (src/model/model.ts): the last floor(rows * fraction) rows.
    n_train = len(features) - math.floor(len(features) * test_fraction)
    model = RandomForestRegressor(n_estimators=1, max_depth=10, random_state=0)
    model.fit(x[:n_train], y[:n_train])
    joblib.dump(model, os.path.join(work_dir, "model.joblib"))
    pred = model.predict(x[n_train:])
    err = pred - y[n_train:]
    rmse = float(np.sqrt(np.mean(err**2)))
    mae = float(np.mean(np.abs(err)))
    r2 = float(1 - np.sum(err**2) / np.sum((y[n_train:] - y[n_train:].mean()) ** 2))
    baseline = float(np.sqrt(np.mean((y[n_train:] - y[:n_train].mean()) ** 2)))
    t["train"] = time.perf_counter() - mark

    mark = time.perf_counter()
    model = joblib.load(os.path.join(work_dir, "model.joblib"))
    all_pred = model.predict(pd.read_parquet(features_path).drop(columns=[TARGET]).to_numpy(dtype=np.float64))
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    pd.DataFrame({"predictions": all_pred, "predictions_time": stamp}).to_csv(
        os.path.join(work_dir, f"{stamp}.csv"), index=False
    )
    t["predict"] = time.perf_counter() - mark
    t["total"] = time.perf_counter() - start
    print(json.dumps({
        "seconds": t["total"],
        "stages": t,
        "rssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": int(len(features)),
        "train": n_train,
        "test": {"rmse": rmse, "mae": mae, "r2": r2, "baselineRmse": baseline, "rows": int(len(features) - n_train)},
        "pandas": pd.__version__,
    }))


if __name__ == "__main__":
    main()
