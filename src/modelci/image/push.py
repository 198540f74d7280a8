"""docker push of every tag, with credentials that never reach a log line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InfrastructureError
from .engine import api_errors, short

Log = Callable[[str], None]
AUTH_WORDS = ("unauthorized", "authentication required", "no basic auth credentials", "denied", "401", "403",
              "forbidden", "incorrect username or password")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never show the password, not even in a traceback
        return f"Credentials(username={self.username!r}, password='***')"


@dataclass(frozen=True)
class PushResult:
    digest: str
    layers_pushed: int
    layers_existing: int


def registry_host(repository: str) -> str:
    first = repository.split("/", 1)[0]
    if "/" in repository and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def push_tags(client: Any, repository: str, tags: list[str], credentials: Credentials | None, log: Log) -> PushResult:
    auth = {"username": credentials.username, "password": credentials.password} if credentials else None
    secret = credentials.password if credentials else ""
    digest: str | None = None
    pushed: set[str] = set()
    existing: set[str] = set()
    for tag in tags:
        error: str | None = None
        try:
            for chunk in client.push(repository, tag=tag, stream=True, decode=True, auth_config=auth):
                if not isinstance(chunk, dict):
                    continue
                if chunk.get("error"):
                    error = str(chunk["error"])
                status, layer = chunk.get("status"), chunk.get("id")
                if status == "Pushed" and layer:
                    pushed.add(str(layer))
                elif status == "Layer already exists" and layer:
                    existing.add(str(layer))
                aux = chunk.get("aux")
                if isinstance(aux, dict) and aux.get("Digest"):
                    digest = str(aux["Digest"])
        except api_errors() as exc:
            error = short(exc)
        if error is not None:
            raise _push_error(repository, tag, error, credentials, secret)
        log(f"pushed {repository}:{tag}")
    if digest is None:
        raise InfrastructureError(f"docker push of {repository} reported no manifest digest.")
    return PushResult(digest=digest, layers_pushed=len(pushed), layers_existing=len(existing - pushed))


def _push_error(repository: str, tag: str, error: str, credentials: Credentials | None,
                secret: str) -> InfrastructureError:
    if secret:
        error = error.replace(secret, "***")
    host = registry_host(repository)
    if any(word in error.lower() for word in AUTH_WORDS):
        who = f"user {credentials.username!r}" if credentials else "the credentials in the Docker config"
        return InfrastructureError(
            f"{host} refused {who} when pushing {repository}:{tag}: {error}. Check the username and password "
            "(--username with --password-stdin, or MODELCI_REGISTRY_USERNAME / MODELCI_REGISTRY_PASSWORD, or "
            f"docker login {host}). For ghcr.io use the job's GITHUB_TOKEN with `permissions: packages: write`."
        )
    return InfrastructureError(f"docker push of {repository}:{tag} to {host} failed: {error}")
