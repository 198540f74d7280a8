"""The verify stage: smoke, a monitoring window, then champion or rollback; and rollback by hand.

verify      smoke the version an environment serves (through the Service / local URL),
            watch it for ``duration`` (Prometheus, or per-pod /metrics deltas), record a
            ``verified`` event. Healthy: in the production environment the ``champion``
            alias moves to it. Unhealthy: with rollback on, the target restores the
            previous version, which must answer its own smoke test before the registry is
            touched; then the environment alias (and ``champion``, if it pointed at the
            bad version) move back and a ``rolled_back`` event is written on the bad
            version. GitHub Deployment statuses follow (failure, then success).
rollback    the same restore by hand, to the previous version or ``--to``.

Production: an environment named ``production`` or ``prod``, or the only environment of
the config (so ``modelci run`` on the embedded defaults, whose single environment is
``local``, moves the champion). A canary never moves the champion before it is promoted.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..config.model import EnvironmentSpec
from ..deploy.types import Progress
from ..errors import InfrastructureError, ModelciError, UsageError
from ..registry import ModelVersion, Registry
from ..registry.records import utcnow
from .compare import Baseline, Recording
from .report import VerifyOutcome
from .smoke import SmokeResult, run_smoke
from .sources import FigureSource
from .targets import Serving, Target
from .traffic import Replay, holdout_bodies
from .window import Interval, run_window

CHAMPION = "champion"
PRODUCTION_NAMES = ("production", "prod")


@dataclass(frozen=True)
class VerifyRequest:
    environment: str
    rollback: bool = True
    duration_s: float | None = None
    interval_s: float | None = None
    prometheus_url: str | None = None
    kubeconfig: str | None = None
    kubeconfig_data: str | None = None
    namespace: str | None = None
    github_token: str | None = None
    to: str | None = None  # rollback by hand: a model reference (default: the previous version)
    report_dir: Path | None = None  # verify.json and verify.md are written here when set


class RollbackFailed(InfrastructureError):
    """The previous version could not be restored (exit 3); the outcome says what was found."""

    title = "Rollback failed"

    def __init__(self, message: str, outcome: VerifyOutcome | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True)
class RollbackOutcome:
    model: str
    environment: str
    from_version: int
    to_version: int
    actions: tuple[str, ...]


def is_production(config: Config, environment: str) -> bool:
    return environment in PRODUCTION_NAMES or len(config.environments) == 1


def environment(config: Config, name: str) -> EnvironmentSpec:
    env = config.environments.get(name)
    if env is None:
        configured = ", ".join(f"{n} ({s.target})" for n, s in sorted(config.environments.items()))
        raise UsageError(f"environment {name!r} is not configured in {config.source}; configured: "
                         f"{configured or 'none'}. Pass one of those to --environment.")
    return env


def open_target(config: Config, registry: Registry, env: EnvironmentSpec, request: VerifyRequest) -> Target:
    if env.target == "local":
        from ..deploy.run import local_state_dir
        from .targets import LocalTarget

        return LocalTarget(env, registry, local_state_dir(config))
    from .targets import KubeTarget

    return KubeTarget(config, env, namespace=request.namespace, kubeconfig=request.kubeconfig,
                      kubeconfig_data=request.kubeconfig_data)


def _describe(interval: Interval) -> str:
    parts = [f"{c.name}={'n/a' if c.value is None else f'{c.value:.4g}'} {c.verdict}" for c in interval.checks]
    return f"+{interval.at_s:.1f}s {interval.requests} requests: " + (", ".join(parts) or "no checks")


def verify(config: Config, registry: Registry, request: VerifyRequest, progress: Progress) -> VerifyOutcome:
    """Verify, then promote or roll back. Unhealthy is a returned outcome (the CLI exits 1); a rollback
    that cannot restore the previous version raises RollbackFailed (exit 3). The report is written to
    ``request.report_dir`` either way."""
    try:
        outcome = _verify(config, registry, request, progress)
    except RollbackFailed as exc:
        if request.report_dir is not None and exc.outcome is not None:
            failed = dataclasses.replace(exc.outcome, actions=(f"ROLLBACK FAILED: {exc.message}",))
            write_report(failed, request.report_dir)
        raise
    if request.report_dir is not None:
        write_report(outcome, request.report_dir)
    return outcome


def _verify(config: Config, registry: Registry, request: VerifyRequest, progress: Progress) -> VerifyOutcome:
    env = environment(config, request.environment)
    spec = config.verify
    if request.interval_s is not None:
        spec = dataclasses.replace(spec, interval_s=request.interval_s)
    if request.duration_s is not None:
        spec = dataclasses.replace(spec, duration_s=request.duration_s)
    if spec.interval_s <= 0 or spec.duration_s < 0:
        raise UsageError(f"interval {spec.interval_s}s must be positive and duration {spec.duration_s}s not "
                         "negative, e.g. --duration 5m --interval 30s.")
    prometheus = request.prometheus_url or spec.prometheus
    if prometheus and not prometheus.startswith(("http://", "https://")):
        raise UsageError(f"--prometheus-url {prometheus!r} is not an http(s) URL, e.g. http://prometheus:9090.")
    target = open_target(config, registry, env, request)
    try:
        serving = target.serving()
        version = registry.get_version(serving.model, serving.version)
        progress(f"{env.name}: verifying {version.ref} ({serving.target}, {serving.strategy}"
                 f"{', canary' if serving.phase == 'canary' else ''}); previous version "
                 f"{serving.previous if serving.previous is not None else 'none'}")
        smoke = run_smoke(target.probe(), version, spec.smoke)
        for check in smoke.checks:
            progress(f"smoke {check.name}: {'pass' if check.passed else 'FAIL'} ({check.detail})")
        window = None
        notes: list[str] = []
        stable: dict[str, object] | None = None
        if smoke.passed and spec.duration_s > 0:
            source = Recording(_source(prometheus, version, target))
            progress(f"monitoring {version.ref} for {spec.duration_s:g}s every {spec.interval_s:g}s from "
                     f"{source.describe()} (failure limit {spec.failure_limit})")
            baseline = _baseline(target, serving)

            def on_interval(interval: Interval) -> None:
                progress(_describe(interval))
                if baseline is not None:
                    baseline.tick()

            if baseline is not None:
                baseline.start()
            replay = _replay(config, env, version, target, progress)
            try:
                window = run_window(source, spec, version.extra.get("prediction_profile"), on_interval=on_interval)
            finally:
                if replay is not None:
                    replay.stop()
                    notes.append(f"synthetic traffic: {replay.sent} holdout rows replayed at {env.traffic_rps:g}/s "
                                 f"({replay.failed} failed)")
                    progress(notes[-1])
            if baseline is not None:
                notes.append(baseline.line(source.total))
                progress(notes[-1])
                stable = baseline.figures()
        outcome = VerifyOutcome(model=version.name, version=version.version, environment=env.name,
                                smoke=smoke, window=window, actions=tuple(notes))
        detected_at = utcnow()
        registry.record("verified", version, {**_verified_data(outcome, serving, prometheus), "stable": stable})
        if outcome.healthy:
            promoted = _promote(config, registry, version, serving, env.name)
            return dataclasses.replace(outcome, actions=(*notes, *promoted))
        progress(f"{version.ref} is UNHEALTHY: " + "; ".join(outcome.reasons))
        if not request.rollback:
            return outcome
        if serving.previous is None:
            raise RollbackFailed(
                f"{version.ref} failed verification in {env.name} but there is no previous version to roll back "
                f"to (it was the first deploy); it keeps serving. Reasons: {'; '.join(outcome.reasons)}", outcome)
        try:
            actions = restore(config, registry, target=target, env=env, serving=serving, bad=version,
                              to=serving.previous, reasons=outcome.reasons, detected_at=detected_at, trigger="verify",
                              github_token=request.github_token, progress=progress)
        except InfrastructureError as exc:
            raise RollbackFailed(f"{version.ref} failed verification in {env.name} ({'; '.join(outcome.reasons)}) "
                                 f"and the rollback failed: {exc}", outcome) from None
        return dataclasses.replace(outcome, rolled_back=True, restored_version=serving.previous,
                                   actions=(*notes, *actions))
    finally:
        target.close()


def _replay(config: Config, env: EnvironmentSpec, version: ModelVersion, target: Target,
            progress: Progress) -> Replay | None:
    """Holdout rows replayed during the window when the environment asks for synthetic traffic."""
    if env.traffic_rps <= 0:
        return None
    try:
        bodies = holdout_bodies(config.data.test, version)
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"environments.{env.name}.traffic: cannot read holdout rows from {config.data.test}: "
                         f"{exc}") from None
    progress(f"replaying {len(bodies)} holdout rows at {env.traffic_rps:g} requests/s during the window")
    return Replay(target.probe(), bodies, env.traffic_rps).start()


def _baseline(target: Target, serving: Serving) -> Baseline | None:
    probe = target.stable_probe()
    if probe is None:
        return None
    return Baseline(probe, f"{serving.model}:{serving.previous}")


def _source(prometheus: str, version: ModelVersion, target: Target) -> FigureSource:
    from .sources import PrometheusSource, ScrapeSource, query_prometheus

    if prometheus:
        return PrometheusSource(prometheus, version.name, version.version, query_prometheus)
    return ScrapeSource(target.probe())


def _verified_data(outcome: VerifyOutcome, serving: Serving, prometheus: str) -> dict[str, object]:
    from ..deploy.record import run_url

    window = outcome.window
    return {
        "environment": outcome.environment, "healthy": outcome.healthy, "reasons": outcome.reasons,
        "target": serving.target, "strategy": serving.strategy, "phase": serving.phase,
        "checks": {
            "smoke": [{"name": c.name, "passed": c.passed} for c in outcome.smoke.checks],
            "window": None if window is None else {
                "source": "prometheus" if prometheus else "scrape", "intervals": len(window.intervals),
                "failures": window.failures, "failure_limit": window.failure_limit,
                "requests": sum(iv.requests for iv in window.intervals)},
        },
        "run_url": run_url(),
    }


def _promote(config: Config, registry: Registry, version: ModelVersion, serving: Serving,
             serving_env: str) -> list[str]:
    if not is_production(config, serving_env):
        return []
    if serving.phase == "canary":
        return [f"{version.ref} is a canary: the champion moves once it is promoted and verified "
                f"(modelci deploy --environment {serving_env} --promote)"]
    if registry.alias_version(version.name, CHAMPION) == version.version:
        return [f"{version.ref} already is the champion"]
    registry.set_alias(version.name, CHAMPION, version.version,
                       reason=f"verified healthy in {serving_env}")
    return [f"moved alias champion to {version.ref} (verified healthy in {serving_env})"]


def _wait_healthy(probe_target: Target, version: ModelVersion, timeout_s: float, progress: Progress) -> SmokeResult:
    """Smoke the restored version until it passes twice in a row (clients may still reach old pods)."""
    deadline = time.monotonic() + timeout_s
    passes = 0
    probe = probe_target.service_probe()
    while True:
        result = run_smoke(probe, version, "input_example")
        passes = passes + 1 if result.passed else 0
        if passes >= 2:
            return result
        if time.monotonic() >= deadline:
            raise InfrastructureError(f"{version.ref} was restored but does not answer healthy after "
                                      f"{timeout_s:.0f}s: {'; '.join(result.reasons)}")
        time.sleep(0.2)


def restore(config: Config, registry: Registry, *, target: Target, env: EnvironmentSpec, serving: Serving,
            bad: ModelVersion, to: int, reasons: list[str], detected_at: str, trigger: str,
            github_token: str | None, progress: Progress) -> list[str]:
    """Put ``to`` back in ``env`` and record it; InfrastructureError (nothing recorded) when it cannot."""
    from ..deploy.record import GitHubDeployment, run_url

    try:
        restored = registry.get_version(bad.name, to)
    except ModelciError as exc:
        raise InfrastructureError(f"the previous version {bad.name}:{to} is gone from the registry ({exc}); "
                                  f"{bad.ref} keeps serving and nothing was changed.") from None
    progress(f"rolling {env.name} back from {bad.ref} to {restored.ref}")
    actions = [target.rollback(to, progress)]
    result = _wait_healthy(target, restored, max(10.0, env.timeout_s), progress)
    actions.append(f"{restored.ref} answers healthy through {target.service_probe().describe()} "
                   f"({', '.join(c.name for c in result.checks)})")
    restored_at = utcnow()
    if registry.alias_version(bad.name, env.name) != to and serving.phase != "canary":
        registry.set_alias(bad.name, env.name, to, reason=f"rolled back from {bad.version} ({trigger})")
        actions.append(f"moved alias {env.name} back to {restored.ref}")
    if is_production(config, env.name) and registry.alias_version(bad.name, CHAMPION) == bad.version:
        registry.set_alias(bad.name, CHAMPION, to, reason=f"{bad.ref} rolled back in {env.name}")
        actions.append(f"moved alias champion back to {restored.ref}")
    registry.record("rolled_back", bad, {
        "environment": env.name, "reasons": reasons, "detected_at": detected_at, "restored_at": restored_at,
        "restored_version": to, "target": serving.target, "strategy": serving.strategy, "phase": serving.phase,
        "trigger": trigger, "run_url": run_url()})
    actions.append(f"recorded rolled_back on {bad.ref}")
    failed = GitHubDeployment(github_token, env.name)
    failed.start({"model": bad.name, "version": bad.version}, f"{bad.ref} in {env.name}")
    failed.status("failure", f"rolled back: {'; '.join(reasons)}"[:140] if reasons else "rolled back")
    ok = GitHubDeployment(github_token, env.name)
    ok.start({"model": restored.name, "version": restored.version}, f"{restored.ref} restored in {env.name}")
    ok.status("success", f"{restored.ref} restored after {bad.ref} was rolled back", serving.url or None)
    if failed.id is not None:
        actions.append(f"GitHub Deployment {failed.id} failure, {ok.id} success")
    return actions


def rollback(config: Config, registry: Registry, request: VerifyRequest, progress: Progress) -> RollbackOutcome:
    """``modelci rollback``: restore the previous version (or ``request.to``) by hand."""
    from ..refs import parse_ref

    env = environment(config, request.environment)
    target = open_target(config, registry, env, request)
    try:
        serving = target.serving()
        bad = registry.get_version(serving.model, serving.version)
        if request.to:
            to = registry.resolve(parse_ref(request.to, serving.model)).version
        elif serving.previous is None:
            raise RollbackFailed(f"{env.name} serves {bad.ref} and has no previous version to roll back to.")
        else:
            to = serving.previous
            _refuse_a_rolled_back(registry, env.name, bad.name, to)
        if to == serving.version:
            raise UsageError(f"{env.name} already serves {bad.ref}; nothing to roll back.")
        detected_at = utcnow()
        actions = restore(config, registry, target=target, env=env, serving=serving, bad=bad, to=to,
                          reasons=[f"rolled back by hand (modelci rollback --environment {env.name})"],
                          detected_at=detected_at, trigger="manual", github_token=request.github_token,
                          progress=progress)
        return RollbackOutcome(model=bad.name, environment=env.name, from_version=bad.version, to_version=to,
                               actions=tuple(actions))
    finally:
        target.close()


def _refuse_a_rolled_back(registry: Registry, env: str, model: str, version: int) -> None:
    """The default target of a manual rollback must not be a version already rolled back from ``env``
    (right after an automatic rollback, the 'previous' version is the bad one)."""
    history = [e for e in registry.events(model) if e.version == version and e.kind in ("deployed", "rolled_back")
               and isinstance(e.data, dict) and e.data.get("environment") == env]
    if history and history[-1].kind == "rolled_back":
        reasons = "; ".join(history[-1].data.get("reasons") or []) or "no reason recorded"
        raise UsageError(f"the previous version of {env}, {model}:{version}, was rolled back from it at "
                         f"{history[-1].at} ({reasons}); modelci will not bring it back by default. Pass --to REF "
                         "to choose the version to restore.")


def write_report(outcome: VerifyOutcome, folder: Path) -> Path:
    """``verify.json`` and ``verify.md`` in ``folder``; returns the Markdown path."""
    import json

    from .report import to_json, to_markdown

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "verify.json").write_text(json.dumps(to_json(outcome), indent=2, default=str) + "\n")
    markdown = folder / "verify.md"
    markdown.write_text(to_markdown(outcome) + "\n")
    return markdown
