"""Streaming evaluation: the result does not depend on how the holdout is chunked."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelci.config import load_config
from modelci.gate import GateRequest, run_gate
from modelci.registry import open_registry


@pytest.mark.parametrize("chunk_rows", [pytest.param(37, id="odd-chunks"), pytest.param(1, id="row-by-row")])
def test_chunked_and_whole_holdout_give_the_same_verdict(cli, project: Path, train, chunk_rows: int) -> None:
    train(project, "model.params.C=0.1")
    assert cli("registry", "alias", "champion", "1", cwd=project).code == 0
    train(project, "model.params.C=0.01")
    config = load_config(project / "modelci.yaml")
    registry = open_registry(config.registry, config.base_dir)
    whole = run_gate(config, registry, GateRequest(chunk_rows=1_000_000, latency_calls=5)).to_dict()
    chunked = run_gate(config, registry, GateRequest(chunk_rows=chunk_rows, latency_calls=5)).to_dict()
    for volatile in ("budgets",):  # timings differ from run to run
        whole.pop(volatile)
        chunked.pop(volatile)
    whole["rules"] = [r for r in whole["rules"] if r["rule"] != "budget"]
    chunked["rules"] = [r for r in chunked["rules"] if r["rule"] != "budget"]
    assert chunked == whole
    assert whole["rows"] == 171 and [s["value"] for s in whole["slices"]] == ["north", "east", "south"]
