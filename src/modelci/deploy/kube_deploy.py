"""The Kubernetes target: render and check the objects, connect, take the Lease, run the strategy."""

from __future__ import annotations

from ..config import Config
from ..registry import ModelVersion, Registry
from . import lease, strategies
from .kubernetes import connect
from .manifests import Release, base_objects
from .plan import Plan
from .record import run_url
from .types import DeployRequest, DeployResult, Progress


def _release(config: Config, p: Plan, version: ModelVersion, image: str) -> Release:
    return Release(model=version.name, version=version.version, model_digest=version.artifact_digest,
                   image=image, environment=p.env.name, namespace=p.namespace,
                   git_sha=str((version.git or {}).get("sha") or ""), run_url=run_url() or "")


def deploy_kubernetes(config: Config, registry: Registry, p: Plan, request: DeployRequest, *,
                      version: ModelVersion | None, image: str | None,
                      progress: Progress) -> tuple[DeployResult, ModelVersion | None]:
    deadline_s = max(10, int(p.timeout_s))
    placeholder = Release(model=config.model.name, version=0, model_digest="", image="placeholder",
                          environment=p.env.name, namespace=p.namespace)
    release = _release(config, p, version, image) if version and image else placeholder
    base = base_objects(release, p.env.replicas, p.env.manifest, deadline_s)  # template errors: before connecting
    cluster = connect(request.kubeconfig, request.kubeconfig_data)
    try:
        ctx = strategies.Ctx(cluster, p.namespace, p.env, base, p.timeout_s, progress)
        progress(f"{p.env.name}: Kubernetes API {cluster.host}, namespace {p.namespace}, strategy {p.strategy}")
        with lease.hold(cluster, p.namespace, p.env.name, p.timeout_s, progress):
            if request.action is not None:
                _, canary_version, canary_image = strategies.read_canary(ctx)
                version = registry.get_version(config.model.name, canary_version)
                if request.action == "reject":
                    outcome = strategies.reject(ctx, canary_version, canary_image)
                else:
                    release = _release(config, p, version, canary_image)
                    ctx = strategies.Ctx(cluster, p.namespace, p.env,
                                         base_objects(release, p.env.replicas, p.env.manifest, deadline_s),
                                         p.timeout_s, progress)
                    outcome = strategies.promote(ctx, release)
            elif p.strategy == "canary":
                outcome = strategies.canary(ctx, release)
            elif p.strategy == "blue-green":
                outcome = strategies.blue_green(ctx, release)
            else:
                outcome = strategies.rolling(ctx, release)
    finally:
        cluster.close()
    url = p.env.url or f"http://{base.service['metadata']['name']}.{p.namespace}.svc.cluster.local"
    result = DeployResult(
        environment=p.env.name, target="kubernetes", strategy=p.strategy, model=config.model.name,
        version=outcome.version, revision=outcome.revision, url=url, previous_version=outcome.previous_version,
        image=outcome.image, phase=outcome.phase, noop=outcome.noop,
        details={"namespace": p.namespace, "deployment": ctx.name})
    return result, version
