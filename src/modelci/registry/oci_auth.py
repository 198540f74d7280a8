"""Who we are to an OCI registry: credential sources and the challenge/token dance.

Credentials are looked up once per host, first match wins:

1. ``MODELCI_REGISTRY_USERNAME`` / ``MODELCI_REGISTRY_PASSWORD`` (the actions' inputs);
2. ``~/.docker/config.json`` (``$DOCKER_CONFIG/config.json``), ``auths.<host>.auth``
   (what ``docker login`` writes);
3. ``GITHUB_TOKEN`` for ghcr.io (user ``$GITHUB_ACTOR``);
4. anonymous.

A registry answers 401 with ``WWW-Authenticate: Basic ...`` (send the credentials) or
``Bearer realm=...,service=...,scope=...`` (trade them at the realm for a token). Secrets
are masked in GitHub Actions logs as soon as they are read, and never put in a message.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Credentials:
    """A username/secret pair and where it came from (named in errors, never the secret)."""

    username: str
    password: str
    source: str

    def __repr__(self) -> str:  # keep secrets out of tracebacks and logs
        return f"Credentials(username={self.username!r}, source={self.source!r})"


@dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header."""

    scheme: str  # "basic" | "bearer"
    params: dict[str, str]

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


_PARAM = re.compile(r'([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def parse_challenge(header: str) -> Challenge | None:
    """``Bearer realm="https://x/token",service="x",scope="repository:a:pull"`` -> Challenge."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
              for m in _PARAM.finditer(rest)}
    return Challenge(scheme=scheme.lower(), params=params)


def _mask(value: str) -> None:
    # The registry knows nothing of CI logs: redact masks wherever the CLI says to.
    from ..redact import secret

    secret(value)


def _docker_config_path() -> Path:
    folder = os.environ.get("DOCKER_CONFIG")
    return Path(folder) / "config.json" if folder else Path.home() / ".docker" / "config.json"


def _from_docker_config(host: str) -> Credentials | None:
    path = _docker_config_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    auths = raw.get("auths") if isinstance(raw, dict) else None
    if not isinstance(auths, dict):
        return None
    for key in (host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/"):
        entry = auths.get(key)
        if not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                decoded = base64.b64decode(str(entry["auth"])).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                continue
            user, sep, password = decoded.partition(":")
            if sep:
                return Credentials(user, password, f"{path} (auths.{key})")
        if entry.get("username") and entry.get("password"):
            return Credentials(str(entry["username"]), str(entry["password"]), f"{path} (auths.{key})")
    return None


def find_credentials(host: str) -> Credentials | None:
    """The first credential source that has something for ``host``; None means anonymous."""
    user = os.environ.get("MODELCI_REGISTRY_USERNAME", "")
    password = os.environ.get("MODELCI_REGISTRY_PASSWORD", "")
    found: Credentials | None = None
    if user or password:
        found = Credentials(user, password, "MODELCI_REGISTRY_USERNAME/MODELCI_REGISTRY_PASSWORD")
    if found is None:
        found = _from_docker_config(host)
    if found is None and (host == "ghcr.io" or host.endswith(".ghcr.io")) and os.environ.get("GITHUB_TOKEN"):
        found = Credentials(os.environ.get("GITHUB_ACTOR") or "modelci", os.environ["GITHUB_TOKEN"],
                            "GITHUB_TOKEN")
    if found is not None:
        _mask(found.password)
        _mask(base64.b64encode(f"{found.username}:{found.password}".encode()).decode())
    return found


def basic_header(creds: Credentials) -> str:
    token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    return f"Basic {token}"


def describe(creds: Credentials | None) -> str:
    """Which credentials were tried, for an error message (no secret in it)."""
    if creds is None:
        return ("no credentials (anonymous): none were found in MODELCI_REGISTRY_USERNAME/"
                "MODELCI_REGISTRY_PASSWORD, the docker config, or GITHUB_TOKEN (ghcr.io only)")
    return f"the credentials of user {creds.username!r} from {creds.source}"
