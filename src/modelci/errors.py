"""The one exception hierarchy of modelci.

Each subclass carries the exit code the CLI maps it to, so a stage raises the
error that describes what went wrong and never thinks about exit codes itself.
"""

from __future__ import annotations


class ModelciError(Exception):
    """Base of every error modelci reports to a user."""

    exit_code = 2
    title = "modelci failed"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n{self.hint}"
        return self.message


class UsageError(ModelciError):
    """Bad arguments or input from the user (exit 2)."""

    title = "Invalid input"


class ConfigError(UsageError):
    """modelci.yaml (or a --set override) is not valid."""

    title = "Invalid configuration"


class DataError(UsageError):
    """The data files named by the config cannot be used."""

    title = "Invalid data"


class ReferenceNotFound(UsageError):
    """A model reference names a model, version or alias that does not exist."""

    title = "Model reference not found"


class IntegrityError(ModelciError):
    """A stored artifact does not match its record (tampering or corruption)."""

    exit_code = 2
    title = "Artifact integrity check failed"


class InfrastructureError(ModelciError):
    """The outside world failed after retries: registry, docker, cluster, GitHub."""

    exit_code = 3
    title = "Infrastructure failure"


class VerdictFailed(ModelciError):
    """A check ran and said no: the gate failed, verification failed."""

    exit_code = 1
    title = "Check failed"
