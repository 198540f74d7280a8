"""modelci run: the whole pipeline on the local environment, in one command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..github import actions as gha
from .common import add_common, duration_arg, open_registry, require_config


def add_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="train, gate, publish (if Docker is there), deploy locally and verify")
    add_common(p)
    p.add_argument("--environment", help="the local environment to deploy to (default: the first local one)")
    p.add_argument("--no-image", action="store_true", help="skip building the serving image")
    p.add_argument("--push", action="store_true", help="push the image too (default: build and smoke-test only)")
    p.add_argument("--duration", help="monitoring window of the verify stage (default: verify.duration)")
    p.add_argument("--report", type=Path, default=Path("modelci-report"), metavar="DIR",
                   help="where the gate and verify reports go (default: modelci-report)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..pipeline import RunRequest, run_pipeline

    duration = duration_arg("--duration", args.duration)
    config = require_config(args)
    registry = open_registry(args, config)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    result = run_pipeline(config, registry, RunRequest(
        environment=args.environment, image=not args.no_image, push=args.push, duration_s=duration,
        report_dir=args.report.resolve()), progress)
    lines = [f"### modelci run: {result.verdict}", "", "| stage | result | seconds |", "|---|---|---|"]
    lines += [f"| {s.name} | {s.detail} | {s.seconds:.1f} |" for s in result.stages]
    gha.append_summary("\n".join(lines) + "\n")
    print()
    width = max(len(s.name) for s in result.stages)
    for s in result.stages:
        mark = {"done": "ok  ", "skipped": "skip", "failed": "FAIL"}[s.status]
        print(f"  {mark} {s.name:<{width}}  {s.detail}  ({s.seconds:.1f}s)")
    print()
    messages = {
        "shipped": f"{result.version.ref if result.version else ''} is serving and is the champion.",
        "gate-failed": "the gate blocked the candidate; nothing was deployed.",
        "publish-failed": "the image failed its smoke test; nothing was deployed.",
        "deploy-failed": "the deploy failed and was reverted; the previous version keeps serving.",
        "rolled-back": "verification failed: the environment and the registry were ROLLED BACK.",
        "verify-failed": "verification failed.",
    }
    print(f"modelci run: {messages.get(result.verdict, result.verdict)} Reports: {args.report.resolve()}")
    if result.version is not None:
        gha.set_output("model-version", str(result.version.version))
    gha.set_output("verdict", result.verdict)
    return 0 if result.ok else 1
