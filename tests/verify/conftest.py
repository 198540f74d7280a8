"""Fixtures of the verify tests: a project with good and misbehaving versions (trained once), a fresh
copy of it per test, traffic in the background, and a Kubernetes API emulator whose pods serve them."""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from verify_support import VERSIONS, image

from k8s_emulator import Emulator

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parents[1] / "examples" / "breast-cancer"


@dataclass
class Trained:
    path: Path
    bundles: dict[int, Path]
    rows: list[list[Any]]
    columns: list[str]


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, example_data: Path) -> Trained:
    import pandas as pd

    from modelci.config import load_config
    from modelci.registry import open_registry
    from modelci.serve.bundle import export_bundle
    from modelci.train import train

    path = tmp_path_factory.mktemp("verify-project")
    shutil.copy(EXAMPLE / "modelci.yaml", path / "modelci.yaml")
    shutil.copy(EXAMPLE / "train.py", path / "train.py")
    (path / "bad.py").write_text("from misbehaving import build  # noqa: F401\n")
    shutil.copytree(example_data, path / "data")
    data = yaml.safe_load((path / "modelci.yaml").read_text())
    data["environments"] = {
        "production": {"target": "local", "port": 8080, "timeout": "60s"},
        "prod": {"target": "kubernetes", "namespace": "prod", "replicas": 1, "strategy": "rolling",
                 "timeout": "60s"},
        "live": {"target": "kubernetes", "namespace": "live", "replicas": 1, "strategy": "canary",
                 "canary": {"replicas": 1}, "timeout": "60s"},
        "preview": {"target": "kubernetes", "namespace": "preview", "replicas": 1, "strategy": "blue-green",
                    "timeout": "60s"},
    }
    data["verify"] = {"smoke": "input_example", "duration": "3s", "interval": "0.5s", "failure_limit": 1,
                      "slo": {"error_rate": "< 0.05", "latency_p95_ms": "< 150"}, "drift": {"psi": "< 0.2"}}
    (path / "modelci.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    bundles = {}
    old = Path.cwd()
    os.chdir(path)
    try:
        for number, kind in VERSIONS.items():
            overrides = [] if kind == "good" else ["model.entrypoint=bad.py:build", f"model.params.misbehave={kind}"]
            config = load_config(str(path / "modelci.yaml"), overrides)
            registry = open_registry(config.registry, config.base_dir)
            version = train(config, registry).version
            assert version.version == number
            bundles[number] = export_bundle(registry, version, path.parent / f"{path.name}-bundles" / str(number))
    finally:
        os.chdir(old)
    test = pd.read_csv(path / "data" / "test.csv").drop(columns=["malignant"])
    rows = json.loads(test.to_json(orient="values"))
    random.Random(7).shuffle(rows)
    return Trained(path, bundles, rows, list(test.columns))


@pytest.fixture
def project(trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the trained project (registry included), so tests do not share aliases."""
    dest = tmp_path / "project"
    shutil.copytree(trained.path, dest)
    monkeypatch.setenv("MODELCI_LOCAL_STATE", str(tmp_path / "local-state"))
    return dest


@pytest.fixture(autouse=True)
def serving_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serving processes (local target, emulator pods) inherit this: they must import misbehaving."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("MODELCI_ROLLOUT_POLL_S", "0.2")
    monkeypatch.setenv("MODELCI_HTTP_BACKOFF_S", "0.05")
    for var in ("GITHUB_TOKEN", "MODELCI_GITHUB_TOKEN", "MODELCI_KUBECONFIG", "KUBECONFIG", "MODELCI_ENVIRONMENT",
                "MODELCI_PROMETHEUS_URL", "MODELCI_DURATION", "MODELCI_INTERVAL", "MODELCI_ROLLBACK"):
        monkeypatch.delenv(var, raising=False)


Send = Callable[[bytes], object]


class Traffic:
    """One client replaying the holdout's rows one at a time until stopped."""

    def __init__(self, trained: Trained, send: Send) -> None:
        self.trained, self.send = trained, send
        self.stop_event = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self.stop_event.is_set():
            row = self.trained.rows[i % len(self.trained.rows)]
            body = json.dumps({"dataframe_split": {"columns": self.trained.columns, "data": [row]}}).encode()
            try:
                self.send(body)
            except Exception:
                time.sleep(0.01)
            self.sent += 1
            i += 1
            time.sleep(0.002)

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join(timeout=30)


@pytest.fixture
def traffic(trained: Trained) -> Callable[[Send], Traffic]:
    return lambda send: Traffic(trained, send)


@pytest.fixture
def emulator(trained: Trained, tmp_path: Path) -> Iterator[Emulator]:
    serve = [sys.executable, "-m", "modelci", "serve", "--port", "{port}", "--model"]
    em = Emulator({image(v): [*serve, str(b)] for v, b in trained.bundles.items()}, logs=tmp_path).start()
    yield em
    em.stop()


@pytest.fixture
def kubeconfig(emulator: Emulator, tmp_path: Path) -> Path:
    return emulator.kubeconfig(tmp_path / "kubeconfig")
