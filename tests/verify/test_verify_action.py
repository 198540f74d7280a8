"""deploy then verify-rollback, run by the real GitHub Actions runner (nektos/act): a version that answers 500
is deployed to the Kubernetes emulator on top of a good one, and the verify-rollback action rolls it back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from verify_support import image

from e2e.act_harness import CHECKOUT, make_consumer_repo, run_workflow
from fakes.github_api import FakeGitHub
from modelci.registry import open_registry

pytestmark = pytest.mark.e2e

WORKFLOW = f"""
name: release
on: [push]
permissions: {{}}
jobs:
  release:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    permissions:
      contents: read
      deployments: write
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - uses: ./.github/modelci
      - name: Deploy the good version
        uses: ./.github/modelci/actions/deploy
        with:
          registry: ${{{{ vars.REGISTRY }}}}
          environment: prod
          model: "1"
          image: ${{{{ vars.GOOD }}}}
          kubeconfig: ${{{{ secrets.KUBECONFIG }}}}
          timeout: 2m
      - name: Deploy the bad version
        uses: ./.github/modelci/actions/deploy
        with:
          registry: ${{{{ vars.REGISTRY }}}}
          environment: prod
          model: "3"
          image: ${{{{ vars.BAD }}}}
          kubeconfig: ${{{{ secrets.KUBECONFIG }}}}
          timeout: 2m
      - name: Verify
        id: verify
        continue-on-error: true
        uses: ./.github/modelci/actions/verify-rollback
        with:
          registry: ${{{{ vars.REGISTRY }}}}
          environment: prod
          kubeconfig: ${{{{ secrets.KUBECONFIG }}}}
          duration: 4s
          interval: 500ms
      - name: Use the outputs
        shell: bash
        env:
          HEALTHY: ${{{{ steps.verify.outputs.healthy }}}}
          ROLLED_BACK: ${{{{ steps.verify.outputs.rolled-back }}}}
          OUTCOME: ${{{{ steps.verify.outcome }}}}
        run: echo "verify outcome ${{OUTCOME}} healthy=${{HEALTHY}} rolled-back=${{ROLLED_BACK}}"
"""


def test_deploy_then_verify_rollback_action_rolls_back(tmp_path: Path, trained, emulator, traffic) -> None:
    shared = tmp_path / "shared-registry"
    shutil.copytree(trained.path / ".modelci" / "registry", shared)
    project = tmp_path / "project"
    shutil.copytree(trained.path, project, ignore=shutil.ignore_patterns(".modelci"))
    config = yaml.safe_load((project / "modelci.yaml").read_text())
    config["environments"] = {"prod": {"target": "kubernetes", "namespace": "prod", "replicas": 1}}
    (project / "modelci.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    repo = make_consumer_repo(tmp_path / "consumer", project, {"release.yml": WORKFLOW})
    github = FakeGitHub().start()
    kubeconfig = emulator.kubeconfig(tmp_path / "kubeconfig", token="act-secret-token-42").read_text()

    def send(body: bytes) -> object:
        return emulator.proxy("prod", "breast-cancer:80", "POST", "/invocations", body,
                              {"Content-Type": "application/json"})

    try:
        with traffic(send):
            run = run_workflow(repo, "release.yml",
                               variables={"REGISTRY": f"file://{shared}", "GOOD": image(1), "BAD": image(3)},
                               secrets={"KUBECONFIG": kubeconfig, "GITHUB_TOKEN": github.token},
                               env={"GITHUB_API_URL": github.url})
    finally:
        github.stop()
    assert run.code == 0, run.log[-6000:] + run.stderr[-2000:]
    assert "verify outcome failure healthy=false rolled-back=true" in run.log
    assert run.outputs["rolled-back"] == "true"
    assert run.outputs["report"].endswith("verify.md")
    assert "act-secret-token-42" not in run.log
    assert any("Rolled back." in s for s in run.summaries)
    dep = emulator.get("deployments", "prod", "breast-cancer")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == image(1)
    registry = open_registry(f"file://{shared}")
    assert registry.alias_version("breast-cancer", "prod") == 1
    rolled = [e for e in registry.events("breast-cancer") if e.kind == "rolled_back"]
    assert [(e.version, e.data["restored_version"]) for e in rolled] == [(3, 1)]
    states = [s["state"] for s in github.deployment_statuses]
    assert "failure" in states and states[-1] == "success"
