"""What the image says about itself (OCI and modelci labels) and the tags it gets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import UsageError
from ..registry import ModelVersion
from ..registry.records import utcnow

TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
SEMVER_REF = re.compile(r"^refs/tags/v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$")
# registry host (optional), then lowercase path components, as the distribution spec allows
REPOSITORY = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::\d+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
HEADLINE_METRICS = 6


def check_repository(repo: str) -> str:
    if ":" in repo.rsplit("/", 1)[-1] or "@" in repo:
        raise UsageError(f"image repository {repo!r} must not carry a tag or digest; pass tags with --tag, "
                         "e.g. --image ghcr.io/acme/churn --tag latest")
    if not REPOSITORY.match(repo):
        raise UsageError(f"{repo!r} is not an image repository name (lowercase path, optional registry host), "
                         "e.g. ghcr.io/acme/churn or localhost:5000/models/churn")
    return repo


def short_sha(version: ModelVersion, env: Mapping[str, str]) -> str | None:
    sha = str((version.git or {}).get("sha") or env.get("GITHUB_SHA") or "")
    return sha[:7] if re.fullmatch(r"[0-9a-f]{7,64}", sha) else None


def tags_for(version: ModelVersion, extra: list[str], env: Mapping[str, str]) -> list[str]:
    """v<version>, sha-<short sha>, semver tags when the workflow runs for a vX.Y.Z tag, then ``extra``."""
    tags = [f"v{version.version}"]
    sha = short_sha(version, env)
    if sha:
        tags.append(f"sha-{sha}")
    match = SEMVER_REF.match(env.get("GITHUB_REF", ""))
    if match:
        major, minor, patch, pre = match.groups()
        tags.append(f"{major}.{minor}.{patch}{pre or ''}")
        if not pre:
            tags.append(f"{major}.{minor}")
    for tag in extra:
        for item in re.split(r"[\s,]+", tag.strip()):
            if not item:
                continue
            if not TAG.match(item):
                raise UsageError(f"{item!r} is not a valid image tag: letters, digits, '_', '.', '-', "
                                 "at most 128 characters, not starting with '.' or '-'.")
            tags.append(item)
    return list(dict.fromkeys(tags))


def source_url(version: ModelVersion, env: Mapping[str, str]) -> str:
    repo = str((version.git or {}).get("repository") or env.get("GITHUB_REPOSITORY") or "")
    if not repo:
        return ""
    if repo.startswith(("http://", "https://")):
        return repo.removesuffix(".git")
    match = re.match(r"^git@([^:]+):(.+?)(?:\.git)?$", repo)
    if match:
        return f"https://{match.group(1)}/{match.group(2)}"
    server = env.get("GITHUB_SERVER_URL", "https://github.com")
    return f"{server}/{repo}"


def labels_for(version: ModelVersion, metrics: Mapping[str, Any], *, base: str, base_digest: str | None,
               gate: str, env: Mapping[str, str]) -> dict[str, str]:
    """OCI annotations plus ai.modelci.* labels; values are strings, as Docker wants them."""
    revision = str((version.git or {}).get("sha") or env.get("GITHUB_SHA") or "")
    labels = {
        "org.opencontainers.image.title": version.name,
        "org.opencontainers.image.version": str(version.version),
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.source": source_url(version, env),
        "org.opencontainers.image.created": utcnow(),
        "org.opencontainers.image.description": (
            f"{version.name} version {version.version} ({version.task}, {version.flavor}) served by modelci: "
            "MLflow /invocations and Open Inference Protocol V2 on port 8080"),
        "org.opencontainers.image.base.name": base,
        "ai.modelci.model.name": version.name,
        "ai.modelci.model.version": str(version.version),
        "ai.modelci.model.digest": version.artifact_digest,
        "ai.modelci.model.uri": version.uri,
        "ai.modelci.gate": gate,
    }
    if base_digest:
        labels["org.opencontainers.image.base.digest"] = base_digest.rpartition("@")[2]
    for name, value in list(metrics.items())[:HEADLINE_METRICS]:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            labels[f"ai.modelci.metric.{name}"] = f"{float(value):.6g}"
    return {k: v for k, v in labels.items() if v}
