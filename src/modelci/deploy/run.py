"""The deploy stage: plan, GitHub Deployment, target, record."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..config import Config
from ..errors import ModelciError
from ..registry import ModelVersion, Registry
from .plan import Plan, check_pinned, plan, published_image, resolve_version
from .record import GitHubDeployment, record_deploy
from .types import DeployRequest, DeployResult, Progress


def local_state_dir(config: Config) -> Path:
    raw = os.environ.get("MODELCI_LOCAL_STATE")
    return Path(raw).resolve() if raw else config.base_dir / ".modelci" / "local"


def deploy(config: Config, registry: Registry, request: DeployRequest, progress: Progress) -> DeployResult:
    """Deploy and record; raises VerdictFailed (exit 1) after an automatic revert."""
    p = plan(config, request)
    if p.env.target == "local":
        return _deploy_local(config, registry, request, p, progress=progress)
    return _deploy_kubernetes(config, registry, request, p, progress=progress)


def _deploy_local(config: Config, registry: Registry, request: DeployRequest, p: Plan, *,
                  progress: Progress) -> DeployResult:
    started = time.monotonic()
    from .local import deploy_local

    version = resolve_version(registry, request, config.model.name)
    github = GitHubDeployment(request.github_token, p.env.name)
    github.start({"model": version.name, "version": version.version, "digest": version.artifact_digest},
                 f"{version.ref} to {p.env.name}")
    try:
        result = deploy_local(p.env, registry, version, local_state_dir(config), timeout_s=p.timeout_s,
                              progress=progress)
    except ModelciError as exc:
        github.status("failure", str(exc).splitlines()[0])
        raise
    if not result.noop:
        record_deploy(registry, version, result)
    github.status("success", f"{version.ref} serving", result.url)
    return _finish(result, github, started)


def _deploy_kubernetes(config: Config, registry: Registry, request: DeployRequest, p: Plan, *,
                       progress: Progress) -> DeployResult:
    started = time.monotonic()
    from .kube_deploy import deploy_kubernetes

    version: ModelVersion | None = None
    image: str | None = None
    if request.action is None:
        version = resolve_version(registry, request, config.model.name)
        image = request.image or published_image(registry, version)
        if image is None:
            from ..errors import UsageError

            raise UsageError(
                f"no image to deploy for {version.ref}: pass --image REPOSITORY@sha256:... or publish one "
                f"first (modelci publish-image --model {version.ref}).")
        check_pinned(image)
    github = GitHubDeployment(request.github_token, p.env.name)
    what = version.ref if version else f"{request.action} canary"
    github.start({"model": config.model.name, "version": version.version if version else None,
                  "image": image, "strategy": p.strategy}, f"{what} to {p.env.name}")
    try:
        result, deployed = deploy_kubernetes(config, registry, p, request, version=version, image=image,
                                             progress=progress)
    except ModelciError as exc:
        github.status("failure", str(exc).splitlines()[0])
        raise
    if deployed is not None and not result.noop:
        record_deploy(registry, deployed, result)
    github.status("success", f"{result.model}:{result.version} {result.phase}", result.url)
    return _finish(result, github, started)


def _finish(result: DeployResult, github: GitHubDeployment, started: float) -> DeployResult:
    from dataclasses import replace

    return replace(result, deployment_id=github.id, duration_s=time.monotonic() - started)
