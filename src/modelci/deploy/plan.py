"""Work out what to deploy where: the environment, the model version and (Kubernetes) the image."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..config import Config
from ..config.model import EnvironmentSpec
from ..errors import UsageError
from ..refs import ModelRef, parse_ref
from ..registry import ModelVersion, Registry
from .types import DeployRequest

STRATEGIES = ("rolling", "canary", "blue-green")
DIGEST_RE = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Plan:
    env: EnvironmentSpec
    strategy: str
    timeout_s: float
    namespace: str


def plan(config: Config, request: DeployRequest) -> Plan:
    env = config.environments.get(request.environment)
    if env is None:
        configured = ", ".join(f"{name} ({spec.target})" for name, spec in sorted(config.environments.items()))
        raise UsageError(
            f"environment {request.environment!r} is not configured in {config.source}; configured: "
            f"{configured or 'none'}. Add it under environments: (e.g. {request.environment}: "
            "{target: kubernetes, namespace: models}) or pass one of those.")
    strategy = request.strategy or env.strategy
    if strategy not in STRATEGIES:
        raise UsageError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}.")
    if request.action and strategy != "canary":
        raise UsageError(f"--{request.action} applies to the canary strategy; environment {env.name!r} uses "
                         f"{strategy}. Pass --strategy canary if its canary is meant.")
    timeout = request.timeout_s if request.timeout_s is not None else env.timeout_s
    if timeout <= 0:
        raise UsageError(f"timeout {timeout}s must be positive, e.g. --timeout 10m.")
    return Plan(env=env, strategy=strategy, timeout_s=timeout, namespace=request.namespace or env.namespace)


def check_pinned(image: str) -> str:
    """An image reference must name its digest, so a deploy is reproducible and revertible."""
    if not DIGEST_RE.match(image):
        raise UsageError(
            f"image {image!r} is not pinned by digest; a Kubernetes deploy needs REPOSITORY@sha256:<64 hex> "
            "(e.g. ghcr.io/acme/churn@sha256:...), as printed by modelci publish-image (output digest). "
            "Tags can move under a running Deployment.")
    return image


def resolve_version(registry: Registry, request: DeployRequest, default_name: str | None) -> ModelVersion:
    """--model, or the version whose published image is --image, or the newest version."""
    if request.model:
        return registry.resolve(parse_ref(request.model, default_name))
    if request.image and default_name and "@" in request.image:
        digest = request.image.rsplit("@", 1)[1]
        for event in reversed(registry.events(default_name)):
            if event.kind == "published" and event.version is not None and digest in _event_images(event.data):
                return registry.get_version(default_name, event.version)
        raise UsageError(
            f"no registered version of {default_name} was published as {request.image}; pass --model "
            "REF too so modelci knows which version the image holds.")
    if default_name is None:
        raise UsageError("modelci deploy needs --model REF (no config names the model).")
    return registry.resolve(ModelRef(default_name))


def published_image(registry: Registry, version: ModelVersion) -> str | None:
    """The newest pinned image of ``version`` recorded by publish-image, if any."""
    for event in reversed(registry.events(version.name)):
        if event.kind != "published" or event.version != version.version:
            continue
        for image in _event_images(event.data):
            if DIGEST_RE.match(image):
                return image
    return None


def _event_images(data: object) -> list[str]:
    """Image references a ``published`` event names, in whichever shape publish-image wrote."""
    if not isinstance(data, dict):
        return []
    found: list[str] = []
    digest = data.get("digest") if isinstance(data.get("digest"), str) else None
    for key in ("image", "reference", "pinned", "repository"):
        value = data.get(key)
        if isinstance(value, str) and value:
            if "@" in value:
                found.append(value)
            elif digest:
                found.append(f"{_untagged(value)}@{digest}")
    if digest:
        found.append(digest)
    return found


def _untagged(image: str) -> str:
    head, _, last = image.rpartition("/")
    name = last.split(":", 1)[0]
    return f"{head}/{name}" if head else name
