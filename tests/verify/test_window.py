"""Smoke tests and the monitoring window against real model servers."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelci.conditions import Condition
from modelci.config import SmokeCase, VerifySpec
from modelci.registry import ModelVersion, open_registry
from modelci.serve.bundle import export_bundle
from modelci.serve.metrics import Metrics
from modelci.verify.analysis import drift_psi
from modelci.verify.http_probe import HttpProbe
from modelci.verify.scrape import snapshot_from_text
from modelci.verify.smoke import run_smoke
from modelci.verify.sources import ScrapeSource
from modelci.verify.window import run_window
from modelci_testing import edit_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory, example_data: Path) -> dict[str, tuple[ModelVersion, Path]]:
    """A good model and one that always predicts the same class (its predictions drift)."""
    import shutil

    from modelci.config import load_config
    from modelci.train import train

    root = tmp_path_factory.mktemp("verify")
    examples = Path(__file__).resolve().parents[2] / "examples" / "breast-cancer"
    for name in ("modelci.yaml", "train.py"):
        shutil.copy(examples / name, root / name)
    shutil.copytree(example_data, root / "data")
    registry = open_registry(f"file://{root / 'registry'}")
    good = train(load_config(root / "modelci.yaml"), registry).version

    def constant(cfg: dict) -> None:
        del cfg["model"]["entrypoint"]
        cfg["model"]["params"] = {}
        cfg["model"]["estimator"] = {"class": "sklearn.dummy.DummyClassifier",
                                     "params": {"strategy": "constant", "constant": 1}}
        cfg["data"]["features"] = ["mean_radius", "mean_texture"]
    edit_config(root, constant)
    drifting = train(load_config(root / "modelci.yaml"), registry).version
    return {name: (v, export_bundle(registry, v, root / f"bundle-{name}")) for name, v in
            (("good", good), ("drifting", drifting))}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(bundle: Path) -> HttpProbe:
        port = _free_port()
        log = (tmp_path / f"serve-{port}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "modelci", "serve", "--model", str(bundle), "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "GITHUB_ACTIONS": ""})
        log.close()
        procs.append(proc)
        probe = HttpProbe(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if probe.call("GET", "/readyz")[0] == 200:
                    return probe
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError((tmp_path / f"serve-{port}.log").read_text())

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


def _traffic(probe: HttpProbe, version: ModelVersion, stop: threading.Event) -> None:
    example = version.input_example
    # Replay the test rows the example came from, so the served mix resembles the holdout.
    body = json.dumps({"dataframe_split": {"columns": example["columns"], "data": example["data"]}}).encode()
    while not stop.is_set():
        probe.call("POST", "/invocations", body)
        time.sleep(0.005)


SPEC = VerifySpec(duration_s=2.0, interval_s=0.5, failure_limit=1,
                  slo={"error_rate": Condition("<", 0.01), "latency_p95_ms": Condition("<", 500.0)},
                  drift={"psi": Condition("<", 0.2)})


def test_smoke_passes_on_the_registered_version(serve, versions) -> None:
    version, bundle = versions["good"]
    result = run_smoke(serve(bundle), version, "input_example")
    assert result.passed, result.reasons
    assert [c.name for c in result.checks] == ["/version", "input example"]


def test_smoke_catches_the_wrong_version_and_wrong_predictions(serve, versions) -> None:
    good, _ = versions["good"]
    _, other_bundle = versions["drifting"]
    result = run_smoke(serve(other_bundle), good, [SmokeCase(
        request={"dataframe_split": {"columns": good.input_example["columns"], "data": good.input_example["data"]}},
        expect=[9, 9, 9, 9, 9])])
    assert not result.passed
    assert any("expected breast-cancer:1" in r for r in result.reasons)
    assert any(r.startswith("smoke[0]: answered HTTP 4") for r in result.reasons), result.reasons


def test_window_passes_under_healthy_traffic(serve, versions) -> None:
    version, bundle = versions["good"]
    probe = serve(bundle)
    stop = threading.Event()
    worker = threading.Thread(target=_traffic, args=(probe, version, stop))
    worker.start()
    try:
        spec = dataclasses.replace(SPEC, drift={})  # five example rows are not a population
        result = run_window(ScrapeSource(probe), spec, version.extra["prediction_profile"])
    finally:
        stop.set()
        worker.join()
    assert result.passed, result.reasons
    assert len(result.intervals) == 4
    assert sum(iv.requests for iv in result.intervals) > 20
    checks = {c.name: c for c in result.intervals[-1].checks}
    assert checks["error_rate"].value == 0.0 and checks["latency_p95_ms"].passed


def test_window_fails_early_on_drift(serve, versions) -> None:
    version, bundle = versions["drifting"]
    good, _ = versions["good"]
    probe = serve(bundle)
    stop = threading.Event()
    worker = threading.Thread(target=_traffic, args=(probe, version, stop))
    worker.start()
    try:
        # The drifting model always says 1; the good model's holdout said 1 in ~37% of rows.
        result = run_window(ScrapeSource(probe), dataclasses.replace(SPEC, duration_s=10.0),
                            good.extra["prediction_profile"])
    finally:
        stop.set()
        worker.join()
    assert not result.passed
    assert len(result.intervals) < 20, "stopped at the failure limit, not at the end of the window"
    assert any(r.startswith("psi = ") and "breaks psi < 0.2" in r for r in result.reasons)


def test_figures_from_a_servers_metrics() -> None:
    metrics = Metrics({"name": "m", "version": "3"}, classification=True)
    for i in range(100):
        metrics.observe_request("/invocations", 500 if i < 5 else 200, 0.004 if i < 90 else 0.2)
    metrics.observe_request("/healthz", 200, 0.0001)
    metrics.observe_predictions([0] * 30 + [1] * 70)
    snap = snapshot_from_text(metrics.render().decode())
    assert (snap.requests, snap.errors, snap.version) == (100, 5, "3")
    assert snap.error_rate == 0.05
    p95 = snap.latency_quantile_ms(0.95)
    assert p95 is not None and 100 < p95 <= 250  # the slowest 10% took 200 ms
    profile = {"kind": "categorical", "counts": {"0": 30, "1": 70}}
    assert drift_psi(profile, snap.predictions) == pytest.approx(0.0, abs=1e-9)
    assert drift_psi(profile, {"0": 90, "1": 10}) > 0.2
    assert drift_psi(profile, {"0": 1, "1": 2}) is None, "too few predictions to judge"
