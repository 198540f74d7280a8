"""What the workflow run is about: the pull request (number, head sha) and the repository."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

PR_EVENTS = ("pull_request", "pull_request_target")


@dataclass(frozen=True)
class PullRequest:
    repository: str  # owner/name
    number: int
    head_sha: str


def pull_request_from_env() -> PullRequest | None:
    """The pull request of a ``pull_request`` run, from $GITHUB_EVENT_NAME and $GITHUB_EVENT_PATH.

    None on any other event, or when the event file is missing or not a PR payload.
    """
    if os.environ.get("GITHUB_EVENT_NAME") not in PR_EVENTS:
        return None
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pr = event.get("pull_request") if isinstance(event, dict) else None
    if not isinstance(pr, dict):
        return None
    number = pr.get("number") or event.get("number")
    head = pr.get("head")
    head = head if isinstance(head, dict) else {}
    sha = head.get("sha") or os.environ.get("GITHUB_SHA") or ""
    repo = os.environ.get("GITHUB_REPOSITORY") or (event.get("repository") or {}).get("full_name") or ""
    if not isinstance(number, int) or not repo or "/" not in repo:
        return None
    return PullRequest(repository=repo, number=number, head_sha=str(sha))


def workflow_name() -> str:
    return os.environ.get("GITHUB_WORKFLOW") or "local"


def run_url() -> str | None:
    server = os.environ.get("GITHUB_SERVER_URL") or "https://github.com"
    repo, run = os.environ.get("GITHUB_REPOSITORY"), os.environ.get("GITHUB_RUN_ID")
    return f"{server}/{repo}/actions/runs/{run}" if repo and run else None
