"""publish-image refusals and infrastructure failures, each with its exit code and a message that helps."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from image_support import AUTH_PASSWORD, AUTH_USER, REGISTRY, make_project, modelci, registry_tags

pytestmark = pytest.mark.docker


def test_unknown_version_is_bad_input(image_project: Path) -> None:
    run = modelci("publish-image", "--model", "breast-cancer:99", "--no-push", cwd=image_project)
    assert run.code == 2
    assert "breast-cancer:99 does not exist" in run.err and "modelci registry list" in run.err


def test_ungated_version_is_refused_and_allow_ungated_is_recorded(
        testbed: None, tmp_path: Path, example_data: Path) -> None:
    project = make_project(tmp_path / "ungated", example_data)
    assert modelci("train", cwd=project).code == 0
    refused = modelci("publish-image", "--model", "breast-cancer:1", "--image", f"{REGISTRY}/modelci-tests/ungated",
                      cwd=project)
    assert refused.code == 2
    assert "was never gated" in refused.err and "modelci gate --candidate breast-cancer:1" in refused.err
    assert "--allow-ungated" in refused.err
    assert refused.outputs == {}

    allowed = modelci("publish-image", "--model", "breast-cancer:1", "--no-push", "--no-smoke-test",
                      "--allow-ungated", "--image", "modelci-tests/ungated", "--json", cwd=project)
    assert allowed.code == 0, allowed.err
    result = allowed.json()
    assert result["gate"] == "never-gated" and result["labels"]["ai.modelci.gate"] == "never-gated"
    assert "without passing the gate" in allowed.err
    assert result["digest"] is None and allowed.outputs["image"] == "modelci-tests/ungated:v1"


def test_failed_gate_is_refused(testbed: None, tmp_path: Path, example_data: Path) -> None:
    project = make_project(tmp_path / "failed", example_data)
    assert modelci("train", cwd=project).code == 0
    gated = modelci("gate", "--candidate", "breast-cancer:1", "--set", "gate.thresholds.accuracy=>= 0.9999",
                    cwd=project)
    assert gated.code == 1, gated.err
    refused = modelci("publish-image", "--model", "breast-cancer:1", "--no-push", cwd=project)
    assert refused.code == 2
    assert "failed its latest gate run" in refused.err and "--allow-ungated" in refused.err


def test_base_image_without_python(image_project: Path, docker_api: Any, tmp_path: Path) -> None:
    import io
    import tarfile

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("etc/hostname")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"x\n"))
    docker_api.import_image_from_data(archive.getvalue(), repository="modelci-tests/no-python", tag="1")
    run = modelci("publish-image", "--model", "breast-cancer:1", "--no-push", "--base-image",
                  "modelci-tests/no-python:1", cwd=image_project)
    assert run.code == 2, run.err
    assert "has no python3 on its PATH" in run.err and "python:3.11-slim" in run.err
    assert docker_api.containers(all=True, filters={"ancestor": "modelci-tests/no-python:1"}) == []


def test_no_docker_engine_says_how_to_start_one(image_project: Path, tmp_path: Path) -> None:
    run = modelci("publish-image", "--model", "breast-cancer:1", "--no-push", cwd=image_project,
                  env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert run.code == 3
    assert "no Docker engine answers" in run.err and "dockerd" in run.err and "DOCKER_HOST" in run.err
    assert "Traceback" not in run.err


def test_registry_refusing_credentials_is_infrastructure_and_secret_free(
        image_project: Path, auth_registry: str) -> None:
    repository = f"{auth_registry}/modelci-tests/auth"
    wrong = AUTH_PASSWORD + "-wrong"
    run = modelci("publish-image", "--model", "breast-cancer:1", "--image", repository, "--no-smoke-test",
                  "--username", AUTH_USER, "--password-stdin", cwd=image_project, stdin=wrong + "\n",
                  env={"GITHUB_ACTIONS": "true"})
    assert run.code == 3
    assert f"{auth_registry} refused user '{AUTH_USER}'" in run.err
    assert "permissions: packages: write" in run.err
    assert f"::add-mask::{wrong}" in run.out  # masked before anything else could print it
    for text in (run.err, json.dumps(run.outputs)):
        assert wrong not in text and AUTH_PASSWORD not in text


def test_credentials_from_the_docker_config(image_project: Path, auth_registry: str, tmp_path: Path) -> None:
    config = tmp_path / "docker-config"
    config.mkdir()
    token = base64.b64encode(f"{AUTH_USER}:{AUTH_PASSWORD}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {auth_registry: {"auth": token}}}))
    run = modelci("publish-image", "--model", "breast-cancer:1", "--image", f"{auth_registry}/modelci-tests/cfg",
                  "--no-smoke-test", cwd=image_project, env={"DOCKER_CONFIG": str(config)})
    assert run.code == 0, run.err
    assert run.outputs["digest"].startswith("sha256:")


def test_right_credentials_from_the_environment_push(image_project: Path, auth_registry: str) -> None:
    repository = f"{auth_registry}/modelci-tests/auth"
    run = modelci("publish-image", "--model", "breast-cancer:1", "--image", repository, "--no-smoke-test",
                  cwd=image_project, env={"MODELCI_REGISTRY_USERNAME": AUTH_USER,
                                          "MODELCI_REGISTRY_PASSWORD": AUTH_PASSWORD})
    assert run.code == 0, run.err
    assert run.outputs["digest"].startswith("sha256:")
    assert AUTH_PASSWORD not in run.err + run.out


@pytest.mark.parametrize(("base", "code", "words"), [
    pytest.param(f"{REGISTRY}/modelci-tests/no-such-base:1", 2, "does not exist locally and its registry does not "
                 "have it", id="absent-everywhere"),
    pytest.param("python:3.99-slim", 3, "could not be pulled", id="registry-unreachable"),
])
def test_missing_base_image(image_project: Path, base: str, code: int, words: str) -> None:
    run = modelci("publish-image", "--model", "breast-cancer:1", "--no-push", "--base-image", base,
                  cwd=image_project)
    assert run.code == code, run.err
    assert words in run.err and "--base-image" in run.err and base in run.err


def test_smoke_test_mismatch_fails_and_pushes_nothing(testbed: None, tmp_path: Path, example_data: Path) -> None:
    project = make_project(tmp_path / "mismatch", example_data)
    assert modelci("train", cwd=project).code == 0
    record = project / ".modelci" / "registry" / "models" / "breast-cancer" / "versions" / "1.json"
    raw = json.loads(record.read_text())
    raw["input_example"]["predictions"] = [1 - p for p in raw["input_example"]["predictions"]]
    record.chmod(0o644)
    record.write_text(json.dumps(raw))  # what training "recorded" no longer matches the model
    repository = f"{REGISTRY}/modelci-tests/mismatch"
    run = modelci("publish-image", "--model", "breast-cancer:1", "--allow-ungated", "--image", repository,
                  cwd=project)
    assert run.code == 1
    assert "smoke test failed, so nothing was pushed" in run.err and "training recorded" in run.err
    assert "container's log" in run.err and "serving breast-cancer:1" in run.err
    assert registry_tags(repository) == []
