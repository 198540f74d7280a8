"""modelci gate."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..github import actions as gha
from .common import add_common, github_token, open_registry, print_json, require_config

DEFAULT_REPORT = "modelci-report/gate"
_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off")


def _env_bool(name: str, default: bool) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise UsageError(f"{name}={raw!r} is not a boolean; use true or false.")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("gate", help="compare the candidate with the baseline on the holdout; pass or fail")
    add_common(p)
    p.add_argument("--candidate", default=os.environ.get("MODELCI_CANDIDATE") or None, metavar="REF",
                   help="version to gate (default: the newest; env MODELCI_CANDIDATE)")
    p.add_argument("--baseline", default=os.environ.get("MODELCI_BASELINE") or None, metavar="REF",
                   help="version to compare with (default: the alias gate.baseline, champion; env MODELCI_BASELINE)")
    p.add_argument("--report", default=os.environ.get("MODELCI_REPORT") or DEFAULT_REPORT, metavar="DIR",
                   help=f"folder for report.md, result.json and charts (default: {DEFAULT_REPORT})")
    p.add_argument("--no-fail", action="store_true", help="exit 0 even when the gate fails "
                   "(env MODELCI_FAIL_ON_REGRESSION=false)")
    p.add_argument("--github-token", default=None, metavar="TOKEN",
                   help="token for the PR comment and commit status (env MODELCI_GITHUB_TOKEN or GITHUB_TOKEN)")
    p.add_argument("--no-comment", action="store_true", help="do not comment on the pull request "
                   "(env MODELCI_COMMENT=false); the commit status is still set")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..gate import GateRequest, run_gate
    from ..gate.comment import watermark
    from ..gate.report import MARKDOWN_NAME, render_markdown, write_report
    from ..github.event import pull_request_from_env, run_url, workflow_name

    token = github_token(args)
    fail = not args.no_fail and _env_bool("MODELCI_FAIL_ON_REGRESSION", True)
    comment = not args.no_comment and _env_bool("MODELCI_COMMENT", True)
    config = require_config(args)
    registry = open_registry(args, config)
    # --json keeps stdout pure JSON, so no ::group:: lines there
    with contextlib.nullcontext() if args.json else gha.group(f"modelci gate {config.model.name}"):
        print(f"gating {config.model.name} on {config.data.test.name} from {registry.uri}", file=sys.stderr)
        result = run_gate(config, registry, GateRequest(candidate=args.candidate, baseline=args.baseline))
    url = run_url()
    markdown = render_markdown(result, watermark=watermark(result.model, workflow_name()), run_url=url)
    folder = Path(args.report)
    for warning in write_report(result, folder, markdown):
        gha.warning(warning, title="modelci gate")
    gha.append_summary(markdown)
    gha.set_output("passed", "true" if result.passed else "false")
    gha.set_output("report", str((folder / MARKDOWN_NAME).resolve()))
    gha.set_output("metrics", json.dumps(result.metrics("candidate"), sort_keys=True))

    comment_url = ""
    pr = pull_request_from_env()
    if pr is not None and not token:
        gha.warning("this is a pull request run but no token was given (github-token input, GITHUB_TOKEN or "
                    "MODELCI_GITHUB_TOKEN), so no PR comment or commit status was posted", title="modelci gate")
    elif pr is not None:
        from ..gate.comment import publish
        from ..github.api import GitHubClient

        verdict = "passed" if result.passed else f"failed: {result.failures[0].reason}"
        with GitHubClient(token) as client:
            published = publish(client, pr, model=result.model, workflow=workflow_name(), body=markdown,
                                passed=result.passed, description=f"{result.candidate.ref} {verdict}",
                                target_url=url, comment=comment)
        for warning in published.warnings:
            gha.warning(warning, title="modelci gate")
        comment_url = published.comment_url or ""
    gha.set_output("comment-url", comment_url)

    if args.json:
        print_json(result.to_dict())
    else:
        base = result.baseline.ref if result.baseline else "none"
        print(f"gate {'PASSED' if result.passed else 'FAILED'}: {result.candidate.ref} vs {base} "
              f"on {result.rows} rows; report in {folder}")
        for note in result.notes:
            print(f"  note: {note}")
        for r in result.rules:
            print(f"  [{r.verdict}] {r.rule}: {r.reason}")
    if not result.passed:
        reasons = "; ".join(r.reason for r in result.failures)
        if fail:
            gha.error(f"gate failed for {result.candidate.ref}: {reasons}", title="modelci gate")
            return 1
        gha.warning(f"gate failed for {result.candidate.ref} (not failing the job: fail-on-regression is "
                    f"false): {reasons}", title="modelci gate")
    return 0
