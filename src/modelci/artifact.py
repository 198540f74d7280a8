"""Model artifacts: how a fitted estimator becomes bytes, and back, safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import UsageError
from .registry import ModelVersion, Registry

FLAVOR = "sklearn"
ARTIFACT_NAME = "model.joblib"


def save_model(estimator: Any, path: Path) -> None:
    import joblib

    joblib.dump(estimator, path, compress=("zlib", 3))


def load_model(registry: Registry, version: ModelVersion) -> Any:
    """Load a registered model; its bytes are verified against the record first."""
    if version.flavor != FLAVOR:
        raise UsageError(f"{version.ref} has flavor {version.flavor!r}; this modelci loads {FLAVOR!r}.")
    path = registry.verified_artifact(version)
    return load_verified_file(path)


def load_verified_file(path: Path) -> Any:
    """Unpickle a file whose digest the caller has already checked."""
    import joblib

    return joblib.load(path)
