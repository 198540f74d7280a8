"""Rolling, canary and blue-green on Kubernetes, each a few reads and writes plus a wait.

rolling     one Deployment ``<name>`` (selector track=stable), maxUnavailable 0; a failed
            rollout gets its previous pod template back.
canary      ``<name>-canary`` with N replicas (track=canary) behind the same Service; the
            stable Deployment is untouched until ``--promote`` rolls it to the canary's
            template and removes the canary; ``--reject`` (or a failed canary) removes it.
blue-green  ``<name>-blue`` and ``<name>-green``; the new colour is rolled out while the
            Service still selects the old one, the selector switches only once the new
            colour is ready, and the old colour keeps running for an instant switch back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config.model import EnvironmentSpec
from ..errors import UsageError, VerdictFailed
from . import rollout
from .kubernetes import Cluster
from .manifests import (
    LABEL_COLOR,
    LABEL_TRACK,
    Manifests,
    Release,
    service_for,
    shaped,
    template_version,
    validate,
)
from .types import Progress

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True)
class Ctx:
    cluster: Cluster
    namespace: str
    env: EnvironmentSpec
    base: Manifests
    timeout_s: float
    progress: Progress

    @property
    def name(self) -> str:
        return str(self.base.deployment["metadata"]["name"])


@dataclass(frozen=True)
class Outcome:
    version: int | None
    image: str | None
    revision: str
    previous_version: int | None
    phase: str = "deployed"
    noop: bool = False


def _complete(dep: Obj) -> bool:
    status, want = dep.get("status") or {}, int(dep.get("spec", {}).get("replicas", 1))
    return (int(status.get("observedGeneration") or 0) >= int(dep["metadata"].get("generation") or 0)
            and int(status.get("updatedReplicas") or 0) == want and int(status.get("availableReplicas") or 0) == want
            and int(status.get("replicas") or 0) == want)


def _revision(dep: Obj) -> str:
    return str((dep["metadata"].get("annotations") or {}).get(REVISION, "1"))


def _checked(ctx: Ctx, release: Release, *, name: str, replicas: int, extra: dict[str, str]) -> Obj:
    dep = shaped(ctx.base, release, name=name, replicas=replicas, selector_extra=extra)
    validate(dep, f"Deployment {name}")
    return dep


def apply_service(ctx: Ctx, extra: dict[str, str]) -> None:
    svc = service_for(ctx.base, extra)
    validate(svc, f"Service {svc['metadata']['name']}")
    name = svc["metadata"]["name"]
    existing = ctx.cluster.get("service", ctx.namespace, name)
    if existing is None:
        ctx.cluster.create("service", ctx.namespace, svc)
        ctx.progress(f"created Service {name} selecting {svc['spec']['selector']}")
        return
    current = (existing.get("spec") or {}).get("selector") or {}
    wanted = svc["spec"]["selector"]
    if current != wanted:
        selector = {**{k: None for k in current if k not in wanted}, **wanted}  # null deletes in a merge patch
        ctx.cluster.patch("service", ctx.namespace, name, {"spec": {"selector": selector}}, merge=True)
        ctx.progress(f"Service {name} now selects {wanted}")


def _apply(ctx: Ctx, dep: Obj) -> Obj | None:
    """Create or patch; returns the previous pod template (None when created)."""
    name = dep["metadata"]["name"]
    existing = ctx.cluster.get("deployment", ctx.namespace, name)
    if existing is None:
        ctx.cluster.create("deployment", ctx.namespace, dep)
        return None
    ctx.cluster.patch("deployment", ctx.namespace, name, dep)
    template: Obj = existing["spec"]["template"]
    return template


def _roll(ctx: Ctx, dep: Obj, release: Release) -> Obj:
    """Apply and wait; on failure revert to the previous template and raise VerdictFailed."""
    name = dep["metadata"]["name"]
    previous = _apply(ctx, dep)
    ctx.progress(f"rolling out {release.model}:{release.version} ({release.image}) as Deployment "
                 f"{ctx.namespace}/{name}")
    try:
        return rollout.wait(ctx.cluster, ctx.namespace, name, ctx.timeout_s, ctx.progress)
    except rollout.RolloutFailed as exc:
        if previous is not None:
            what = rollout.revert(ctx.cluster, ctx.namespace, name, previous, timeout_s=ctx.timeout_s,
                                  progress=ctx.progress)
        else:
            what = "there is no previous version to revert to (first deploy); the Deployment was left as it is"
        raise VerdictFailed(f"the rollout of {release.model}:{release.version} to {ctx.env.name} failed: "
                            f"{exc.reason}. {what}.") from None


def rolling(ctx: Ctx, release: Release) -> Outcome:
    dep = _checked(ctx, release, name=ctx.name, replicas=ctx.env.replicas, extra={LABEL_TRACK: "stable"})
    existing = ctx.cluster.get("deployment", ctx.namespace, ctx.name)
    version, image = template_version(existing)
    if existing and version == release.version and image == release.image and _complete(existing):
        ctx.progress(f"{release.model}:{release.version} is already rolled out in {ctx.env.name}; nothing to do")
        return Outcome(version, image, _revision(existing), None, noop=True)
    apply_service(ctx, {})
    done = _roll(ctx, dep, release)
    return Outcome(release.version, release.image, _revision(done), version)


def canary(ctx: Ctx, release: Release) -> Outcome:
    stable = ctx.cluster.get("deployment", ctx.namespace, ctx.name)
    if stable is None:
        ctx.progress(f"no stable Deployment {ctx.name} yet: the first version is rolled out directly")
        return rolling(ctx, release)
    stable_version, stable_image = template_version(stable)
    if stable_version == release.version and stable_image == release.image:
        ctx.progress(f"{release.model}:{release.version} is already the stable version; nothing to do")
        return Outcome(stable_version, stable_image, _revision(stable), None, noop=True)
    name = f"{ctx.name}-canary"
    dep = _checked(ctx, release, name=name, replicas=ctx.env.canary_replicas, extra={LABEL_TRACK: "canary"})
    existing = ctx.cluster.get("deployment", ctx.namespace, name)
    version, image = template_version(existing)
    if existing and version == release.version and image == release.image and _complete(existing):
        ctx.progress(f"the canary already runs {release.model}:{release.version}; nothing to do")
        return Outcome(version, image, _revision(existing), stable_version, phase="canary", noop=True)
    apply_service(ctx, {})
    _apply(ctx, dep)
    ctx.progress(f"canary {name}: {ctx.env.canary_replicas} replica(s) of {release.model}:{release.version} next "
                 f"to {ctx.name} ({stable_version})")
    try:
        done = rollout.wait(ctx.cluster, ctx.namespace, name, ctx.timeout_s, ctx.progress)
    except rollout.RolloutFailed as exc:
        ctx.cluster.delete("deployment", ctx.namespace, name)
        raise VerdictFailed(f"the canary of {release.model}:{release.version} in {ctx.env.name} failed: "
                            f"{exc.reason}. Removed the canary; {ctx.name} ({release.model}:{stable_version}) "
                            "keeps serving.") from None
    ctx.progress(f"canary ready; promote with: modelci deploy --environment {ctx.env.name} --promote "
                 "(or --reject)")
    return Outcome(release.version, release.image, _revision(done), stable_version, phase="canary")


def read_canary(ctx: Ctx) -> tuple[Obj, int, str]:
    name = f"{ctx.name}-canary"
    dep = ctx.cluster.get("deployment", ctx.namespace, name)
    version, image = template_version(dep)
    if dep is None or version is None or not image:
        raise UsageError(f"there is no canary {ctx.namespace}/{name} in {ctx.env.name} to promote or reject; "
                         f"start one with: modelci deploy --environment {ctx.env.name} --model REF")
    return dep, version, image


def promote(ctx: Ctx, release: Release) -> Outcome:
    outcome = rolling(ctx, release)
    ctx.cluster.delete("deployment", ctx.namespace, f"{ctx.name}-canary")
    ctx.progress(f"promoted {release.model}:{release.version}; removed {ctx.name}-canary")
    return Outcome(outcome.version, outcome.image, outcome.revision, outcome.previous_version, phase="promoted")


def reject(ctx: Ctx, version: int, image: str) -> Outcome:
    stable = ctx.cluster.get("deployment", ctx.namespace, ctx.name)
    stable_version, _ = template_version(stable)
    ctx.cluster.delete("deployment", ctx.namespace, f"{ctx.name}-canary")
    ctx.progress(f"rejected the canary ({version}); removed {ctx.name}-canary, {ctx.name} ({stable_version}) "
                 "keeps serving")
    return Outcome(version, image, _revision(stable) if stable else "0", stable_version, phase="rejected")


def blue_green(ctx: Ctx, release: Release) -> Outcome:
    svc_name = ctx.base.service["metadata"]["name"]
    svc = ctx.cluster.get("service", ctx.namespace, svc_name)
    active = ((svc or {}).get("spec", {}).get("selector") or {}).get(LABEL_COLOR)
    active_dep = ctx.cluster.get("deployment", ctx.namespace, f"{ctx.name}-{active}") if active else None
    version, image = template_version(active_dep)
    if active_dep and version == release.version and image == release.image:
        ctx.progress(f"{release.model}:{release.version} is already live ({active}); nothing to do")
        return Outcome(version, image, f"{active}/{_revision(active_dep)}", None, noop=True)
    color = "green" if active == "blue" else "blue"
    name = f"{ctx.name}-{color}"
    dep = _checked(ctx, release, name=name, replicas=ctx.env.replicas, extra={LABEL_COLOR: color})
    _apply(ctx, dep)
    ctx.progress(f"rolling out {release.model}:{release.version} as {name}; the Service still selects "
                 f"{active or 'nothing'}")
    try:
        done = rollout.wait(ctx.cluster, ctx.namespace, name, ctx.timeout_s, ctx.progress)
    except rollout.RolloutFailed as exc:
        ctx.cluster.patch("deployment", ctx.namespace, name, {"spec": {"replicas": 0}})
        keeps = f"{active} ({release.model}:{version}) keeps serving" if active else "nothing was serving"
        raise VerdictFailed(f"the {color} rollout of {release.model}:{release.version} in {ctx.env.name} failed: "
                            f"{exc.reason}. The Service was not switched and {name} was scaled to 0; "
                            f"{keeps}.") from None
    apply_service(ctx, {LABEL_COLOR: color})
    if active:
        ctx.progress(f"switched {svc_name} from {active} to {color}; {ctx.name}-{active} is kept for an "
                     "instant switch back")
    return Outcome(release.version, release.image, f"{color}/{_revision(done)}", version)
