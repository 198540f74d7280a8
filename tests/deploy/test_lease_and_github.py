"""Concurrent deploys wait on a Lease; GitHub Deployments get statuses; the action's kubeconfig content."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from deploy_support import CRASH, IMG1, IMG2, Project

from fakes.github_api import FakeGitHub
from k8s_emulator import Emulator


def deploy(cli, project: Project, kubeconfig: Path, *args: str):
    return cli("deploy", "-c", str(project.path / "modelci.yaml"), "--kubeconfig", str(kubeconfig), *args)


def test_a_held_lease_makes_the_second_deploy_wait_then_exit_3(cli, deploy_project: Project, emulator: Emulator,
                                                                kubeconfig: Path) -> None:
    with emulator.store.lock:
        emulator.store.create("leases", "staging", {"metadata": {"name": "modelci-deploy-staging"}, "spec": {
            "holderIdentity": "octocat@acme/churn run 42", "leaseDurationSeconds": 30,
            "renewTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}})
    result = deploy(cli, deploy_project, kubeconfig, "-e", "staging", "--model", "1", "--image", IMG1,
                    "--timeout", "2s")
    assert result.code == 3, result.err
    assert "octocat@acme/churn run 42" in result.err
    assert "waited 2s" in result.err
    assert emulator.get("deployments", "staging", "breast-cancer") is None


def test_an_expired_lease_is_taken_over_and_released(cli, deploy_project: Project, emulator: Emulator,
                                                     kubeconfig: Path) -> None:
    with emulator.store.lock:
        emulator.store.create("leases", "models", {"metadata": {"name": "modelci-deploy-production"}, "spec": {
            "holderIdentity": "crashed-runner", "leaseDurationSeconds": 5, "renewTime": "2020-01-01T00:00:00.000000Z"}})
    result = deploy(cli, deploy_project, kubeconfig, "-e", "production", "--model", "1", "--image", IMG1)
    assert result.code == 0, result.err
    lease = emulator.get("leases", "models", "modelci-deploy-production")
    assert lease["spec"]["leaseTransitions"] == 1
    assert "holderIdentity" not in lease["spec"]  # released


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    fake = FakeGitHub().start()
    monkeypatch.setenv("GITHUB_API_URL", fake.url)
    monkeypatch.setenv("GITHUB_TOKEN", fake.token)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/churn")
    monkeypatch.setenv("GITHUB_SHA", "a" * 40)
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    yield fake
    fake.stop()


def test_github_deployment_statuses_on_success_and_failure(cli, deploy_project: Project, emulator: Emulator,
                                                           kubeconfig: Path, github: FakeGitHub,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/churn")  # the cli fixture clears it
    monkeypatch.setenv("GITHUB_SHA", "a" * 40)
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    ok = deploy(cli, deploy_project, kubeconfig, "-e", "staging", "--model", "1", "--image", IMG1)
    assert ok.code == 0, ok.err
    (deployment,) = github.deployments.values()
    assert ok.outputs["deployment-id"] == str(deployment["id"])
    assert deployment["environment"] == "staging"
    assert deployment["ref"] == "a" * 40
    assert deployment["payload"]["version"] == 1
    assert deployment["payload"]["image"] == IMG1
    states = [(s["deployment_id"], s["state"]) for s in github.deployment_statuses]
    assert states == [(deployment["id"], "in_progress"), (deployment["id"], "success")]
    assert github.deployment_statuses[-1]["environment_url"] == "http://breast-cancer.staging.svc.cluster.local"
    assert github.deployment_statuses[-1]["log_url"].endswith("/acme/churn/actions/runs/77")
    assert f"::add-mask::{github.token}" in ok.out

    bad = deploy(cli, deploy_project, kubeconfig, "-e", "staging", "--model", "2", "--image", CRASH)
    assert bad.code == 1
    assert [s["state"] for s in github.deployment_statuses[2:]] == ["in_progress", "failure"]


def test_github_outage_does_not_fail_a_deploy(cli, deploy_project: Project, emulator: Emulator, kubeconfig: Path,
                                              github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/churn")
    monkeypatch.setenv("GITHUB_SHA", "a" * 40)
    monkeypatch.setenv("MODELCI_HTTP_BACKOFF_S", "0")
    github.fail(502, times=10, path_contains="/deployments")
    result = deploy(cli, deploy_project, kubeconfig, "-e", "staging", "--model", "2", "--image", IMG2)
    assert result.code == 0, result.err
    assert "could not create a GitHub Deployment" in result.err
    assert result.outputs["deployment-id"] == ""


def test_kubeconfig_content_from_the_action_is_masked_and_not_left_behind(
        cli, deploy_project: Project, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    content = emulator.kubeconfig(tmp_path / "kc", token="s3cr3t-token-from-a-secret").read_text()
    monkeypatch.setenv("MODELCI_KUBECONFIG", content)
    before = set(Path(tempfile.gettempdir()).glob("modelci-kubeconfig-*"))
    result = cli("deploy", "-c", str(deploy_project.path / "modelci.yaml"), "-e", "staging", "--model", "1",
                 "--image", IMG1)
    assert result.code == 0, result.err
    assert "::add-mask::s3cr3t-token-from-a-secret" in result.out
    assert "s3cr3t" not in result.err
    assert set(Path(tempfile.gettempdir()).glob("modelci-kubeconfig-*")) == before

