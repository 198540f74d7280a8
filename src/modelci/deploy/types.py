"""The typed request the CLI builds and the result every target returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DeployRequest:
    environment: str
    model: str | None = None  # a model reference; None: the image's version, or the newest
    image: str | None = None  # kubernetes: an image reference pinned by digest
    strategy: str | None = None  # overrides environments.<env>.strategy
    action: str | None = None  # None (deploy), "promote" or "reject" (canary)
    timeout_s: float | None = None  # overrides environments.<env>.timeout
    kubeconfig: str | None = None  # a path to a kubeconfig file
    kubeconfig_data: str | None = None  # the content of a kubeconfig (the action input)
    namespace: str | None = None  # overrides environments.<env>.namespace
    github_token: str | None = None


@dataclass(frozen=True)
class DeployResult:
    """What a target did. ``noop`` is True when the version was already deployed."""

    environment: str
    target: str
    strategy: str
    model: str
    version: int | None
    revision: str
    url: str
    previous_version: int | None
    image: str | None = None
    phase: str = "deployed"  # deployed | canary | promoted | rejected
    noop: bool = False
    duration_s: float = 0.0
    details: dict[str, str] = field(default_factory=dict)
    deployment_id: int | None = None

    def with_deployment_id(self, deployment_id: int | None) -> DeployResult:
        from dataclasses import replace

        return replace(self, deployment_id=deployment_id)
