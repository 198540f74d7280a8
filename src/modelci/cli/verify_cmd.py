"""modelci verify and modelci rollback."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..github import actions as gha
from .common import add_common, duration_arg, github_token, kubeconfig_source, open_registry, require_config


def add_parser(sub: Any) -> None:
    env = os.environ.get
    p = sub.add_parser("verify", help="smoke-test and watch a deployed version; roll back if it is unhealthy",
                       description="Smoke-test the version an environment serves, watch its error rate, latency "
                                   "and prediction drift for a window, then move the champion alias (production) "
                                   "or roll the cluster and the registry back to the previous version.")
    _common(p)
    p.add_argument("--no-rollback", dest="rollback", action="store_false",
                   default=(env("MODELCI_ROLLBACK") or "true").strip().lower() not in ("0", "false", "no"),
                   help="only report; change nothing when unhealthy (env MODELCI_ROLLBACK=false)")
    p.add_argument("--duration", default=env("MODELCI_DURATION") or None, metavar="DURATION",
                   help="length of the monitoring window, e.g. 5m (default: verify.duration; env MODELCI_DURATION)")
    p.add_argument("--interval", default=env("MODELCI_INTERVAL") or None, metavar="DURATION",
                   help="time between checks, e.g. 30s (default: verify.interval; env MODELCI_INTERVAL)")
    p.add_argument("--prometheus-url", default=env("MODELCI_PROMETHEUS_URL") or None, metavar="URL",
                   help="read the window's figures from this Prometheus (default: verify.prometheus, else scrape "
                        "each serving process's /metrics; env MODELCI_PROMETHEUS_URL)")
    p.add_argument("--report", default=env("MODELCI_REPORT") or "modelci-report/verify", metavar="DIR",
                   help="folder for verify.json and verify.md (default: modelci-report/verify; env MODELCI_REPORT)")
    p.set_defaults(handler=run_verify)

    r = sub.add_parser("rollback", help="put the previous version (or --to REF) back in an environment",
                       description="Restore an environment's previous version by hand: the cluster (or local "
                                   "process), the environment alias, champion if it pointed at the current "
                                   "version, a rolled_back event and GitHub Deployment statuses.")
    _common(r)
    r.add_argument("--to", default=env("MODELCI_TO") or None, metavar="REF",
                   help="version to restore (default: the previous version; env MODELCI_TO)")
    r.set_defaults(handler=run_rollback)


def _common(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--environment", "-e", default=os.environ.get("MODELCI_ENVIRONMENT") or None,
                   help="environment name from modelci.yaml (env MODELCI_ENVIRONMENT)")
    p.add_argument("--kubeconfig", default=None, metavar="PATH",
                   help="kubeconfig file (default: $MODELCI_KUBECONFIG (a path or the file's content), "
                        "$KUBECONFIG, ~/.kube/config, then in-cluster)")
    p.add_argument("--namespace", default=os.environ.get("MODELCI_NAMESPACE") or None,
                   help="kubernetes namespace (default: the environment's; env MODELCI_NAMESPACE)")
    p.add_argument("--github-token", default=None, metavar="TOKEN",
                   help="token for GitHub Deployment statuses (default: $MODELCI_GITHUB_TOKEN, $GITHUB_TOKEN)")


def _request(args: argparse.Namespace, **extra: Any) -> Any:
    from ..verify.run import VerifyRequest

    kubeconfig, kubeconfig_data = kubeconfig_source(args)
    token = github_token(args)
    return VerifyRequest(environment=args.environment, kubeconfig=kubeconfig, kubeconfig_data=kubeconfig_data,
                         namespace=args.namespace, github_token=token, **extra)


def _progress(command: str) -> Any:
    def progress(line: str) -> None:
        print(f"{command}: {line}", file=sys.stderr, flush=True)
    return progress


def run_verify(args: argparse.Namespace) -> int:
    from ..errors import UsageError, VerdictFailed
    from ..verify.report import to_markdown
    from ..verify.run import RollbackFailed, verify

    if not args.environment:
        raise UsageError("modelci verify needs --environment ENV (an environment of modelci.yaml).")
    report = Path(args.report)
    request = _request(args, rollback=args.rollback, duration_s=duration_arg("--duration", args.duration),
                       interval_s=duration_arg("--interval", args.interval), prometheus_url=args.prometheus_url,
                       report_dir=report)
    config = require_config(args)
    registry = open_registry(args, config)
    try:
        with gha.group(f"modelci verify {args.environment}"):
            outcome = verify(config, registry, request, _progress("verify"))
    except RollbackFailed as exc:
        gha.set_output("healthy", "false")
        gha.set_output("rolled-back", "false")
        gha.set_output("report", str(report / "verify.md"))
        if exc.outcome is not None:
            gha.append_summary(to_markdown(exc.outcome))
        raise
    gha.set_output("healthy", "true" if outcome.healthy else "false")
    gha.set_output("rolled-back", "true" if outcome.rolled_back else "false")
    gha.set_output("report", str(report / "verify.md"))
    gha.append_summary(to_markdown(outcome))
    ref = f"{outcome.model}:{outcome.version}"
    if outcome.healthy:
        print(f"{ref} is healthy in {outcome.environment}" + "".join(f"; {a}" for a in outcome.actions))
        return 0
    reasons = "; ".join(outcome.reasons)
    if outcome.rolled_back:
        raise VerdictFailed(f"ROLLED BACK: {ref} failed verification in {outcome.environment} ({reasons}); "
                            f"{outcome.model}:{outcome.restored_version} serves again and the aliases point at it. "
                            f"Report: {report / 'verify.md'}")
    raise VerdictFailed(f"{ref} failed verification in {outcome.environment} ({reasons}); rollback was off, nothing "
                        f"was changed. Roll back with: modelci rollback --environment {outcome.environment}")


def run_rollback(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..verify.run import rollback

    if not args.environment:
        raise UsageError("modelci rollback needs --environment ENV (an environment of modelci.yaml).")
    request = _request(args, to=args.to)
    config = require_config(args)
    registry = open_registry(args, config)
    with gha.group(f"modelci rollback {args.environment}"):
        result = rollback(config, registry, request, _progress("rollback"))
    gha.set_output("rolled-back", "true")
    gha.set_output("version", str(result.to_version))
    gha.set_output("previous-version", str(result.from_version))
    lines = "\n".join(f"- {a}" for a in result.actions)
    gha.append_summary(f"### modelci rollback: {result.environment}\n\n> [!CAUTION]\n> Rolled back from "
                       f"`{result.model}:{result.from_version}` to `{result.model}:{result.to_version}`.\n\n{lines}\n")
    print(f"rolled {result.environment} back from {result.model}:{result.from_version} to "
          f"{result.model}:{result.to_version}")
    return 0
