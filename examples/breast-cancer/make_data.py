"""Write train.csv and test.csv from the breast-cancer data set that ships with scikit-learn.

Nothing is downloaded. ``--variant`` writes data that makes a worse model, for
demonstrating the gate:

    python make_data.py                 # data/train.csv, data/test.csv
    python make_data.py --rows 100000   # a larger holdout, resampled with noise
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    parser.add_argument("--test-size", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    args = parser.parse_args()

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame = frame.rename(columns={"target": "malignant"})
    # scikit-learn codes malignant as 0; make the positive class the one we care about.
    frame["malignant"] = 1 - frame["malignant"]
    rng = np.random.default_rng(args.seed)
    frame.insert(0, "site", rng.choice(["north", "south", "east"], size=len(frame)))
    train, test = train_test_split(frame, test_size=args.test_size, random_state=args.seed,
                                   stratify=frame["malignant"])
    args.out.mkdir(parents=True, exist_ok=True)
    for name, part in (("train", train), ("test", test)):
        path = args.out / f"{name}.{args.format}"
        if args.format == "csv":
            part.to_csv(path, index=False)
        else:
            part.to_parquet(path, index=False)
        print(f"wrote {path} ({len(part)} rows, {len(part.columns)} columns)")


if __name__ == "__main__":
    main()
