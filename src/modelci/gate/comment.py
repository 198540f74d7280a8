"""Publish a gate result on a pull request: one sticky comment per model, and a commit status.

The comment carries a hidden watermark naming the model and the workflow, so a
re-run finds its own comment and edits it in place instead of adding another.
A fork's read-only token answers 403 (a token without access to a private repository,
404): that is a warning, never the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..github.api import GitHubClient, GitHubHTTPError
from ..github.event import PullRequest

NO_ACCESS = (403, 404)
MAX_COMMENT = 65_000  # GitHub rejects bodies over 65,536 characters
STATUS_CONTEXT = "modelci/gate/{model}"


def watermark(model: str, workflow: str) -> str:
    """The hidden marker of our comment; the workflow name cannot close the HTML comment early."""
    safe = " ".join(workflow.replace("--", "-").replace(">", "").split())
    return f"<!-- modelci:gate model={model} workflow={safe} -->"


@dataclass(frozen=True)
class Published:
    comment_url: str | None
    status_posted: bool
    warnings: tuple[str, ...]


def publish(client: GitHubClient, pr: PullRequest, *, model: str, workflow: str, body: str, passed: bool,
            description: str, target_url: str | None, comment: bool = True) -> Published:
    """Create or update the sticky comment (when ``comment``), then post the commit status."""
    warnings: list[str] = []
    url = None
    if comment:
        try:
            url = upsert_comment(client, pr, watermark(model, workflow), body)
        except GitHubHTTPError as exc:
            if exc.status not in NO_ACCESS:
                raise
            warnings.append(f"could not comment on pull request #{pr.number} (HTTP {exc.status}: the token is "
                            "read-only, as on pull requests from forks, or lacks pull-requests: write); the gate "
                            "verdict still decides this job")
    posted = False
    if pr.head_sha:
        try:
            post_status(client, pr, model, passed, description=description, target_url=target_url)
            posted = True
        except GitHubHTTPError as exc:
            if exc.status not in NO_ACCESS:
                raise
            warnings.append(f"could not set the commit status {STATUS_CONTEXT.format(model=model)} (HTTP "
                            f"{exc.status}: read-only token or missing statuses: write); the gate verdict still "
                            "decides this job")
    return Published(url, posted, tuple(warnings))


def upsert_comment(client: GitHubClient, pr: PullRequest, mark: str, body: str) -> str | None:
    """Edit the comment holding ``mark``, or create it; returns its html_url."""
    text = _fit(body if mark in body else f"{mark}\n{body}")
    base = f"/repos/{pr.repository}/issues"
    for existing in client.paginate(f"{base}/{pr.number}/comments"):
        if mark in str(existing.get("body") or ""):
            resp = client.request("PATCH", f"{base}/comments/{existing['id']}", json={"body": text})
            return _html_url(resp.data) or existing.get("html_url")
    resp = client.request("POST", f"{base}/{pr.number}/comments", json={"body": text})
    return _html_url(resp.data)


def post_status(client: GitHubClient, pr: PullRequest, model: str, passed: bool, *, description: str,
                target_url: str | None) -> None:
    payload = {"state": "success" if passed else "failure", "context": STATUS_CONTEXT.format(model=model),
               "description": description[:140]}
    if target_url:
        payload["target_url"] = target_url
    client.request("POST", f"/repos/{pr.repository}/statuses/{pr.head_sha}", json=payload)


def _html_url(data: object) -> str | None:
    if isinstance(data, dict):
        url = data.get("html_url")
        return str(url) if url else None
    return None


def _fit(body: str) -> str:
    if len(body) <= MAX_COMMENT:
        return body
    note = "\n\n… (truncated; the full report is in the job summary and the report artifact)\n"
    return body[: MAX_COMMENT - len(note)] + note
