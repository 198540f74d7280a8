"""modelci metrics: figures computed from a known event history."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from modelci.registry import Event, VersionDraft, open_registry

NOW = datetime.now(timezone.utc)


def at(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def history(tmp_path: Path) -> str:
    """Three versions: v1 ships to production; v2 is rolled back there; v3 fails the gate."""
    uri = f"file://{tmp_path / 'registry'}"
    registry = open_registry(uri)
    blob = tmp_path / "m.bin"
    blob.write_bytes(b"model")
    draft = VersionDraft(name="churn", flavor="sklearn", task="classification", signature={}, input_example={},
                         params={}, metrics={}, data={}, git={}, packages={})
    for _ in range(3):
        registry.register(draft, blob)
    # Replace the real-time history with one whose times we know.
    for path in (tmp_path / "registry" / "models" / "churn" / "events").iterdir():
        path.unlink()
    events = [
        Event("registered", "churn", 1, {"commit_time": at(100)}, at=at(99)),
        Event("gated", "churn", 1, {"passed": True}, at=at(98)),
        Event("deployed", "churn", 1, {"environment": "production"}, at=at(97)),
        Event("verified", "churn", 1, {"environment": "production", "healthy": True}, at=at(96)),
        Event("registered", "churn", 2, {"commit_time": at(50)}, at=at(49)),
        Event("gated", "churn", 2, {"passed": True}, at=at(48)),
        Event("deployed", "churn", 2, {"environment": "production"}, at=at(47)),
        Event("verified", "churn", 2, {"environment": "production", "healthy": False}, at=at(46.5)),
        Event("rolled_back", "churn", 2, {"environment": "production", "detected_at": at(46.5),
                                          "restored_at": at(46.5 - 0.01)}, at=at(46.49)),
        Event("registered", "churn", 3, {"commit_time": None}, at=at(10)),
        Event("gated", "churn", 3, {"passed": False}, at=at(9)),
    ]
    for e in events:
        registry.append_event(e)
    return uri


def test_figures_match_the_recorded_events(cli, history: str) -> None:
    result = cli("metrics", "--registry", history, "--since", "7d", "--format", "json")
    assert result.code == 0, result.err
    [report] = json.loads(result.out)
    assert report["model"] == "churn"
    assert report["registered"] == 3 and report["deployed"] == 2
    assert report["mus_per_day"] == pytest.approx(3 / 7, abs=1e-3)
    assert report["mts_per_day"] == pytest.approx(3 / 7, abs=1e-3)
    assert report["mds_per_day"] == pytest.approx(2 / 7, abs=1e-3)
    assert report["mq_gate"] == {"passed": 2, "total": 3, "rate": pytest.approx(2 / 3)}
    assert report["mq_verify"] == {"passed": 1, "total": 2, "rate": 0.5}
    production = report["environments"]["production"]
    assert production["deployments"] == 2 and production["rollbacks"] == 1
    assert production["change_failure_rate"] == 0.5
    # v1: committed 100 h ago, verified healthy in production 96 h ago.
    assert production["lead_time_s"]["median"] == pytest.approx(4 * 3600, abs=1)
    assert production["time_to_restore_s"]["median"] == pytest.approx(36, abs=1)
    assert sum(w["registered"] for w in report["weekly"]) == 3


def test_window_excludes_older_events(cli, history: str) -> None:
    [report] = json.loads(cli("metrics", "--registry", history, "--since", "1d", "--format", "json").out)
    assert report["registered"] == 1 and report["deployed"] == 0
    assert report["mq_gate"] == {"passed": 0, "total": 1, "rate": 0.0}


def test_markdown_has_the_table_and_a_mermaid_chart(cli, history: str, tmp_path: Path) -> None:
    plot = tmp_path / "health.png"
    result = cli("metrics", "--registry", history, "--since", "7d", "--plot", str(plot))
    assert result.code == 0
    assert "| MQ gate: passed / evaluated | 67% (2/3) |" in result.out
    assert "| production | 2 | 50% (1/2) | 4.0 h | 36 s |" in result.out
    assert "```mermaid\nxychart-beta" in result.out
    assert "MUS: versions registered / day" in result.summary
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_empty_registry_says_nothing_yet(cli, tmp_path: Path) -> None:
    result = cli("metrics", "--registry", f"file://{tmp_path / 'empty'}")
    assert result.code == 0
    assert result.out.startswith("nothing yet:")


def test_bad_window_is_bad_input(cli, tmp_path: Path) -> None:
    result = cli("metrics", "--registry", f"file://{tmp_path}", "--since", "a while")
    assert result.code == 2 and "--since" in result.err
