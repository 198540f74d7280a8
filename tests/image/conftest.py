"""Fixtures for publish-image: the real Docker engine, a real OCI registry, one published image.

The session brings the test bed up with the project's own scripts (idempotent, fast when
everything already runs), trains and gates the example model once, and publishes it once;
the tests share that image. Every call goes through ``modelci.cli.main`` in-process.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from image_support import (
    AUTH_PASSWORD,
    AUTH_REGISTRY,
    AUTH_USER,
    REGISTRY,
    TEST_PREFIXES,
    Published,
    make_project,
    modelci,
    package_digest,
    service,
    train_and_gate,
)


@pytest.fixture(scope="session")
def testbed() -> Iterator[None]:
    """Docker engine, the open registry on 127.0.0.1:5000 and the local python:3.11-slim.

    Afterwards the local tags the tests made are removed (their layers stay as build cache).
    """
    service("docker.sh")
    service("oci-registry.sh")
    service("base-image.sh")
    yield
    import docker
    from docker.errors import NotFound

    with docker.APIClient(version="auto") as client:
        for image in client.images():
            for name in [*(image.get("RepoTags") or []), *(image.get("RepoDigests") or [])]:
                if any(name.startswith(prefix) for prefix in TEST_PREFIXES):
                    with contextlib.suppress(NotFound):  # gone with its last tag
                        client.remove_image(name, noprune=True)


@pytest.fixture(scope="session")
def auth_registry(testbed: None) -> Iterator[str]:
    service("oci-registry.sh", "--htpasswd", f"{AUTH_USER}:{AUTH_PASSWORD}", "--addr", AUTH_REGISTRY)
    yield AUTH_REGISTRY


@pytest.fixture
def docker_api(testbed: None) -> Iterator[Any]:
    import docker

    with docker.APIClient(version="auto") as client:
        yield client


@pytest.fixture(scope="session")
def image_project(testbed: None, tmp_path_factory: pytest.TempPathFactory, example_data: Path) -> Path:
    project = make_project(tmp_path_factory.mktemp("image") / "project", example_data)
    assert train_and_gate(project) == 1
    return project


@pytest.fixture(scope="session")
def published(image_project: Path) -> Published:
    """breast-cancer:1, gated, built, smoke-tested and pushed to the open registry, as for a v1.2.3 release."""
    repository = f"{REGISTRY}/modelci-tests/bc-{uuid.uuid4().hex[:10]}"
    source = package_digest()
    run = modelci("publish-image", "--model", "breast-cancer:1", "--image", repository, "--tag", "candidate",
                  "--json", cwd=image_project, env={"GITHUB_REF": "refs/tags/v1.2.3"})
    assert run.code == 0, run.err
    # the modelci source is copied into the image; in a shared working tree it may change mid-build
    return Published(image_project, repository, run, run.json(), source if package_digest() == source else "")
