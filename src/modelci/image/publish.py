"""publish-image, in order: check the gate, resolve the wheelhouse, build, smoke-test, push, record."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..registry import ModelVersion, Registry
from .labels import check_repository, labels_for, tags_for
from .probe import BaseImage
from .push import Credentials
from .smoke import SmokeResult

DEFAULT_BASE = "python:3.11-slim"
Log = Callable[[str], None]


class UngatedVersion(UsageError):
    title = "Version did not pass the gate"


@dataclass(frozen=True)
class PublishRequest:
    model: str
    repository: str | None = None
    tags: tuple[str, ...] = ()
    push: bool = True
    base_image: str | None = None
    allow_ungated: bool = False
    smoke_test: bool = True
    credentials: Credentials | None = None
    smoke_timeout_s: float = 120.0


@dataclass(frozen=True)
class PublishResult:
    version: ModelVersion
    repository: str
    tags: tuple[str, ...]
    image_id: str
    digest: str | None
    gate: str
    base: BaseImage
    labels: Mapping[str, str]
    layers: tuple[str, ...]
    smoke: SmokeResult | None
    wheelhouse_cached: bool
    layers_pushed: int = 0
    layers_existing: int = 0
    timings: Mapping[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def pushed(self) -> bool:
        return self.digest is not None

    @property
    def image(self) -> str:
        """repo@digest once pushed (what deploy should use), else repo:v<version>."""
        return f"{self.repository}@{self.digest}" if self.digest else f"{self.repository}:{self.tags[0]}"


def gate_verdict(registry: Registry, version: ModelVersion, allow_ungated: bool) -> tuple[str, dict[str, Any]]:
    """("passed" | "failed" | "never-gated", metrics): refuses anything but passed unless allowed.

    The metrics are the passing gate run's candidate metrics, else those recorded at training.
    """
    from ..gate import gate_status

    status = gate_status(registry, version)
    if status:
        for event in reversed(registry.events(version.name)):
            if event.kind == "gated" and event.version == version.version:
                metrics = (event.data.get("metrics") or {}).get("candidate") or {}
                return "passed", dict(metrics)
    verdict, why = ("never-gated", "was never gated") if status is None else ("failed", "failed its latest gate run")
    if not allow_ungated:
        raise UngatedVersion(
            f"{version.ref} {why}, so publish-image refuses to build it. Run the gate on it "
            f"(modelci gate --candidate {version.ref}) and publish a version that passes. In an emergency, "
            "--allow-ungated (action input allow-ungated) publishes it anyway; the published event and the "
            "image's ai.modelci.gate label record that."
        )
    return verdict, dict(version.metrics)


def publish_image(registry: Registry, request: PublishRequest, *, default_name: str | None = None,
                  config_repository: str | None = None, config_base: str | None = None,
                  env: Mapping[str, str] | None = None, log: Log | None = None) -> PublishResult:
    from ..refs import parse_ref
    from .build import build_image, layers
    from .context import assemble
    from .engine import connect
    from .probe import probe_base
    from .push import push_tags
    from .smoke import smoke_test
    from .wheelhouse import ensure_wheelhouse, python_mismatch, requirements_for

    env = os.environ if env is None else env
    say = log or _stderr
    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timings[name] = round(now - clock, 3)
        clock = now

    version = registry.resolve(parse_ref(request.model, default_name))
    gate, metrics = gate_verdict(registry, version, request.allow_ungated)
    repository = request.repository or config_repository
    if not repository:
        if request.push:
            raise UsageError("publish-image needs an image repository to push to: --image REPO (env MODELCI_IMAGE) "
                             "or image.repository in modelci.yaml, e.g. ghcr.io/acme/churn.")
        repository = f"modelci/{version.name}"
    check_repository(repository)
    tags = tags_for(version, list(request.tags), env)
    base_name = request.base_image or config_base or DEFAULT_BASE
    warnings: list[str] = []
    if gate != "passed":
        warnings.append(f"{version.ref} is published without passing the gate (gate: {gate}; --allow-ungated).")

    with connect() as client:
        base = probe_base(client, base_name)
        say(f"base image {base.name}: Python {base.python} ({base.libc} {base.libc_version}, {base.machine})")
        if mismatch := python_mismatch(version, base):
            warnings.append(mismatch)
        requirements, notes = requirements_for(version)
        warnings += notes
        lap("probe")
        wheelhouse = ensure_wheelhouse(requirements, base)
        say(f"wheelhouse {wheelhouse.key}: {len(wheelhouse.wheels())} wheels "
            f"({'cached' if wheelhouse.cached else 'downloaded'}) for {', '.join(requirements)}")
        lap("wheelhouse")
        labels = labels_for(version, metrics, base=base.name, base_digest=base.repo_digest, gate=gate, env=env)
        work = Path(tempfile.mkdtemp(prefix="modelci-image-"))
        try:
            assemble(work / "context", registry, version, base, wheelhouse, labels=labels)
            image_id = build_image(client, work / "context", f"{repository}:{tags[0]}", say)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        for tag in tags[1:]:
            client.tag(image_id, repository, tag=tag)
        image_layers = tuple(layers(client, image_id))
        lap("build")
        smoke = smoke_test(client, image_id, version, say, request.smoke_timeout_s) if request.smoke_test else None
        lap("smoke_test")
        digest: str | None = None
        pushed = existing = 0
        if request.push:
            result = push_tags(client, repository, tags, request.credentials, say)
            digest, pushed, existing = result.digest, result.layers_pushed, result.layers_existing
            lap("push")
    published = PublishResult(
        version=version, repository=repository, tags=tuple(tags), image_id=image_id, digest=digest, gate=gate,
        base=base, labels=labels, layers=image_layers, smoke=smoke, wheelhouse_cached=wheelhouse.cached,
        layers_pushed=pushed, layers_existing=existing, timings=timings, warnings=tuple(warnings),
    )
    if digest is not None:
        registry.record("published", version, {
            "image": published.image, "repository": repository, "digest": digest, "tags": list(tags),
            "image_id": image_id, "base_image": base.name, "base_digest": base.repo_digest, "gate": gate,
            "ungated": gate != "passed", "smoke_test": smoke is not None,
        })
    return published


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
