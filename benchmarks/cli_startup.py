"""How fast `modelci --help` and `modelci --version` start (heavy imports must be lazy).

    .venv/bin/python benchmarks/cli_startup.py [--runs 20]

Prints the median and best wall time of each command over fresh processes, next
to bare `python -c pass` for the interpreter's own share. Goal: --help <= 150 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def timed(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    py = sys.executable
    rows = [
        ("python -c pass", [py, "-c", "pass"]),
        ("modelci --version", [py, "-m", "modelci", "--version"]),
        ("modelci --help", [py, "-m", "modelci", "--help"]),
        ("modelci train --help", [py, "-m", "modelci", "train", "--help"]),
        ("modelci registry list --help", [py, "-m", "modelci", "registry", "list", "--help"]),
    ]
    print(f"{'command':<32} {'median ms':>10} {'best ms':>9}")
    for label, cmd in rows:
        times = timed(cmd, args.runs)
        print(f"{label:<32} {statistics.median(times):>10.1f} {min(times):>9.1f}")
    heavy = subprocess.run(
        [py, "-X", "importtime", "-m", "modelci", "--help"], capture_output=True, text=True, check=True
    ).stderr
    loaded = [m for m in ("sklearn", "numpy", "pandas", "scipy", "joblib", "requests") if f" {m}\n" in heavy
              or f"| {m}\n" in heavy]
    print(f"heavy modules imported by --help: {', '.join(loaded) or 'none'}")


if __name__ == "__main__":
    main()
