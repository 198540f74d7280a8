"""Record a deploy: the environment alias and a ``deployed`` event in the registry, and a
GitHub Deployment with statuses (in_progress, then success or failure) when a token is there."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import ModelciError
from ..github import actions as gha
from ..registry import ModelVersion, Registry
from .types import DeployResult

if TYPE_CHECKING:
    from ..github.api import GitHubClient


def run_url() -> str | None:
    server = os.environ.get("GITHUB_SERVER_URL") or "https://github.com"
    repo, run_id = os.environ.get("GITHUB_REPOSITORY"), os.environ.get("GITHUB_RUN_ID")
    return f"{server}/{repo}/actions/runs/{run_id}" if repo and run_id else None


def record_deploy(registry: Registry, version: ModelVersion, result: DeployResult) -> None:
    """Move the environment's alias to ``version`` and append a ``deployed`` event."""
    data: dict[str, Any] = {
        "environment": result.environment, "target": result.target, "strategy": result.strategy,
        "phase": result.phase, "revision": result.revision, "url": result.url,
        "previous_version": result.previous_version, "image": result.image,
        "image_digest": image_digest(result.image), "run_url": run_url(),
    }
    registry.record("rolled_back" if result.phase == "rejected" else "deployed", version, data)
    if result.phase in ("deployed", "promoted"):
        registry.set_alias(version.name, result.environment, version.version,
                           reason=f"deployed to {result.environment} (revision {result.revision})")


def image_digest(image: str | None) -> str | None:
    if image and "@" in image:
        return image.rsplit("@", 1)[1]
    return None


class GitHubDeployment:
    """A GitHub Deployment of one ref to one environment; a no-op without token or repository.

    GitHub being down never fails a deploy that worked: errors become warnings.
    """

    def __init__(self, token: str | None, environment: str) -> None:
        self.repository = os.environ.get("GITHUB_REPOSITORY")
        self.ref = os.environ.get("GITHUB_SHA") or os.environ.get("GITHUB_REF")
        self.environment = environment
        self.id: int | None = None
        self._client: GitHubClient | None = None
        if token and self.repository and self.ref:
            from ..github.api import GitHubClient

            self._client = GitHubClient(token)

    def start(self, payload: dict[str, Any], description: str) -> None:
        if self._client is None:
            return
        body: dict[str, Any] = {
            "ref": self.ref, "environment": self.environment, "auto_merge": False, "required_contexts": [],
            "payload": payload, "description": description[:140], "transient_environment": False,
            "production_environment": self.environment in ("production", "prod"),
        }
        try:
            resp = self._client.request("POST", f"/repos/{self.repository}/deployments", json=body)
            self.id = int(resp.data["id"])
            self.status("in_progress", description)
        except (ModelciError, KeyError, TypeError, ValueError) as exc:
            gha.warning(f"could not create a GitHub Deployment for {self.environment}: {exc}",
                        title="modelci deploy")
            self.id = None

    def status(self, state: str, description: str, environment_url: str | None = None) -> None:
        if self._client is None or self.id is None:
            return
        body: dict[str, Any] = {"state": state, "description": description[:140],
                                "environment": self.environment, "auto_inactive": True}
        if run_url():
            body["log_url"] = run_url()
        if environment_url:
            body["environment_url"] = environment_url
        try:
            self._client.request("POST", f"/repos/{self.repository}/deployments/{self.id}/statuses", json=body)
        except ModelciError as exc:
            gha.warning(f"could not set the GitHub Deployment status to {state}: {exc}", title="modelci deploy")
