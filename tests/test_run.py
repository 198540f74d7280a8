"""modelci run: the whole pipeline on the local environment, as the demo runs it."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelci.registry import open_registry


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def local_project(project: Path) -> Iterator[Path]:
    yield project
    # Stop the servers the local target left running.
    from modelci.deploy.local import stop

    stop(project / ".modelci" / "local", "local")


def test_ship_then_gate_blocks_then_rollback(cli, local_project: Path) -> None:
    fast = ["--no-image", "--set", f"environments.local.port={_free_port()}", "--set", "verify.duration=4s",
            "--set", "verify.interval=1s"]
    shipped = cli("run", *fast, cwd=local_project)
    assert shipped.code == 0, shipped.err
    assert shipped.outputs["verdict"] == "shipped"
    assert "breast-cancer:1 is serving and is the champion" in shipped.out
    registry = open_registry("file://.modelci/registry", local_project)
    assert registry.aliases("breast-cancer") == {"champion": 1, "local": 1}

    worse = cli("run", *fast, "--set", "model.params.C=0.001", cwd=local_project)
    assert worse.code == 1
    assert worse.outputs["verdict"] == "gate-failed"
    assert "the gate blocked the candidate; nothing was deployed" in worse.out
    assert registry.aliases("breast-cancer") == {"champion": 1, "local": 1}

    slow = cli("run", *fast, "--set", "model.params.classifier=forest", "--set", "model.params.n_estimators=2000",
               cwd=local_project)
    assert slow.code == 1, slow.err
    assert slow.outputs["verdict"] == "rolled-back"
    assert "ROLLED BACK to breast-cancer:1" in slow.out and "latency_p95_ms" in slow.out
    assert registry.aliases("breast-cancer") == {"champion": 1, "local": 1}
    kinds = [(e.kind, e.version) for e in registry.events("breast-cancer") if e.kind in ("rolled_back", "gated")]
    assert kinds == [("gated", 1), ("gated", 2), ("gated", 3), ("rolled_back", 3)]
    report = json.loads((local_project / "modelci-report" / "verify" / "verify.json").read_text())
    assert report["rolled_back"] is True and report["restored_version"] == 1
    assert "| verify |" in slow.summary
