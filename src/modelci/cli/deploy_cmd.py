"""modelci deploy."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..github import actions as gha
from .common import add_common, duration_arg, github_token, kubeconfig_source, open_registry, require_config


def add_parser(sub: Any) -> None:
    p = sub.add_parser("deploy", help="deploy a model version to an environment (kubernetes or local)",
                       description="Deploy a model version to an environment of modelci.yaml, wait until it "
                                   "serves, revert automatically if it does not, and record it.")
    add_common(p)
    env = os.environ.get
    p.add_argument("--environment", "-e", default=env("MODELCI_ENVIRONMENT") or None,
                   help="environment name from modelci.yaml (env MODELCI_ENVIRONMENT)")
    p.add_argument("--model", "-m", default=env("MODELCI_MODEL") or None, metavar="REF",
                   help="model reference, e.g. churn:3 or @champion (default: the image's version, else the "
                        "newest; env MODELCI_MODEL)")
    p.add_argument("--image", default=env("MODELCI_IMAGE") or None,
                   help="kubernetes: image pinned by digest, REPO@sha256:... (default: the version's newest "
                        "published image; env MODELCI_IMAGE)")
    p.add_argument("--strategy", default=env("MODELCI_STRATEGY") or None,
                   help="rolling | canary | blue-green (default: the environment's; env MODELCI_STRATEGY)")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--promote", action="store_true", default=_flag("MODELCI_PROMOTE"),
                        help="canary: roll the canary's version out to all replicas, then remove the canary "
                             "(env MODELCI_PROMOTE=true)")
    action.add_argument("--reject", action="store_true", default=_flag("MODELCI_REJECT"),
                        help="canary: remove the canary (env MODELCI_REJECT=true)")
    p.add_argument("--timeout", default=env("MODELCI_TIMEOUT") or None, metavar="DURATION",
                   help="how long to wait for the rollout (and the deploy lock), e.g. 90s or 10m (default: "
                        "the environment's timeout, 10m; env MODELCI_TIMEOUT)")
    p.add_argument("--kubeconfig", default=None, metavar="PATH",
                   help="kubeconfig file (default: $MODELCI_KUBECONFIG (a path or the file's content), "
                        "$KUBECONFIG, ~/.kube/config, then in-cluster)")
    p.add_argument("--namespace", default=env("MODELCI_NAMESPACE") or None,
                   help="kubernetes namespace (default: the environment's; env MODELCI_NAMESPACE)")
    p.set_defaults(handler=run)


def _flag(name: str) -> bool:
    return (os.environ.get(name) or "").strip().lower() in ("1", "true", "yes")


def run(args: argparse.Namespace) -> int:
    from ..deploy.run import deploy
    from ..deploy.types import DeployRequest
    from ..errors import UsageError

    if args.promote and args.reject:
        raise UsageError("--promote and --reject (promote/reject inputs) exclude each other; pass one.")
    if not args.environment:
        raise UsageError("modelci deploy needs --environment ENV (an environment of modelci.yaml).")
    timeout_s = duration_arg("--timeout", args.timeout)
    kubeconfig, kubeconfig_data = kubeconfig_source(args)
    token = github_token(args)
    request = DeployRequest(
        environment=args.environment, model=args.model, image=args.image, strategy=args.strategy,
        action="promote" if args.promote else "reject" if args.reject else None, timeout_s=timeout_s,
        kubeconfig=kubeconfig, kubeconfig_data=kubeconfig_data, namespace=args.namespace, github_token=token)
    config = require_config(args)
    registry = open_registry(args, config)

    def progress(line: str) -> None:
        print(f"deploy: {line}", file=sys.stderr, flush=True)

    with gha.group(f"modelci deploy {args.environment}"):
        result = deploy(config, registry, request, progress)
    outputs = {
        "environment": result.environment, "revision": result.revision, "url": result.url,
        "previous-version": "" if result.previous_version is None else str(result.previous_version),
        "deployment-id": "" if result.deployment_id is None else str(result.deployment_id),
        "version": "" if result.version is None else str(result.version), "phase": result.phase,
        "image": result.image or "",
    }
    for name, value in outputs.items():
        gha.set_output(name, value)
    gha.append_summary(_markdown(result))
    state = "already deployed (no change)" if result.noop else result.phase
    previous = "none" if result.previous_version is None else f"{result.model}:{result.previous_version}"
    print(f"{result.model}:{result.version} {state} in {result.environment} ({result.target}, {result.strategy}) "
          f"revision {result.revision} at {result.url}; previous version {previous}; {result.duration_s:.1f}s")
    return 0


def _markdown(result: Any) -> str:
    rows = [("environment", result.environment), ("target", f"{result.target} ({result.strategy})"),
            ("model", f"{result.model}:{result.version}"), ("phase", "no change" if result.noop else result.phase),
            ("revision", result.revision), ("url", result.url),
            ("previous version", "none" if result.previous_version is None else str(result.previous_version))]
    if result.image:
        rows.append(("image", f"`{result.image}`"))
    body = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"### modelci deploy: {result.environment}\n\n| | |\n|---|---|\n{body}\n"
