"""The publish-image action in a consumer repo's release workflow, run by nektos/act on this host."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from image_support import REGISTRY, manifest, registry_tags

from e2e.act_harness import CHECKOUT, make_consumer_repo, run_workflow
from modelci.registry import open_registry

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

WORKFLOW = f"""
name: release
on: [push]
permissions: {{}}
jobs:
  release:
    name: Train, gate and publish
    runs-on: ubuntu-latest
    timeout-minutes: 20
    permissions:
      contents: read
      packages: write
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - name: Train
        id: train
        uses: ./.github/modelci/actions/train
        with:
          registry: ${{{{ vars.REGISTRY }}}}
      - name: Gate
        uses: ./.github/modelci/actions/evaluate-gate
        with:
          registry: ${{{{ vars.REGISTRY }}}}
          candidate: ${{{{ steps.train.outputs.model-uri }}}}
          comment: "false"
          github-token: ""
      - name: Publish
        id: publish
        uses: ./.github/modelci/actions/publish-image
        with:
          registry: ${{{{ vars.REGISTRY }}}}
          model: ${{{{ steps.train.outputs.model-uri }}}}
          image: ${{{{ vars.IMAGE }}}}
          tags: |
            latest
      - name: Use the outputs
        env:
          IMAGE: ${{{{ steps.publish.outputs.image }}}}
          DIGEST: ${{{{ steps.publish.outputs.digest }}}}
          TAGS: ${{{{ steps.publish.outputs.tags }}}}
        run: |
          test -n "${{DIGEST}}"
          docker pull "${{IMAGE}}" >/dev/null
          echo "PUBLISHED ${{IMAGE}}"
          printf 'TAG %s\\n' ${{TAGS}}
        shell: bash
"""


def test_release_workflow_publishes_the_gated_version(tmp_path: Path, project: Path, testbed: None) -> None:
    repo = make_consumer_repo(tmp_path / "consumer", project, {"release.yml": WORKFLOW})
    registry_uri = f"file://{tmp_path / 'shared-registry'}"
    image = f"{REGISTRY}/modelci-tests/act-{uuid.uuid4().hex[:8]}"
    run = run_workflow(repo, "release.yml", variables={"REGISTRY": registry_uri, "IMAGE": image})
    assert run.code == 0, run.log[-6000:] + run.stderr[-2000:]

    published = [line.split(" ", 1)[1] for line in run.log.splitlines() if line.startswith("PUBLISHED ")]
    assert len(published) == 1 and published[0].startswith(f"{image}@sha256:")
    digest = published[0].split("@", 1)[1]
    assert "latest" in registry_tags(image) and "v1" in registry_tags(image)
    assert manifest(image, "latest") == manifest(image, digest)
    registry = open_registry(registry_uri)
    events = [e for e in registry.events("breast-cancer") if e.kind == "published"]
    assert [e.data["digest"] for e in events] == [digest]
    assert events[0].data["gate"] == "passed"
