"""The train action, run by the real GitHub Actions runner (nektos/act) in a consumer repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelci.registry import open_registry

from .act_harness import CHECKOUT, make_consumer_repo, run_workflow

pytestmark = pytest.mark.e2e

WORKFLOW = f"""
name: train
on: [push]
permissions: {{}}
jobs:
  train:
    name: Train and register
    runs-on: ubuntu-latest
    timeout-minutes: 20
    permissions:
      contents: read
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - name: Set up modelci
        id: setup
        uses: ./.github/modelci
      - name: Train
        id: train
        uses: ./.github/modelci/actions/train
        with:
          registry: ${{{{ vars.REGISTRY }}}}
          set: |
            model.params.C=0.5
      - name: Use the outputs
        env:
          VERSION: ${{{{ steps.train.outputs.model-version }}}}
          URI: ${{{{ steps.train.outputs.model-uri }}}}
          MODELCI_VERSION: ${{{{ steps.setup.outputs.version }}}}
        run: |
          echo "registered ${{URI}} (version ${{VERSION}}) with modelci ${{MODELCI_VERSION}}"
          test -n "${{VERSION}}"
          modelci registry list --registry "${{REGISTRY_URI}}"
        shell: bash
        working-directory: .
    env:
      REGISTRY_URI: ${{{{ vars.REGISTRY }}}}
"""


def test_train_action_registers_a_version(tmp_path: Path, project: Path) -> None:
    repo = make_consumer_repo(tmp_path / "consumer", project, {"train.yml": WORKFLOW})
    registry_uri = f"file://{tmp_path / 'shared-registry'}"
    first = run_workflow(repo, "train.yml", variables={"REGISTRY": registry_uri})
    assert first.code == 0, first.log[-4000:] + first.stderr[-2000:]
    assert first.outputs["model-version"] == "1"
    assert first.outputs["model-uri"] == "models:/breast-cancer/1"
    assert any("registered `breast-cancer:1`" in s for s in first.summaries)
    assert "registered models:/breast-cancer/1 (version 1) with modelci 0.1.0" in first.log

    second = run_workflow(repo, "train.yml", variables={"REGISTRY": registry_uri})
    assert second.code == 0, second.log[-4000:]
    assert second.outputs["model-version"] == "2"

    registry = open_registry(registry_uri)
    versions = registry.list_versions("breast-cancer")
    assert [v.version for v in versions] == [2, 1]
    head = versions[0]
    assert head.params["C"] == 0.5
    assert head.git["repository"] == "acme/churn"
    assert head.git["sha"] and len(head.git["sha"]) == 40
    assert head.created_by == "nektos/act"


BROKEN = WORKFLOW.replace("model.params.C=0.5", "data.target=diagnosis")


def test_train_action_fails_the_step_with_the_message(tmp_path: Path, project: Path) -> None:
    repo = make_consumer_repo(tmp_path / "consumer", project, {"train.yml": BROKEN})
    run = run_workflow(repo, "train.yml", variables={"REGISTRY": f"file://{tmp_path / 'reg'}"})
    assert run.code != 0
    assert list(run.job_results().values()) == ["failure"]
    assert "::error title=Invalid data::" in run.log or "target column 'diagnosis'" in run.log
    assert not (tmp_path / "reg" / "models").exists()
