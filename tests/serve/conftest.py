"""Fixtures for the model server: a model trained once per session, a bundle, a live server.

Servers run for real: ``python -m modelci serve`` in a subprocess on a free port,
talked to over HTTP, stopped with SIGTERM.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_support import EXAMPLE, Server, Trained, start_server


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, example_data: Path) -> Trained:
    """The example model, trained through the core API into a file registry, plus a bundle of it."""
    from modelci.config import load_config
    from modelci.registry import open_registry
    from modelci.serve.bundle import export_bundle
    from modelci.train import train

    project = tmp_path_factory.mktemp("serve-project")
    shutil.copy(EXAMPLE / "modelci.yaml", project / "modelci.yaml")
    shutil.copy(EXAMPLE / "train.py", project / "train.py")
    shutil.copytree(example_data, project / "data")
    old = Path.cwd()
    os.chdir(project)
    try:
        config = load_config(str(project / "modelci.yaml"), [])
        registry = open_registry(config.registry, config.base_dir)
        version = train(config, registry).version
        bundle = export_bundle(registry, version, project / "bundle")
    finally:
        os.chdir(old)
    return Trained(project, registry.uri, version.to_dict(), bundle)


@pytest.fixture(scope="session")
def server(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server on the bundle, shared by the protocol tests."""
    srv = start_server(str(trained.bundle), tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()
