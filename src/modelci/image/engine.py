"""The connection to the Docker engine, with errors that say how to get one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from ..errors import InfrastructureError, UsageError

API_TIMEOUT_S = 600

START_HINT = (
    "Start one and try again: `sudo systemctl start docker` (or `sudo dockerd &` where there is no systemd; "
    "in this repository scripts/services/docker.sh does it), or point DOCKER_HOST at a running engine. "
    "On GitHub-hosted Ubuntu runners the engine is already running."
)


@contextlib.contextmanager
def connect() -> Iterator[Any]:
    """A low-level docker ``APIClient`` for the engine named by DOCKER_HOST (or the default socket)."""
    try:
        import docker
        from docker.errors import DockerException
        from docker.utils import kwargs_from_env
    except ImportError:
        raise UsageError(
            "publish-image needs the docker SDK, which is not installed. Install modelci with the image "
            "extra: pip install 'modelci[image]' (the publish-image action does this itself)."
        ) from None
    where = os.environ.get("DOCKER_HOST") or "the default socket (unix:///var/run/docker.sock)"
    try:
        client = docker.APIClient(version="auto", timeout=API_TIMEOUT_S, **kwargs_from_env())
    except DockerException as exc:
        raise InfrastructureError(f"no Docker engine answers at {where}: {short(exc)}. {START_HINT}") from None
    try:
        yield client
    finally:
        client.close()


def short(exc: BaseException, limit: int = 400) -> str:
    """An exception as one line, cut to ``limit`` characters."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def api_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a docker API call raises when the engine or the network fails."""
    import requests
    from docker.errors import DockerException

    return (DockerException, requests.exceptions.RequestException, OSError)
