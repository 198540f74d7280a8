"""workflows-examples/pr-gate.yml on pull_request events, run by nektos/act against a fake GitHub API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from fakes.github_api import FakeGitHub
from modelci.registry import open_registry

from .act_harness import commit_all, example_workflow, make_consumer_repo, run_workflow

pytestmark = pytest.mark.e2e


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub().start()
    yield fake
    fake.stop()


def _pull_request(number: int, sha: str) -> dict:
    return {"number": number, "pull_request": {"number": number, "head": {"sha": sha, "ref": "better-model"},
                                               "base": {"ref": "main"}},
            "repository": {"full_name": "acme/churn"}}


def test_gate_blocks_a_worse_model_with_one_sticky_comment_and_status(tmp_path: Path, project: Path,
                                                                      github: FakeGitHub) -> None:
    repo = make_consumer_repo(tmp_path / "consumer", project, {"pr-gate.yml": example_workflow("pr-gate.yml")})
    registry_uri = f"file://{tmp_path / 'registry'}"
    env = {"GITHUB_API_URL": github.url}
    secrets = {"GITHUB_TOKEN": github.token}
    variables = {"MODELCI_REGISTRY": registry_uri}

    first = run_workflow(repo, "pr-gate.yml", event="pull_request", payload=_pull_request(7, "a" * 40),
                         env=env, secrets=secrets, variables=variables)
    assert first.code == 0, first.log[-5000:]
    assert first.outputs["passed"] == "true"
    [comment] = github.issue_comments(7)
    assert "breast-cancer" in comment["body"] and "first run" in comment["body"].lower()
    assert github.statuses[-1]["state"] == "success"
    assert github.statuses[-1]["context"] == "modelci/gate/breast-cancer"
    registry = open_registry(registry_uri)
    registry.set_alias("breast-cancer", "champion", 1)  # what the release workflow does after deploying

    config = repo / "modelci.yaml"
    data = yaml.safe_load(config.read_text())
    data["model"]["params"]["C"] = 0.001  # a much weaker model
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    commit_all(repo, "regularise harder")
    second = run_workflow(repo, "pr-gate.yml", event="pull_request", payload=_pull_request(7, "b" * 40),
                          env=env, secrets=secrets, variables=variables)
    assert second.code != 0, "the check fails when the gate does"
    assert list(second.job_results().values()) == ["failure"]
    comments = github.issue_comments(7)
    assert len(comments) == 1 and comments[0]["id"] == comment["id"], "updated in place, not a second comment"
    assert "fail" in comments[0]["body"].lower()
    assert github.statuses[-1]["state"] == "failure"
    assert github.token not in first.log + second.log
    gated = [e for e in registry.events("breast-cancer") if e.kind == "gated"]
    assert [(e.version, e.data["passed"]) for e in gated] == [(1, True), (2, False)]
