"""deploy: put a model version in an environment (Kubernetes or a local process) and record it.

Entry point: :func:`modelci.deploy.run.deploy`. Kubernetes modules import the official
``kubernetes`` client lazily, so the local target and ``modelci --help`` never load it.
"""

from __future__ import annotations

from .types import DeployRequest, DeployResult

__all__ = ["DeployRequest", "DeployResult"]
