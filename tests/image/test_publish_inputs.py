"""publish-image's inputs: tags, repository names, credentials and the wheelhouse's targets.

The CLI cases fail before any Docker work, so they need no engine; the rest exercise the
pure functions that decide tags, labels, platform tags and pins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from image_support import make_project, modelci

from modelci.image.labels import tags_for
from modelci.image.probe import BaseImage
from modelci.image.wheelhouse import requirements_for
from modelci.registry import ModelVersion


def version(**changes: Any) -> ModelVersion:
    raw: dict[str, Any] = {
        "name": "churn", "version": 3, "artifact_digest": "sha256:" + "ab" * 32, "artifact_size": 10,
        "flavor": "sklearn", "task": "classification", "signature": {}, "input_example": {}, "params": {},
        "metrics": {}, "data": {}, "git": {"sha": "fedcba9876543210fedcba9876543210fedcba98"},
        "packages": {"python": "3.11.7", "scikit-learn": "1.5.2", "numpy": "2.1.0", "pandas": "2.2.3",
                     "scipy": "1.14.1", "joblib": "1.4.2", "pyarrow": "17.0.0"},
        "created_at": "2026-01-01T00:00:00Z", "created_by": "dev",
    }
    raw.update(changes)
    return ModelVersion.from_dict(raw)


@pytest.mark.parametrize(("ref", "extra", "expected"), [
    pytest.param("refs/heads/main", [], ["v3", "sha-fedcba9"], id="branch"),
    pytest.param("refs/tags/v1.4.2", [], ["v3", "sha-fedcba9", "1.4.2", "1.4"], id="release-tag"),
    pytest.param("refs/tags/v2.0.0-rc.1", [], ["v3", "sha-fedcba9", "2.0.0-rc.1"], id="pre-release"),
    pytest.param("refs/tags/nightly", ["latest", "a,b", "v3"], ["v3", "sha-fedcba9", "latest", "a", "b"],
                 id="extra-tags-deduplicated"),
])
def test_tags(ref: str, extra: list[str], expected: list[str]) -> None:
    assert tags_for(version(), extra, {"GITHUB_REF": ref}) == expected


def test_sha_tag_falls_back_to_github_sha() -> None:
    assert tags_for(version(git={}), [], {"GITHUB_SHA": "0123456789abcdef"}) == ["v3", "sha-0123456"]
    assert tags_for(version(git={}), [], {}) == ["v3"]


def test_model_libraries_are_pinned_to_the_recorded_versions() -> None:
    requirements, warnings = requirements_for(version())
    assert {"scikit-learn==1.5.2", "numpy==2.1.0", "pandas==2.2.3", "scipy==1.14.1", "joblib==1.4.2"} <= set(
        requirements)
    names = {r.split("=")[0].split(">")[0].split("<")[0] for r in requirements}
    assert {"uvicorn", "orjson", "pyyaml"} <= names  # the server's and modelci's own dependencies
    assert "pyarrow" not in names and "docker" not in names and "matplotlib" not in names
    assert warnings == []
    _, warned = requirements_for(version(packages={"python": "3.11.7"}))
    assert any("does not record its scikit-learn version" in w for w in warned)


def test_platform_tags_follow_the_image_libc() -> None:
    glibc = BaseImage("python:3.11-slim", "sha256:x", "3.11.2", "x86_64", "glibc", "2.36")
    tags = glibc.platform_tags()
    assert tags[0] == "manylinux_2_36_x86_64" and "manylinux2014_x86_64" in tags and "manylinux1_x86_64" in tags
    assert glibc.abi == "cp311" and glibc.site_packages == "lib/python3.11/site-packages"
    musl = BaseImage("python:3.12-alpine", "sha256:y", "3.12.1", "aarch64", "", "")
    assert musl.platform_tags()[0] == "musllinux_1_2_aarch64"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, example_data: Path) -> Path:
    """A project with breast-cancer:1 registered (not gated: these cases fail before the gate check)."""
    project = make_project(tmp_path_factory.mktemp("inputs") / "project", example_data)
    assert modelci("train", cwd=project).code == 0
    return project


@pytest.mark.parametrize(("args", "words"), [
    pytest.param(["--tag", "bad tag!"], "is not a valid image tag", id="bad-tag"),
    pytest.param(["--tag=.dot"], "is not a valid image tag", id="tag-starting-with-dot"),
    pytest.param(["--image", "Ghcr.io/Acme/Churn"], "is not an image repository name", id="uppercase-repository"),
    pytest.param(["--image", "ghcr.io/acme/churn:v1"], "must not carry a tag", id="repository-with-tag"),
    pytest.param(["--username", "u"], "need both a user and a password", id="user-without-password"),
    pytest.param(["--smoke-timeout", "soon"], "invalid float value", id="bad-timeout"),
])
def test_bad_arguments_fail_before_any_docker_work(cli: Any, trained: Path, args: list[str],
                                                   words: str, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")  # proves no engine was needed
    run = cli("publish-image", "--model", "breast-cancer:1", "--allow-ungated", *args, cwd=trained)
    assert run.code == 2, run.err
    assert words in run.err


def test_boolean_environment_must_be_a_boolean(cli: Any, trained: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("MODELCI_PUSH", "maybe")
    run = cli("publish-image", "--model", "breast-cancer:1", cwd=trained)
    assert run.code == 2 and "MODELCI_PUSH='maybe' is not a boolean" in run.err
