"""The whole pipeline through the real runner: a PR, a release, a broken release, then metrics.

act runs workflows-examples/pr-gate.yml and release.yml in a consumer repo against real
components where they can run here: the Docker engine and the reference OCI registry
(which holds both the model registry, oci://, and the serving images), and against the
two doubles for what cannot: the Kubernetes API emulator (whose pods are containers of
the images the release just pushed) and the fake GitHub API. Two separate act runs share
state only through the oci:// registry, as ephemeral runners do.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from fakes.github_api import FakeGitHub
from k8s_emulator import Emulator
from modelci.registry import open_registry

from .act_harness import ROOT, commit_all, example_workflow, make_consumer_repo, run_workflow

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


def _service(script: str) -> None:
    subprocess.run([str(ROOT / "scripts" / "services" / script)], check=True)


@pytest.fixture(scope="module")
def run_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def cluster(run_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The emulator; a pod of image X is `docker run X` with the container's 8080 on the pod's port."""
    for script in ("docker.sh", "oci-registry.sh", "base-image.sh"):
        _service(script)
    label = f"modelci-e2e={run_id}"

    def as_container(image: str) -> list[str]:
        return ["docker", "run", "--rm", "--label", label, "-p", "127.0.0.1:{port}:8080", image]

    emulator = Emulator(logs=tmp_path_factory.mktemp("pods"), resolver=as_container).start()
    yield emulator
    emulator.stop()
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True,
                         check=False).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub().start()
    yield fake
    fake.stop()


def _consumer_config(cfg: dict) -> None:
    cfg["environments"] = {
        "staging": {"target": "kubernetes", "namespace": "staging", "replicas": 1, "strategy": "rolling",
                    "timeout": "3m", "traffic": 10},
        "production": {"target": "kubernetes", "namespace": "production", "replicas": 1, "strategy": "rolling",
                       "timeout": "3m", "traffic": 10},
    }
    cfg["verify"].update({"duration": "4s", "interval": "1s"})
    cfg.pop("registry", None)
    cfg.pop("image", None)


def test_pr_release_and_a_broken_release_rolled_back(tmp_path: Path, project: Path, cluster: Emulator,
                                                     github: FakeGitHub, run_id: str) -> None:
    config = project / "modelci.yaml"
    data = yaml.safe_load(config.read_text())
    _consumer_config(data)
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    repo = make_consumer_repo(tmp_path / "consumer", project, {
        "pr-gate.yml": example_workflow("pr-gate.yml"), "release.yml": example_workflow("release.yml")})
    registry_uri = f"oci://127.0.0.1:5000/e2e-{run_id}/models"
    kubeconfig = cluster.kubeconfig(tmp_path / "kubeconfig").read_text()
    common = {
        "env": {"GITHUB_API_URL": github.url},
        "secrets": {"GITHUB_TOKEN": github.token, "KUBECONFIG": kubeconfig},
        "variables": {"MODELCI_REGISTRY": registry_uri, "MODELCI_IMAGE": f"127.0.0.1:5000/e2e-{run_id}/breast-cancer"},
    }

    # 1. A pull request: trained, gated (first run), one comment and a status on the fake GitHub.
    pr = run_workflow(repo, "pr-gate.yml", event="pull_request", payload={
        "number": 3, "pull_request": {"number": 3, "head": {"sha": "c" * 40, "ref": "model"}, "base": {"ref": "main"}},
    }, **common)
    assert pr.code == 0, pr.log[-6000:]
    assert len(github.issue_comments(3)) == 1
    assert github.statuses[-1]["state"] == "success"

    # 2. A release: train, gate, publish, staging, production.
    release = run_workflow(repo, "release.yml", event="push", payload={"ref": "refs/tags/v1.0.0"}, **common)
    assert release.code == 0, release.log[-8000:]
    assert set(release.job_results().values()) == {"success"} and len(release.job_results()) == 3
    registry = open_registry(registry_uri)
    assert registry.aliases("breast-cancer") == {"champion": 2, "production": 2, "staging": 2}
    image = release.outputs["image"]
    assert image.startswith(f"127.0.0.1:5000/e2e-{run_id}/breast-cancer@sha256:")
    for namespace in ("staging", "production"):
        deployment = cluster.get("deployments", namespace, "breast-cancer")
        assert deployment is not None
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image
    body = json.dumps({"dataframe_split": {"columns": registry.get_version("breast-cancer", 2).input_example["columns"],
                                           "data": registry.get_version("breast-cancer", 2).input_example["data"]}})
    status, answer = cluster.proxy("production", "breast-cancer:80", "POST", "/invocations", body.encode(),
                                   {"Content-Type": "application/json"})
    assert status == 200 and len(json.loads(answer)["predictions"]) == 5
    assert {s["state"] for s in github.deployment_statuses} >= {"in_progress", "success"}

    # 3. A release of a model that is accurate but far too slow to serve: staging rolls it back.
    data["model"]["params"].update({"classifier": "forest", "n_estimators": 2000})
    config = repo / "modelci.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    commit_all(repo, "a bigger forest")
    broken = run_workflow(repo, "release.yml", event="push", payload={"ref": "refs/tags/v1.1.0"}, **common)
    assert broken.code != 0
    results = broken.job_results()
    assert results.get("build") == "success" and results.get("staging") == "failure", results
    assert "production" not in results or results["production"] != "success"
    assert registry.aliases("breast-cancer") == {"champion": 2, "production": 2, "staging": 2}
    deployment = cluster.get("deployments", "staging", "breast-cancer")
    assert deployment is not None and deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image
    assert any("Rolled back" in s for s in broken.summaries)
    [rolled] = [e for e in registry.events("breast-cancer") if e.kind == "rolled_back"]
    assert rolled.version == 3 and rolled.data["environment"] == "staging"
    assert any("latency_p95_ms" in r for r in rolled.data["reasons"])

    # 4. The pipeline's health, from the events those runs left in the shared registry.
    metrics = subprocess.run([sys.executable, "-m", "modelci",
                              "metrics", "--registry", registry_uri, "--since", "1d", "--format", "json"],
                             capture_output=True, text=True, check=True)
    [health] = json.loads(metrics.stdout)
    assert health["registered"] == 3
    assert health["mq_gate"] == {"passed": 3, "total": 3, "rate": 1.0}
    assert health["deployed"] == 3
    assert health["mq_verify"]["passed"] == 2 and health["mq_verify"]["total"] == 3
    staging, production = health["environments"]["staging"], health["environments"]["production"]
    assert (staging["deployments"], staging["rollbacks"], staging["change_failure_rate"]) == (2, 1, 0.5)
    assert (production["deployments"], production["rollbacks"], production["change_failure_rate"]) == (1, 0, 0.0)
    assert production["lead_time_s"]["count"] == 1
    assert staging["time_to_restore_s"]["count"] == 1 and staging["time_to_restore_s"]["median"] < 60
