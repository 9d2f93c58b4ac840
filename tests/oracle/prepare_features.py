"""Test oracle: the course's feature preparation, written from the rules in SEED-NOTES.md with plain pandas.

    python tests/oracle/prepare_features.py IN.csv OUT.parquet --training|--prediction

Reads a `;`-separated La Haute Borne CSV, writes the features as Parquet (pyarrow, no index). The TypeScript
port (src/features/prepare.ts) must give the same columns, in the same order, and the same values.
"""
import argparse

import pandas as pd

TARGET = "Ba_avg"
DATE = "Date_time"
DROPPED = ["Wind_turbine_name", "Ba_min", "Ba_max", "Ba_std", DATE]


def columns_starting_with(df, *prefixes):
    return [c for c in df.columns if c.startswith(prefixes)]


def prepare_features(data: pd.DataFrame, training_mode: bool) -> pd.DataFrame:
    df = data.copy()

    # 1. Target: training keeps the rows that have one; prediction does not use it.
    if training_mode:
        df = df[df[TARGET].notna()]
    else:
        df = df.drop(columns=[TARGET], errors="ignore")

    # 2. Date features of the UTC instant, appended after the existing columns.
    date = pd.to_datetime(df[DATE], utc=True)
    df["year"] = date.dt.year
    df["month"] = date.dt.month
    df["season"] = (df["month"] % 12 + 3) // 3

    # 3. Sort by date, stable: rows with the same date keep their input order.
    df = df.assign(_utc=date).sort_values("_utc", kind="stable")

    # 4. Fill rules, in this order, over the sorted rows.
    q = ["Q_avg", "Q_min", "Q_max", "Q_std"]
    df[q] = df[q].ffill()
    va1 = columns_starting_with(df, "Va1_")
    df[va1] = df[va1].fillna(df[va1].mean())
    va2 = columns_starting_with(df, "Va2_")
    df[va2] = df[va2].fillna(df[va2].median())
    for c in columns_starting_with(df, "Rs_", "Rm_"):
        df[c] = df[c].fillna(df[c].rolling(30, min_periods=1).mean())

    # 5. Drop the name, the other pitch statistics and the dates.
    df = df.drop(columns=DROPPED + ["_utc"])

    # 6. Whatever is still missing becomes 0.
    return df.fillna(0).reset_index(drop=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("features")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--training", dest="training_mode", action="store_true")
    mode.add_argument("--prediction", dest="training_mode", action="store_false")
    args = parser.parse_args()
    data = pd.read_csv(args.data, sep=";")
    features = prepare_features(data, args.training_mode)
    features.to_parquet(args.features, index=False)


if __name__ == "__main__":
    main()
