"""modelci run: the whole pipeline on one machine, stage after stage, with progress.

    train -> gate -> publish image (when a Docker engine is there) -> deploy (local) -> verify

Each stage is the same core function its own command calls; this module only
chains them and stops at the first verdict that says no.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config, EnvironmentSpec
from .errors import InfrastructureError, UsageError, VerdictFailed
from .registry import ModelVersion, Registry

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RunRequest:
    environment: str | None = None  # default: the first local environment
    image: bool = True  # publish an image when a Docker engine answers
    push: bool = False
    duration_s: float | None = None
    report_dir: Path = Path("modelci-report")


@dataclass
class StageResult:
    name: str
    status: str  # done | skipped | failed
    detail: str
    seconds: float = 0.0


@dataclass
class RunResult:
    stages: list[StageResult] = field(default_factory=list)
    version: ModelVersion | None = None
    verdict: str = "shipped"  # shipped | gate-failed | rolled-back | verify-failed | deploy-failed

    @property
    def ok(self) -> bool:
        return self.verdict == "shipped"


def local_environment(config: Config, name: str | None) -> EnvironmentSpec:
    if name:
        if name not in config.environments:
            raise UsageError(f"--environment {name!r} is not in the config; configured: "
                             f"{', '.join(config.environments)}")
        env = config.environments[name]
        if env.target != "local":
            raise UsageError(f"modelci run deploys to a local environment; {name!r} has target {env.target}. "
                             "Use modelci deploy for Kubernetes environments.")
        return env
    for env in config.environments.values():
        if env.target == "local":
            return env
    raise UsageError("modelci run needs an environment with target: local (e.g. environments: {local: "
                     "{target: local, port: 8080}}), or no environments key at all to get that default.")


def run_pipeline(config: Config, registry: Registry, request: RunRequest, progress: Progress) -> RunResult:
    from .train import train

    env = local_environment(config, request.environment)
    result = RunResult()
    total = 5

    def stage(index: int, name: str) -> float:
        progress(f"[{index}/{total}] {name}")
        return time.monotonic()

    started = stage(1, "train")
    trained = train(config, registry)
    version = result.version = trained.version
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in version.metrics.items())
    result.stages.append(StageResult("train", "done", f"registered {version.ref} ({metrics})",
                                     time.monotonic() - started))

    started = stage(2, f"gate {version.ref} against {config.gate.baseline or 'nothing'}")
    gate_ok, detail = _gate(config, registry, version, request.report_dir / "gate")
    result.stages.append(StageResult("gate", "done" if gate_ok else "failed", detail, time.monotonic() - started))
    if not gate_ok:
        result.verdict = "gate-failed"
        return result

    started = stage(3, "publish image")
    status, detail = _publish(config, registry, version, request, progress)
    result.stages.append(StageResult("publish-image", status, detail, time.monotonic() - started))
    if status == "failed":
        result.verdict = "publish-failed"
        return result

    started = stage(4, f"deploy {version.ref} to {env.name}")
    from .deploy import DeployRequest
    from .deploy.run import deploy

    try:
        deployed = deploy(config, registry, DeployRequest(environment=env.name, model=version.ref), progress)
    except VerdictFailed as exc:
        result.stages.append(StageResult("deploy", "failed", str(exc).splitlines()[0], time.monotonic() - started))
        result.verdict = "deploy-failed"
        return result
    result.stages.append(StageResult("deploy", "done", f"{deployed.url} serves {version.ref}"
                                     + (" (already deployed)" if deployed.noop else ""), time.monotonic() - started))

    started = stage(5, f"verify {env.name}")
    healthy, rolled_back, detail = _verify(config, registry, env.name, request, progress)
    result.stages.append(StageResult("verify", "done" if healthy else "failed", detail, time.monotonic() - started))
    if not healthy:
        result.verdict = "rolled-back" if rolled_back else "verify-failed"
    return result


def _gate(config: Config, registry: Registry, version: ModelVersion, report: Path) -> tuple[bool, str]:
    from .gate import GateRequest, run_gate
    from .gate.report import render_markdown, write_report

    result = run_gate(config, registry, GateRequest(candidate=version.ref))
    write_report(result, report, render_markdown(result))
    base = result.baseline.ref if result.baseline else "no baseline (first run)"
    if result.passed:
        return True, f"passed against {base}; report {report}"
    reasons = "; ".join(r.reason for r in result.failures)
    return False, f"FAILED against {base}: {reasons}; report {report}"


def _publish(config: Config, registry: Registry, version: ModelVersion, request: RunRequest,
             progress: Progress) -> tuple[str, str]:
    if not request.image:
        return "skipped", "skipped (--no-image): the local target serves the artifact directly"
    if not config.image.repository:
        return "skipped", "skipped: no image.repository in the config; the local target serves the artifact"
    try:
        from .image.engine import connect

        with connect():
            pass
    except (UsageError, InfrastructureError) as exc:
        return "skipped", f"skipped: {str(exc).split('. ')[0]}; the local target serves the artifact directly"
    from .image.publish import PublishRequest, publish_image

    published = publish_image(registry, PublishRequest(model=version.ref, push=request.push),
                              default_name=config.model.name, config_repository=config.image.repository,
                              config_base=config.image.base, log=progress)
    where = published.image if published.pushed else f"{published.repository}:{published.tags[0]} (not pushed)"
    return "done", f"built and smoke-tested {where}"


def _verify(config: Config, registry: Registry, environment: str, request: RunRequest,
            progress: Progress) -> tuple[bool, bool, str]:
    from .verify.run import VerifyRequest, verify

    outcome = verify(config, registry, VerifyRequest(environment=environment, duration_s=request.duration_s,
                                                     report_dir=request.report_dir / "verify"), progress)
    if outcome.healthy:
        return True, False, f"healthy; {outcome.model}@champion -> {outcome.version}"
    reasons = "; ".join(outcome.reasons) or "unhealthy"
    if outcome.rolled_back:
        return False, True, f"ROLLED BACK to {outcome.model}:{outcome.restored_version}: {reasons}"
    return False, False, f"unhealthy: {reasons}"
