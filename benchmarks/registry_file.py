"""The file registry at 10,000 versions: list, alias resolution, show, register.

    .venv/bin/python benchmarks/registry_file.py [--versions 10000] [--dir /tmp/bench-registry]

Fills a registry with N versions of one model (real records, tiny artifacts),
then times, in fresh processes, the commands a user runs. Goals: `registry list`
and alias resolution <= 50 ms each with 10,000 versions.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from modelci.registry import VersionDraft, open_registry


def fill(uri: str, count: int) -> None:
    registry = open_registry(uri)
    blob = Path(tempfile.mkdtemp()) / "model.bin"
    signature = {"inputs": [{"name": f"f{i}", "dtype": "double"} for i in range(30)],
                 "output": {"type": "class", "classes": [0, 1]}}
    example = {"columns": [f"f{i}" for i in range(30)], "data": [[0.5] * 30] * 5, "predictions": [0, 1, 0, 1, 0]}
    start = time.perf_counter()
    for i in range(count):
        blob.write_bytes(i.to_bytes(4, "big") * 256)
        draft = VersionDraft(name="churn", flavor="sklearn", task="classification", signature=signature,
                             input_example=example, params={"C": 1.0}, metrics={"accuracy": 0.9, "f1": 0.8},
                             data={"train": {"sha256": "sha256:" + "0" * 64, "rows": 1000}}, git={"sha": "a" * 40},
                             packages={"python": "3.11"})
        registry.register(draft, blob)
    elapsed = time.perf_counter() - start
    registry.set_alias("churn", "champion", count // 2)
    print(f"registered {count} versions in {elapsed:.1f} s ({elapsed / count * 1000:.2f} ms per register)")


def timed(cmd: list[str], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def in_process(uri: str, runs: int) -> None:
    from modelci.refs import parse_ref

    registry = open_registry(uri)
    for label, fn in (
        ("resolve churn@champion", lambda: registry.resolve(parse_ref("churn@champion"))),
        ("resolve churn (newest)", lambda: registry.resolve(parse_ref("churn"))),
        ("list newest 20", lambda: registry.list_versions("churn", limit=20)),
        ("list all", lambda: registry.list_versions("churn")),
    ):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
        print(f"  in-process {label:<28} median {statistics.median(times):8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "modelci-bench-registry")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    uri = f"file://{args.dir}"
    if len(open_registry(uri).version_numbers("churn")) != args.versions:
        shutil.rmtree(args.dir, ignore_errors=True)
        fill(uri, args.versions)
    else:
        print(f"reusing the {args.versions} versions in {args.dir}")
    py = [sys.executable, "-m", "modelci"]
    print(f"{'command (fresh process, ' + str(args.versions) + ' versions)':<58} {'median ms':>10} {'best ms':>8}")
    for label, cmd in (
        ("python -c pass (interpreter alone)", [sys.executable, "-c", "pass"]),
        ("modelci registry list churn", [*py, "registry", "list", "churn", "--registry", uri]),
        ("modelci registry show churn@champion", [*py, "registry", "show", "churn@champion", "--registry", uri]),
        ("modelci registry show churn:1", [*py, "registry", "show", "churn:1", "--registry", uri]),
        ("modelci registry list churn --limit 0 (all)", [*py, "registry", "list", "churn", "--limit", "0",
                                                         "--registry", uri]),
    ):
        median, best = timed(cmd, args.runs)
        print(f"{label:<58} {median:>10.1f} {best:>8.1f}")
    in_process(uri, args.runs)
    print(f"(the registry stays in {args.dir} for the next run; delete it when done)")


if __name__ == "__main__":
    main()
