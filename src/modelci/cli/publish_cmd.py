"""modelci publish-image."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..github import actions as gha
from .common import add_common, load_config, model_name, open_registry, print_json

if TYPE_CHECKING:
    from ..image import PublishResult

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "publish-image", help="build, smoke-test and push a container image serving a gated model version",
        description="Build an image that serves one registered model version (modelci serve on port 8080), "
                    "run it once to check it predicts what training recorded, push it, and record a "
                    "published event with the image digest. Every option also reads a MODELCI_* variable.")
    add_common(p)
    p.add_argument("--model", "-m", default=os.environ.get("MODELCI_MODEL") or None, metavar="REF",
                   help="version to publish: churn:3, churn@champion, models:/churn/3, or 3 / @champion when the "
                        "config names the model (env MODELCI_MODEL)")
    p.add_argument("--image", default=os.environ.get("MODELCI_IMAGE") or None, metavar="REPO",
                   help="image repository, e.g. ghcr.io/acme/churn (default: image.repository; env MODELCI_IMAGE)")
    env_tags = [t for t in os.environ.get("MODELCI_TAGS", "").replace(",", "\n").split() if t]
    p.add_argument("--tag", dest="tags", action="append", default=env_tags, metavar="TAG",
                   help="extra tag besides v<version>, sha-<sha> and the release's semver (repeatable; "
                        "env MODELCI_TAGS, one per line)")
    p.add_argument("--no-push", dest="push", action="store_false", default=None,
                   help="build and smoke-test only (env MODELCI_PUSH=false)")
    p.add_argument("--base-image", default=os.environ.get("MODELCI_BASE_IMAGE") or None, metavar="IMAGE",
                   help="base image with Python 3, pip and venv (default: image.base, else python:3.11-slim; "
                        "env MODELCI_BASE_IMAGE)")
    p.add_argument("--allow-ungated", action="store_const", const=True, default=None,
                   help="emergencies only: publish a version that did not pass the gate; recorded in the "
                        "published event and the ai.modelci.gate label (env MODELCI_ALLOW_UNGATED=true)")
    p.add_argument("--no-smoke-test", dest="smoke_test", action="store_false", default=None,
                   help="skip running the image before the push (env MODELCI_SMOKE_TEST=false)")
    p.add_argument("--smoke-timeout", type=float, default=120.0, metavar="SECONDS",
                   help="how long the smoke test waits for /readyz (default 120)")
    p.add_argument("--username", default=os.environ.get("MODELCI_REGISTRY_USERNAME") or None,
                   help="registry user (env MODELCI_REGISTRY_USERNAME); without it the Docker config's "
                        "credentials are used (docker login)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the registry password or token from stdin (else env MODELCI_REGISTRY_PASSWORD)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=run)


def _flag(value: bool | None, name: str, default: bool) -> bool:
    """The command-line flag when given, else the environment variable, else ``default``."""
    if value is not None:
        return value
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise UsageError(f"{name}={raw!r} is not a boolean; use true or false.")


def _credentials(args: argparse.Namespace) -> Any:
    from ..image.push import Credentials

    password = sys.stdin.read().strip("\r\n") if args.password_stdin else os.environ.get("MODELCI_REGISTRY_PASSWORD")
    if password:
        gha.mask(password)
    if not args.username and not password:
        return None
    if not args.username or not password:
        missing = "--username (or MODELCI_REGISTRY_USERNAME)" if not args.username else \
            "a password (--password-stdin or MODELCI_REGISTRY_PASSWORD)"
        raise UsageError(f"registry credentials need both a user and a password; {missing} is missing.")
    return Credentials(args.username, password)


def run(args: argparse.Namespace) -> int:
    from ..image import PublishRequest, publish_image

    credentials = _credentials(args)
    if not args.model:
        raise UsageError("modelci publish-image needs --model REF, e.g. --model churn:3 or --model churn@champion "
                         "(env MODELCI_MODEL).")
    config = load_config(args, required=False)
    registry = open_registry(args, config)
    request = PublishRequest(
        model=args.model, repository=args.image, tags=tuple(args.tags), push=_flag(args.push, "MODELCI_PUSH", True),
        base_image=args.base_image, allow_ungated=_flag(args.allow_ungated, "MODELCI_ALLOW_UNGATED", False),
        smoke_test=_flag(args.smoke_test, "MODELCI_SMOKE_TEST", True), credentials=credentials,
        smoke_timeout_s=args.smoke_timeout,
    )
    with gha.group(f"modelci publish-image {args.model}"):
        result = publish_image(registry, request, default_name=model_name(config),
                               config_repository=config.image.repository if config else None,
                               config_base=config.image.base if config else None)
    for warning in result.warnings:
        gha.warning(warning, title="modelci publish-image")
    refs = [f"{result.repository}:{t}" for t in result.tags]
    gha.set_output("image", result.image)
    gha.set_output("digest", result.digest or "")
    gha.set_output("tags", "\n".join(refs))
    gha.set_output("image-id", result.image_id)
    gha.append_summary(render_markdown(result))
    if args.json:
        print_json(as_dict(result))
    else:
        where = f"pushed {result.image}" if result.pushed else f"built {result.image} (not pushed)"
        print(f"{where} for {result.version.ref}; tags: {', '.join(result.tags)}")
    return 0


def as_dict(result: PublishResult) -> dict[str, Any]:
    return {
        "model": result.version.ref, "image": result.image, "digest": result.digest, "image_id": result.image_id,
        "repository": result.repository, "tags": list(result.tags), "gate": result.gate, "base_image": result.base.name,
        "python": result.base.python, "layers": list(result.layers), "labels": dict(result.labels),
        "smoke_test": None if result.smoke is None else {"ready_s": round(result.smoke.ready_s, 3),
                                                         "rows": result.smoke.rows},
        "layers_pushed": result.layers_pushed, "layers_existing": result.layers_existing,
        "wheelhouse_cached": result.wheelhouse_cached, "timings": dict(result.timings),
        "warnings": list(result.warnings),
    }


def render_markdown(result: PublishResult) -> str:
    v = result.version
    smoke = ("skipped" if result.smoke is None else
             f"passed: ready in {result.smoke.ready_s:.1f}s, {result.smoke.rows} predictions match training")
    push = (f"`{result.image}` ({result.layers_pushed} layers uploaded, {result.layers_existing} already there)"
            if result.pushed else "not pushed (--no-push)")
    rows = [("Model", f"`{v.ref}` ({v.artifact_digest[:19]}…)"), ("Gate", result.gate),
            ("Base image", f"`{result.base.name}` (Python {result.base.python})"), ("Smoke test", smoke),
            ("Image", push), ("Tags", ", ".join(f"`{t}`" for t in result.tags)),
            ("Timings", ", ".join(f"{k} {s:.1f}s" for k, s in result.timings.items()))]
    table = "\n".join(f"| {k} | {val} |" for k, val in rows)
    metrics = {k[len("ai.modelci.metric."):]: val for k, val in result.labels.items()
               if k.startswith("ai.modelci.metric.")}
    extra = f"\nLabelled metrics: `{json.dumps(metrics)}`\n" if metrics else ""
    return f"### modelci publish-image: {v.ref}\n\n| | |\n|---|---|\n{table}\n{extra}"
