"""The connection to the Docker engine, with errors that say how to get one."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import InfrastructureError, UsageError

API_TIMEOUT_S = 600
DEFAULT_SOCKET = "unix:///var/run/docker.sock"

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
    host = os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    _preflight(host)
    try:
        client = docker.APIClient(version="auto", timeout=API_TIMEOUT_S, **kwargs_from_env())
    except DockerException as exc:
        raise InfrastructureError(f"no Docker engine answers at {host}: {short(exc)}. {START_HINT}") from None
    try:
        yield client
    finally:
        client.close()


def _preflight(host: str) -> None:
    """Fail fast (and without leaking a socket inside the SDK) when a unix socket has no engine behind it."""
    if not host.startswith("unix://"):
        return
    path = host[len("unix://"):]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        try:
            probe.connect(path)
        except OSError as exc:
            why = "the socket does not exist" if not Path(path).exists() else (exc.strerror or str(exc))
            raise InfrastructureError(f"no Docker engine answers at {host}: {why}. {START_HINT}") from None


def short(exc: BaseException, limit: int = 400) -> str:
    """An exception as one line, cut to ``limit`` characters."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def api_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a docker API call raises when the engine or the network fails."""
    import requests
    from docker.errors import DockerException

    return (DockerException, requests.exceptions.RequestException, OSError)
