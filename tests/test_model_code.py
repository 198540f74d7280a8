"""A model holding the project's own classes is served from its artifact alone."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

from modelci.registry import open_registry
from modelci.serve.bundle import export_bundle

FEATURES = '''
from sklearn.base import BaseEstimator, TransformerMixin


class Clip(BaseEstimator, TransformerMixin):
    """Clips every numeric column at a quantile learnt in fit."""

    def __init__(self, q=0.99):
        self.q = q

    def fit(self, X, y=None):
        self.high_ = X.quantile(self.q)
        return self

    def transform(self, X):
        return X.clip(upper=self.high_, axis=1)
'''

TRAIN = '''
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from features import Clip


class Standardise(BaseEstimator, TransformerMixin):
    def fit(self, X, y=None):
        self.mean_, self.std_ = X.mean(), X.std() + 1e-9
        return self

    def transform(self, X):
        return (X - self.mean_) / self.std_


def build(frame, params):
    X, y = frame.drop(columns=["malignant", "site"]), frame["malignant"]
    return Pipeline([("clip", Clip()), ("scale", Standardise()), ("lr", LogisticRegression(max_iter=500))]).fit(X, y)
'''


def test_project_classes_travel_inside_the_artifact(cli, project: Path, tmp_path: Path) -> None:
    (project / "features.py").write_text(FEATURES)
    (project / "train.py").write_text(TRAIN)
    (project / "modelci.yaml").write_text(
        "model: {name: custom, entrypoint: train.py:build}\n"
        "data: {train: data/train.csv, test: data/test.csv, target: malignant, features: "
        + json.dumps([c for c in (project / "data" / "test.csv").read_text().splitlines()[0].split(",")
                      if c not in ("malignant", "site")]) + "}\n")
    result = cli("train", cwd=project)
    assert result.code == 0, result.err
    registry = open_registry("file://.modelci/registry", project)
    version = registry.get_version("custom", 1)
    assert version.extra["code_modules"] == ["features", "modelci_entrypoint_train"]
    bundle = export_bundle(registry, version, tmp_path / "bundle")
    artifact = next(p for p in bundle.iterdir() if p.name.startswith("sha256-"))
    assert zipfile.is_zipfile(artifact)
    assert {"code/features.py", "code/train.py", "model.joblib"} <= set(zipfile.ZipFile(artifact).namelist())

    # A server started far from the project: only the artifact can bring the classes.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    server = subprocess.Popen([sys.executable, "-m", "modelci", "serve", "--model", str(bundle), "--port", str(port)],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                time.sleep(0.1)
        example = version.input_example
        body = json.dumps({"dataframe_split": {"columns": example["columns"], "data": example["data"]}}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as r:
            assert json.loads(r.read())["predictions"] == example["predictions"]
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stderr:
            server.stderr.close()


def test_a_plain_scikit_learn_model_stays_a_plain_artifact(cli, project: Path) -> None:
    assert cli("train", cwd=project).code == 0
    registry = open_registry("file://.modelci/registry", project)
    version = registry.get_version("breast-cancer", 1)
    assert version.extra["code_modules"] == []
    assert not zipfile.is_zipfile(registry.verified_artifact(version))
