"""Fixtures of the deploy tests: a project with two trained versions (once per session), a fresh
Kubernetes API emulator per test with those versions' images in its catalogue, its kubeconfig."""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from deploy_support import Project

from k8s_emulator import Emulator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "breast-cancer"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def deploy_project(tmp_path_factory: pytest.TempPathFactory, example_data: Path) -> Project:
    from modelci.config import load_config
    from modelci.registry import open_registry
    from modelci.serve.bundle import export_bundle
    from modelci.train import train

    path = tmp_path_factory.mktemp("deploy-project")
    shutil.copy(EXAMPLE / "modelci.yaml", path / "modelci.yaml")
    shutil.copy(EXAMPLE / "train.py", path / "train.py")
    shutil.copytree(example_data, path / "data")
    data = yaml.safe_load((path / "modelci.yaml").read_text())
    data["environments"] = {
        "staging": {"target": "kubernetes", "namespace": "staging", "replicas": 2, "strategy": "rolling",
                    "timeout": "90s"},
        "production": {"target": "kubernetes", "namespace": "models", "replicas": 1, "strategy": "canary",
                       "canary": {"replicas": 1}, "timeout": "90s"},
        "preview": {"target": "kubernetes", "namespace": "preview", "replicas": 1, "strategy": "blue-green",
                    "timeout": "90s"},
        "custom": {"target": "kubernetes", "namespace": "custom", "replicas": 1, "manifest": "deploy.yml",
                   "timeout": "90s"},
        "laptop": {"target": "local", "port": free_port(), "timeout": "60s"},
    }
    (path / "modelci.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    old = Path.cwd()
    os.chdir(path)
    try:
        config = load_config(str(path / "modelci.yaml"), [])
        registry = open_registry(config.registry, config.base_dir)
        versions = [train(config, registry).version for _ in range(2)]
        bundles = {v.version: export_bundle(registry, v, path / "bundles" / str(v.version)) for v in versions}
    finally:
        os.chdir(old)
    record = json.loads((bundles[1] / "model.json").read_text())
    return Project(path, path / ".modelci" / "registry", bundles, record)


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELCI_ROLLOUT_POLL_S", "0.2")
    monkeypatch.setenv("MODELCI_HTTP_BACKOFF_S", "0.05")
    for var in ("GITHUB_TOKEN", "MODELCI_GITHUB_TOKEN", "MODELCI_KUBECONFIG", "KUBECONFIG", "MODELCI_MODEL",
                "MODELCI_IMAGE", "MODELCI_ENVIRONMENT", "MODELCI_STRATEGY", "MODELCI_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def emulator(deploy_project: Project, tmp_path: Path) -> Iterator[Emulator]:
    em = Emulator(deploy_project.catalogue(), logs=tmp_path).start()
    yield em
    em.stop()


@pytest.fixture
def kubeconfig(emulator: Emulator, tmp_path: Path) -> Path:
    return emulator.kubeconfig(tmp_path / "kubeconfig")
