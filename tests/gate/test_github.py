"""The gate on a pull request, against a fake GitHub REST API served over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gate_support import HEAD_SHA

from fakes.github_api import FakeGitHub
from modelci.errors import InfrastructureError
from modelci.github.api import GitHubClient, GitHubHTTPError
from modelci.registry import open_registry

MARK = "<!-- modelci:gate model=breast-cancer workflow=model-ci -->"
BEST_C = "model.params.C=0.1"
MUCH_WORSE_C = "model.params.C=0.001"


def _writes(fake: FakeGitHub) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake.requests if r.method != "GET"]


def _assert_token_hidden(token: str, *texts: str) -> None:
    for text in texts:
        for line in text.splitlines():
            if token in line:
                assert line == f"::add-mask::{token}", f"token printed in: {line!r}"


def test_comment_is_created_then_updated_in_place_and_status_is_set(cli, project: Path, train, pull_request) -> None:
    fake = pull_request
    fake.add_comment("acme/churn", 7, "LGTM", user="reviewer")
    fake.add_comment("acme/churn", 7, "<!-- modelci:gate model=other workflow=model-ci -->\nother model")
    train(project)
    first = cli("gate", cwd=project)
    assert first.code == 0, first.err
    ours = [c for c in fake.issue_comments(7) if MARK in c["body"]]
    assert len(ours) == 1
    assert first.outputs["comment-url"] == ours[0]["html_url"]
    assert "### modelci gate: `breast-cancer:1`" in ours[0]["body"]
    assert fake.statuses[-1] == {
        "id": 1, "sha": HEAD_SHA, "state": "success", "context": "modelci/gate/breast-cancer",
        "description": "breast-cancer:1 passed", "target_url": "https://github.com/acme/churn/actions/runs/99"}

    assert cli("registry", "alias", "champion", "1", cwd=project).code == 0
    train(project, MUCH_WORSE_C)
    second = cli("gate", cwd=project)
    assert second.code == 1
    ours = [c for c in fake.issue_comments(7) if MARK in c["body"]]
    assert len(ours) == 1, "a second comment was created instead of updating the first"
    assert "breast-cancer:2` :x: failed" in ours[0]["body"]
    assert second.outputs["comment-url"] == ours[0]["html_url"]
    assert len(fake.issue_comments(7)) == 3  # the reviewer's and the other model's are untouched
    assert fake.statuses[-1]["state"] == "failure" and fake.statuses[-1]["description"].startswith(
        "breast-cancer:2 failed: ")
    assert _writes(fake) == [
        ("POST", "/repos/acme/churn/issues/7/comments"), ("POST", f"/repos/acme/churn/statuses/{HEAD_SHA}"),
        ("PATCH", f"/repos/acme/churn/issues/comments/{ours[0]['id']}"),
        ("POST", f"/repos/acme/churn/statuses/{HEAD_SHA}")]
    for request in fake.requests:
        assert request.headers["Authorization"] == f"Bearer {fake.token}"
        assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    _assert_token_hidden(fake.token, first.out, first.err, second.out, second.err, second.summary)
    assert f"::add-mask::{fake.token}" in first.out


def test_sticky_comment_is_found_on_a_later_page(cli, project: Path, train, pull_request) -> None:
    fake = pull_request
    fake.add_comment("acme/churn", 7, f"{MARK}\nold report")
    for i in range(150):
        fake.add_comment("acme/churn", 7, f"chatter {i}")
    # move ours to page 2 by recreating it last
    del fake.comments[min(fake.comments)]
    fake.add_comment("acme/churn", 7, f"{MARK}\nold report")
    train(project)
    assert cli("gate", cwd=project).code == 0
    assert [m for m, _ in _writes(fake)] == ["PATCH", "POST"]
    assert any(r.query.get("page") == ["2"] for r in fake.requests)
    assert len(fake.issue_comments(7)) == 151


@pytest.mark.parametrize(("status", "verdict"), [
    pytest.param(403, "pass", id="fork-403-gate-passes"),
    pytest.param(403, "fail", id="fork-403-gate-fails"),
    pytest.param(404, "pass", id="no-access-404-gate-passes"),
])
def test_fork_read_only_token_warns_and_the_verdict_decides(cli, project: Path, train, pull_request,
                                                            status: int, verdict: str) -> None:
    fake = pull_request
    fake.fail(status, times=10, message="Resource not accessible by integration")
    if verdict == "fail":
        assert cli("registry", "alias", "champion", str(train(project, BEST_C)), cwd=project).code == 0
        train(project, MUCH_WORSE_C)
    else:
        train(project)
    result = cli("gate", cwd=project)
    assert result.code == (0 if verdict == "pass" else 1)
    assert f"could not comment on pull request #7 (HTTP {status}" in result.err
    assert f"could not set the commit status modelci/gate/breast-cancer (HTTP {status}" in result.err
    assert result.outputs["comment-url"] == ""
    _assert_token_hidden(fake.token, result.out, result.err)


def test_outage_is_retried_then_succeeds(cli, project: Path, train, pull_request) -> None:
    fake = pull_request
    fake.fail(502, times=2, path_contains="/statuses/")
    train(project)
    result = cli("gate", cwd=project)
    assert result.code == 0, result.err
    assert [r.method for r in fake.requests if "/statuses/" in r.path] == ["POST"] * 3
    assert len(fake.statuses) == 1


def test_outage_after_retries_exits_3_but_the_verdict_is_recorded(cli, project: Path, train, pull_request) -> None:
    fake = pull_request
    fake.fail(502, times=100)
    train(project)
    result = cli("gate", cwd=project)
    assert result.code == 3
    assert "failed after 5 attempts: HTTP 502" in result.err
    _assert_token_hidden(fake.token, result.out, result.err, result.summary)
    registry = open_registry("file://.modelci/registry", project)
    assert [e.data["passed"] for e in registry.events("breast-cancer") if e.kind == "gated"] == [True]


def test_no_comment_still_sets_the_status(cli, project: Path, train, pull_request) -> None:
    train(project)
    assert cli("gate", "--no-comment", cwd=project).code == 0
    assert _writes(pull_request) == [("POST", f"/repos/acme/churn/statuses/{HEAD_SHA}")]


def test_pull_request_without_token_warns_and_posts_nothing(cli, project: Path, train, pull_request,
                                                            monkeypatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    train(project)
    result = cli("gate", cwd=project)
    assert result.code == 0
    assert "no token was given" in result.err
    assert pull_request.requests == []


def test_push_event_posts_nothing(cli, project: Path, train, pull_request, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    train(project)
    assert cli("gate", cwd=project).code == 0
    assert pull_request.requests == []


# -- the client on its own ----------------------------------------------------------------------------------------

def test_client_honours_retry_after_on_secondary_rate_limit(github: FakeGitHub) -> None:
    github.fail(403, times=1, headers={"Retry-After": "7"}, message="You have exceeded a secondary rate limit")
    sleeps: list[float] = []
    with GitHubClient(github.token, github.url, backoff_s=0.5, sleep=sleeps.append) as client:
        resp = client.request("POST", f"/repos/acme/churn/statuses/{HEAD_SHA}", json={"state": "success"})
    assert resp.status == 201 and sleeps == [7.0]


def test_client_backs_off_exponentially(github: FakeGitHub) -> None:
    github.fail(503, times=3)
    sleeps: list[float] = []
    with GitHubClient(github.token, github.url, backoff_s=0.5, sleep=sleeps.append) as client:
        assert client.request("GET", "/repos/acme/churn/issues/1/comments").data == []
    assert sleeps == [0.5, 1.0, 2.0]


def test_client_errors_are_typed_and_never_carry_the_token(github: FakeGitHub) -> None:
    with GitHubClient("wrong-token-value", github.url, sleep=lambda _: None) as client, \
            pytest.raises(GitHubHTTPError) as caught:
        client.request("GET", "/repos/acme/churn/issues/1/comments")
    assert caught.value.status == 401 and isinstance(caught.value, InfrastructureError)
    assert "token was rejected" in str(caught.value) and "wrong-token-value" not in str(caught.value)
    assert len(github.requests) == 1, "a 401 must not be retried"


def test_client_connection_refused_is_infrastructure_error() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with GitHubClient("t0ken-secret", f"http://127.0.0.1:{port}", retries=1, sleep=lambda _: None) as client, \
            pytest.raises(InfrastructureError) as caught:
        client.request("GET", "/rate_limit")
    assert "after 2 attempts" in str(caught.value) and "t0ken-secret" not in str(caught.value)


def test_client_reads_base_url_from_environment(github: FakeGitHub, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_API_URL", github.url + "/")
    with GitHubClient(github.token) as client:
        assert client.url("/repos/a/b") == f"{github.url}/repos/a/b"
        body = client.request("POST", "/repos/acme/churn/issues/3/comments", json={"body": "hi"}).data
    assert json.loads(json.dumps(body))["body"] == "hi"


def test_watermark_cannot_be_closed_by_a_workflow_name() -> None:
    from modelci.gate.comment import watermark

    assert watermark("churn", "CI --> <b>x</b>") == "<!-- modelci:gate model=churn workflow=CI - <bx</b -->"
