"""Benchmark: `modelci gate` of two models on a synthetic 30-feature holdout of 100k, 300k and 1M rows.

Each size runs `modelci gate` in its own subprocess, which reports its own peak RSS
(ru_maxrss), wall time and CPU time. Data is generated in other subprocesses: Linux keeps
ru_maxrss across fork and exec, so a parent that had held a big frame would inflate it.

    .venv/bin/python benchmarks/gate.py                     # 100k, 300k, 1M rows, CSV
    .venv/bin/python benchmarks/gate.py --rows 100000 --format parquet

The holdout is streamed in chunks of 100,000 rows; what stays in memory is a few
numbers per row (labels, predictions, probabilities), not the 30-column frame.
For scale, the same 1M x 30 frame of float64 alone is 240 MB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FEATURES = 30
TRAIN_ROWS = 20_000
SMALL_TRAIN_ROWS = 300
SIZES = (100_000, 300_000, 1_000_000)

CHILD = r"""
import json, os, resource, sys, time
from modelci.cli import main
started = time.perf_counter()
code = main(sys.argv[1:])
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
print("BENCH " + json.dumps({"code": code, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
                             "peak_rss_mb": usage.ru_maxrss / 1024}), file=sys.stderr)
"""

CONFIG = """version: 1
model:
  name: bench
  estimator: {{class: sklearn.linear_model.LogisticRegression, params: {{C: {C}, max_iter: 500}}}}
data: {{train: {train}, test: {test}, target: y}}
registry: file://.modelci/registry
gate:
  metrics: [accuracy, f1, roc_auc]
  thresholds: {{accuracy: ">= 0.6"}}
  max_regression: {{f1: 0.01}}
  max_relative_regression: {{roc_auc: 0.02}}
  significance: 0.05
  slices: [{{column: region, thresholds: {{recall: ">= 0.5"}}}}]
  budgets: {{latency_p95_ms: 50, size_mb: 10}}
"""


def make_frame(rows: int, seed: int):  # -> pandas.DataFrame
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, FEATURES)).astype("float64")
    weights = np.linspace(1.0, 0.05, FEATURES)
    logits = X @ weights + rng.normal(scale=2.0, size=rows)
    frame = pd.DataFrame(X, columns=[f"f{i:02d}" for i in range(FEATURES)])
    frame["region"] = rng.choice(["north", "south", "east", "west"], size=rows)
    frame["y"] = (logits > 0).astype("int64")
    return frame


def write(frame, path: Path) -> None:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False, float_format="%.6g")
    else:
        frame.to_parquet(path, index=False)


def make(rows: int, path: Path, seed: int, drop_region: bool = False) -> None:
    """Write a data file from a child process (see the module docstring)."""
    args = [sys.executable, __file__, "--make", str(rows), str(path), str(seed)]
    args += ["--no-region"] if drop_region else []
    subprocess.run(args, check=True)


def run(cmd: list[str], cwd: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, *cmd], check=False, cwd=cwd, capture_output=True, text=True)
    line = next((ln for ln in proc.stderr.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(line[len("BENCH "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--keep", type=Path, help="work in this folder instead of a temporary one")
    parser.add_argument("--make", nargs=3, metavar=("ROWS", "PATH", "SEED"), help=argparse.SUPPRESS)
    parser.add_argument("--no-region", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        frame = make_frame(int(args.make[0]), int(args.make[2]))
        write(frame.drop(columns=["region"]) if args.no_region else frame, Path(args.make[1]))
        return

    with tempfile.TemporaryDirectory(prefix="modelci-bench-gate-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        make(TRAIN_ROWS, work / "train.csv", 0, drop_region=True)
        make(SMALL_TRAIN_ROWS, work / "train-small.csv", 2, drop_region=True)
        ext = "csv" if args.format == "csv" else "parquet"
        # baseline (champion): C=1 on 20k rows; candidate: C=0.01 on 300 rows, slightly worse
        for c_value, train, alias in ((1.0, "train.csv", "champion"), (0.01, "train-small.csv", None)):
            (work / "modelci.yaml").write_text(CONFIG.format(C=c_value, train=train,
                                                             test=f"test-{min(args.rows)}.{ext}"))
            if not (work / f"test-{min(args.rows)}.{ext}").exists():
                make(min(args.rows), work / f"test-{min(args.rows)}.{ext}", 1)
            result = run(["train"], work)
            if result["code"] != 0:
                raise SystemExit("training failed")
            if alias:
                run(["registry", "alias", alias, "1"], work)
        print(f"{'rows':>10} {'file MB':>8} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12} {'verdict':>8}")
        for rows in args.rows:
            test = work / f"test-{rows}.{ext}"
            if not test.exists():
                started = time.perf_counter()
                make(rows, test, 1)
                print(f"  (wrote {test.name} in {time.perf_counter() - started:.1f}s)", file=sys.stderr)
            (work / "modelci.yaml").write_text(CONFIG.format(C=0.01, train="train-small.csv", test=test.name))
            result = run(["gate", "--candidate", "2", "--report", str(work / f"report-{rows}"), "--no-fail"], work)
            verdict = json.loads((work / f"report-{rows}" / "result.json").read_text())["passed"]
            print(f"{rows:>10,} {test.stat().st_size / 1e6:>8.0f} {result['wall_s']:>8.1f} {result['cpu_s']:>8.1f} "
                  f"{result['peak_rss_mb']:>12.0f} {'pass' if verdict else 'fail':>8}", flush=True)


if __name__ == "__main__":
    main()
