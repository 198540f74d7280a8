"""Gate fixtures: trained model versions in a consumer project, a fake GitHub API, a PR event."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gate_support import HEAD_SHA

from fakes.github_api import FakeGitHub

GITHUB_VARS = ("GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_TOKEN", "MODELCI_GITHUB_TOKEN", "GITHUB_API_URL",
               "GITHUB_WORKFLOW", "GITHUB_RUN_ID", "GITHUB_SERVER_URL", "MODELCI_CANDIDATE", "MODELCI_BASELINE",
               "MODELCI_REPORT", "MODELCI_FAIL_ON_REGRESSION", "MODELCI_COMMENT", "MODELCI_SET")


@pytest.fixture(autouse=True)
def _no_real_github(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a gate test reach a real GitHub, even when pytest itself runs in Actions."""
    for var in GITHUB_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def train(cli) -> Callable[..., int]:
    """train(project, "model.params.C=0.1", ...) -> the new version number."""

    def run(project: Path, *overrides: str) -> int:
        argv = ["train"]
        for item in overrides:
            argv += ["--set", item]
        result = cli(*argv, cwd=project)
        assert result.code == 0, result.err
        return int(result.outputs["model-version"])

    return run


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub().start()
    yield fake
    fake.stop()


@pytest.fixture
def pull_request(cli, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    """Environment of a pull_request run (PR #7 of acme/churn) pointed at the fake API (after cli's cleanup)."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({
        "action": "synchronize", "number": 7,
        "pull_request": {"number": 7, "head": {"sha": HEAD_SHA, "ref": "feature"}},
        "repository": {"full_name": "acme/churn"},
    }))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/churn")
    monkeypatch.setenv("GITHUB_WORKFLOW", "model-ci")
    monkeypatch.setenv("GITHUB_RUN_ID", "99")
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.setenv("GITHUB_TOKEN", github.token)
    monkeypatch.setenv("MODELCI_HTTP_BACKOFF_S", "0.01")
    return github
