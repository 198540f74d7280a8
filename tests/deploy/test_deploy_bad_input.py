"""Bad input and broken infrastructure: clear one-paragraph errors, the right exit code, nothing sent early."""

from __future__ import annotations

from pathlib import Path

import pytest
from deploy_support import IMG1, MISSING, REPO, Project

from k8s_emulator import Emulator


def deploy(cli, project: Project, *args: str):
    return cli("deploy", "-c", str(project.path / "modelci.yaml"), *args)


def test_unknown_environment_lists_the_configured_ones(cli, deploy_project: Project) -> None:
    result = deploy(cli, deploy_project, "-e", "qa", "--image", IMG1)
    assert result.code == 2
    for name in ("staging (kubernetes)", "production", "preview", "laptop (local)"):
        assert name in result.err


@pytest.mark.parametrize(("content", "expected"), [
    (None, "does not exist"),
    ("just: [a, broken", "not a usable kubeconfig"),
    ("apiVersion: v1\nkind: Config\nclusters: []\n", "not a usable kubeconfig"),
], ids=["missing", "not-yaml", "no-context"])
def test_missing_or_broken_kubeconfig(cli, deploy_project: Project, tmp_path: Path, content: str | None,
                                      expected: str) -> None:
    path = tmp_path / "kubeconfig"
    if content is not None:
        path.write_text(content)
    result = deploy(cli, deploy_project, "-e", "staging", "--image", IMG1, "--model", "1", "--kubeconfig", str(path))
    assert result.code == 2, result.err
    assert expected in result.err
    assert "Traceback" not in result.err


def test_unreachable_cluster_is_exit_3_after_retries(cli, deploy_project: Project, tmp_path: Path) -> None:
    from k8s_emulator.controller import free_port

    path = tmp_path / "kubeconfig"
    path.write_text(f"""\
apiVersion: v1
kind: Config
current-context: gone
clusters: [{{name: gone, cluster: {{server: "http://127.0.0.1:{free_port()}"}}}}]
users: [{{name: u, user: {{token: abc}}}}]
contexts: [{{name: gone, context: {{cluster: gone, user: u}}}}]
""")
    result = deploy(cli, deploy_project, "-e", "staging", "--image", IMG1, "--model", "1", "--kubeconfig", str(path))
    assert result.code == 3, result.err
    assert "after 4 attempts" in result.err
    assert "reachable" in result.err


@pytest.mark.parametrize("image", [f"{REPO}:v1", f"{REPO}@sha256:abc", "not an image"])
def test_image_must_be_pinned_by_digest(cli, deploy_project: Project, emulator: Emulator, kubeconfig: Path,
                                        image: str) -> None:
    result = deploy(cli, deploy_project, "-e", "staging", "--model", "1", "--image", image,
                    "--kubeconfig", str(kubeconfig))
    assert result.code == 2
    assert "not pinned by digest" in result.err
    assert emulator.requests == []


def test_no_image_and_none_published(cli, deploy_project: Project, emulator: Emulator, kubeconfig: Path) -> None:
    result = deploy(cli, deploy_project, "-e", "staging", "--model", "1", "--kubeconfig", str(kubeconfig))
    assert result.code == 2
    assert "publish-image" in result.err


def test_invalid_template_is_rejected_before_anything_is_sent(cli, deploy_project: Project, emulator: Emulator,
                                                              kubeconfig: Path, tmp_path: Path) -> None:
    (deploy_project.path / "deploy.yml").write_text("""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: bc-api}
spec:
  selector: {matchLabels: {app: bc-api}}
  template:
    metadata: {labels: {app: other}}
    spec:
      containers: [{name: server, image: "${IMAGE}", ports: [{containerPort: eighty}]}]
""")
    result = deploy(cli, deploy_project, "-e", "custom", "--model", "1", "--image", IMG1,
                    "--kubeconfig", str(kubeconfig))
    assert result.code == 2
    assert "must include the selector's matchLabels" in result.err
    assert "Nothing was sent" in result.err
    assert emulator.requests == []


def test_rbac_403_names_the_verb_and_resource(cli, deploy_project: Project, emulator: Emulator,
                                              kubeconfig: Path) -> None:
    emulator.deny("create", "deployments")
    result = deploy(cli, deploy_project, "-e", "staging", "--model", "1", "--image", IMG1,
                    "--kubeconfig", str(kubeconfig))
    assert result.code == 2, result.err
    assert "refused to create deployments/breast-cancer in namespace staging" in result.err
    assert "'create' on deployments (apiGroup 'apps')" in result.err


def test_first_deploy_of_an_unpullable_image_fails_without_a_revert(cli, deploy_project: Project,
                                                                    emulator: Emulator, kubeconfig: Path) -> None:
    result = deploy(cli, deploy_project, "-e", "staging", "--model", "1", "--image", MISSING,
                    "--kubeconfig", str(kubeconfig))
    assert result.code == 1
    assert "ErrImagePull" in result.err
    assert "no previous version to revert to" in result.err


def test_promote_needs_the_canary_strategy(cli, deploy_project: Project) -> None:
    result = deploy(cli, deploy_project, "-e", "staging", "--promote")
    assert result.code == 2
    assert "canary" in result.err
