"""The deploy action, run by the real GitHub Actions runner (nektos/act): train, then deploy to the
Kubernetes emulator with the kubeconfig as a secret, a GitHub Deployment on the fake GitHub API."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from deploy_support import IMG1

from e2e.act_harness import CHECKOUT, make_consumer_repo, run_workflow
from fakes.github_api import FakeGitHub
from k8s_emulator import Emulator

pytestmark = pytest.mark.e2e

WORKFLOW = f"""
name: deploy
on: [push]
permissions: {{}}
jobs:
  deploy:
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
      - name: Train
        id: train
        uses: ./.github/modelci/actions/train
        with:
          registry: ${{{{ vars.REGISTRY }}}}
      - name: Deploy
        id: deploy
        uses: ./.github/modelci/actions/deploy
        with:
          registry: ${{{{ vars.REGISTRY }}}}
          environment: staging
          model: ${{{{ steps.train.outputs.model-version }}}}
          image: ${{{{ vars.IMAGE }}}}
          kubeconfig: ${{{{ secrets.KUBECONFIG }}}}
          timeout: 2m
      - name: Use the outputs
        shell: bash
        env:
          REVISION: ${{{{ steps.deploy.outputs.revision }}}}
          URL: ${{{{ steps.deploy.outputs.url }}}}
          DEPLOYMENT: ${{{{ steps.deploy.outputs.deployment-id }}}}
        run: echo "deployed revision ${{REVISION}} at ${{URL}} as GitHub Deployment ${{DEPLOYMENT}}"
"""


def test_deploy_action_on_the_emulator(tmp_path: Path, project: Path) -> None:
    registry_uri = f"file://{tmp_path / 'shared-registry'}"
    serve = [sys.executable, "-m", "modelci", "serve", "--registry", registry_uri, "--model", "breast-cancer:1",
             "--port", "{port}"]
    em = Emulator({IMG1: serve}, logs=tmp_path).start()
    github = FakeGitHub().start()
    try:
        config = yaml.safe_load((project / "modelci.yaml").read_text())
        config["environments"] = {"staging": {"target": "kubernetes", "namespace": "staging", "replicas": 1}}
        (project / "modelci.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        repo = make_consumer_repo(tmp_path / "consumer", project, {"deploy.yml": WORKFLOW})
        kubeconfig = em.kubeconfig(tmp_path / "kubeconfig", token="act-secret-token-42").read_text()
        run = run_workflow(repo, "deploy.yml", variables={"REGISTRY": registry_uri, "IMAGE": IMG1},
                           secrets={"KUBECONFIG": kubeconfig, "GITHUB_TOKEN": github.token},
                           env={"GITHUB_API_URL": github.url})
        assert run.code == 0, run.log[-5000:] + run.stderr[-2000:]
        assert run.outputs["revision"] == "1"
        assert run.outputs["url"] == "http://breast-cancer.staging.svc.cluster.local"
        assert "act-secret-token-42" not in run.log
        status, body = em.proxy("staging", "breast-cancer:80", "GET", "/version")
        assert status == 200
        assert b'"version":1' in body
        (deployment,) = github.deployments.values()
        assert run.outputs["deployment-id"] == str(deployment["id"])
        assert [s["state"] for s in github.deployment_statuses] == ["in_progress", "success"]
        assert f"as GitHub Deployment {deployment['id']}" in run.log
    finally:
        github.stop()
        em.stop()

