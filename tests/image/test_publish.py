"""publish-image through the real Docker engine and a real OCI registry: the round trip."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from image_support import GIT_SHA, Published, manifest, modelci, package_digest, registry_tags, train_and_gate

pytestmark = pytest.mark.docker


def version_record(project: Path, version: int) -> dict[str, Any]:
    from modelci.config import load_config
    from modelci.registry import open_registry

    config = load_config(str(project / "modelci.yaml"), [])
    return open_registry(config.registry, config.base_dir).get_version("breast-cancer", version).to_dict()


def events(project: Path, kind: str) -> list[dict[str, Any]]:
    from modelci.config import load_config
    from modelci.registry import open_registry

    config = load_config(str(project / "modelci.yaml"), [])
    registry = open_registry(config.registry, config.base_dir)
    return [e.to_dict() for e in registry.events("breast-cancer") if e.kind == kind]


def test_outputs_name_the_pushed_image_by_digest(published: Published) -> None:
    digest = published.result["digest"]
    assert digest.startswith("sha256:")
    assert published.run.outputs["image"] == f"{published.repository}@{digest}"
    assert published.run.outputs["digest"] == digest
    tags = published.run.outputs["tags"].splitlines()
    expected = ["v1", f"sha-{GIT_SHA[:7]}", "1.2.3", "1.2", "candidate"]
    assert tags == [f"{published.repository}:{t}" for t in expected]
    assert sorted(registry_tags(published.repository)) == sorted(expected)
    for tag in expected:  # every tag points at the one manifest
        assert manifest(published.repository, tag) == manifest(published.repository, digest)


def test_published_event_records_digest_and_tags(published: Published) -> None:
    found = [e for e in events(published.project, "published") if e["data"]["digest"] == published.result["digest"]]
    assert len(found) == 1
    data = found[0]["data"]
    assert found[0]["version"] == 1
    assert data["image"] == published.run.outputs["image"]
    assert data["tags"][:2] == ["v1", f"sha-{GIT_SHA[:7]}"]
    assert data["gate"] == "passed" and data["ungated"] is False and data["smoke_test"] is True


def test_labels_and_runtime_config(published: Published, docker_api: Any) -> None:
    config = docker_api.inspect_image(published.result["image_id"])["Config"]
    labels = config["Labels"]
    record = version_record(published.project, 1)
    assert labels["org.opencontainers.image.title"] == "breast-cancer"
    assert labels["org.opencontainers.image.version"] == "1"
    assert labels["org.opencontainers.image.revision"] == GIT_SHA
    assert labels["org.opencontainers.image.created"].endswith("Z")
    assert labels["org.opencontainers.image.source"] == "https://github.com/acme/churn"
    assert "breast-cancer" in labels["org.opencontainers.image.description"]
    assert labels["ai.modelci.model.digest"] == record["artifact_digest"]
    assert labels["ai.modelci.model.name"] == "breast-cancer" and labels["ai.modelci.model.version"] == "1"
    assert labels["ai.modelci.gate"] == "passed"
    assert float(labels["ai.modelci.metric.accuracy"]) == pytest.approx(record["metrics"]["accuracy"], abs=1e-5)
    assert config["User"] == "10001:10001"
    assert "8080/tcp" in config["ExposedPorts"]
    assert "urllib" in " ".join(config["Healthcheck"]["Test"]) and "/healthz" in " ".join(config["Healthcheck"]["Test"])
    assert config["Entrypoint"][:4] == ["modelci", "serve", "--model", "/opt/model"]


def test_pulled_by_digest_serves_the_recorded_predictions(published: Published, docker_api: Any) -> None:
    reference = published.run.outputs["image"]
    for tag in published.result["tags"]:
        docker_api.remove_image(f"{published.repository}:{tag}", noprune=True)
    with pytest.raises(Exception, match="No such image"):
        docker_api.inspect_image(reference)
    for chunk in docker_api.pull(reference, stream=True, decode=True):
        assert "error" not in chunk, chunk
    assert docker_api.inspect_image(reference)["Id"] == published.result["image_id"]

    record = version_record(published.project, 1)
    example = record["input_example"]
    container = docker_api.create_container(
        reference, ports=[8080], host_config=docker_api.create_host_config(port_bindings={8080: ("127.0.0.1", None)}))
    try:
        docker_api.start(container["Id"])
        port = docker_api.port(container["Id"], 8080)[0]["HostPort"]
        wait_ready(f"http://127.0.0.1:{port}/readyz")
        body = json.dumps({"dataframe_split": {"columns": example["columns"], "data": example["data"]}}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["predictions"] == example["predictions"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=10) as response:
            served = json.loads(response.read())
        assert str(served["version"]) == "1" and served["digest"] == record["artifact_digest"]
    finally:
        docker_api.remove_container(container["Id"], force=True)


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{url} not ready after {timeout}s"
        time.sleep(0.2)


def test_new_version_same_dependencies_pushes_only_the_model_layer(published: Published) -> None:
    version = train_and_gate(published.project, "model.params.C=0.5")
    source = package_digest()
    run = modelci("publish-image", "--model", f"breast-cancer:{version}", "--image", published.repository, "--json",
                  cwd=published.project)
    assert run.code == 0, run.err
    second = run.json()
    first_layers = [layer["digest"] for layer in manifest(published.repository, published.result["digest"])["layers"]]
    second_layers = [layer["digest"] for layer in manifest(published.repository, second["digest"])["layers"]]
    assert len(first_layers) == len(second_layers) >= 4
    assert first_layers[:-2] == second_layers[:-2], "base, user and deps layers must be shared"
    assert first_layers[-1] != second_layers[-1], "the model layer must be new"
    if source != published.modelci_source or package_digest() != source:
        return  # someone edited modelci between the builds: its layer is rightly new too (shared working tree)
    assert first_layers[-2] == second_layers[-2], "the modelci layer must be shared"
    assert (second["layers_pushed"], second["layers_existing"]) == (1, len(first_layers) - 1)
    assert second["wheelhouse_cached"] is True
