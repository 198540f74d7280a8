"""How verification reaches a deployed version, whatever the target.

A target (the local process, a Kubernetes Service through the API server's
proxy) implements this protocol; smoke tests and the monitoring window only
ever talk to it.
"""

from __future__ import annotations

from typing import Protocol


class Probe(Protocol):
    def call(self, method: str, path: str, body: bytes | None = None,
             content_type: str = "application/json") -> tuple[int, bytes]:
        """One request to the service under test; (status, body). Raises InfrastructureError."""

    def metrics_texts(self) -> list[str]:
        """The /metrics text of every serving process of the version under test."""

    def describe(self) -> str:
        """Where the probe points, for messages (e.g. http://127.0.0.1:8080)."""
