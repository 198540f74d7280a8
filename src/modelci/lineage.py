"""Where a model came from: git, CI run, package versions."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("modelci", "scikit-learn", "numpy", "pandas", "scipy", "joblib", "pyarrow")


def git_info(cwd: Path) -> dict[str, Any]:
    """Commit, ref, repository and run URL, from GitHub's variables or from git itself."""
    env = os.environ
    info: dict[str, Any] = {
        "sha": env.get("GITHUB_SHA"), "ref": env.get("GITHUB_REF"),
        "repository": env.get("GITHUB_REPOSITORY"), "run_url": None, "commit_time": None,
        "dirty": None,
    }
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        info["run_url"] = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    elif env.get("BUILD_URL"):  # Jenkins
        info["run_url"] = env["BUILD_URL"]
    elif env.get("TRAVIS_BUILD_WEB_URL"):
        info["run_url"] = env["TRAVIS_BUILD_WEB_URL"]

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    info["sha"] = info["sha"] or git("rev-parse", "HEAD")
    if info["sha"]:
        info["commit_time"] = git("show", "-s", "--format=%cI", info["sha"])
    if not info["ref"]:
        branch = git("symbolic-ref", "-q", "HEAD")
        info["ref"] = branch
    if not info["repository"]:
        info["repository"] = git("config", "--get", "remote.origin.url")
    status = git("status", "--porcelain", "--untracked-files=no")
    info["dirty"] = bool(status) if status is not None else None
    return info


def package_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found
