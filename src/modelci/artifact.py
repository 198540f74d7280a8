"""Model artifacts: how a fitted estimator becomes bytes, and back, safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import UsageError
from .registry import ModelVersion, Registry

FLAVOR = "sklearn"
ARTIFACT_NAME = "model.joblib"


def save_model(estimator: Any, path: Path, *, project: Path | None = None) -> list[str]:
    """Dump the estimator to ``path``; returns the project modules shipped with it (see model_code).

    With ``project`` (the folder of the pipeline file), modules of that folder the pickle
    refers to go into the artifact too, so the model unpickles wherever it is served.
    """
    import joblib

    modules = {}
    if project is not None:
        from .model_code import project_modules, referenced_modules

        modules = referenced_modules(estimator, project_modules(project))
    if not modules:
        joblib.dump(estimator, path, compress=("zlib", 3))
        return []
    from .model_code import write_with_code

    plain = path.with_name(path.name + ".plain")
    joblib.dump(estimator, plain, compress=("zlib", 3))
    write_with_code(plain, modules, project or path.parent, path)
    plain.unlink()
    return sorted(modules)


def load_model(registry: Registry, version: ModelVersion) -> Any:
    """Load a registered model; its bytes are verified against the record first."""
    if version.flavor != FLAVOR:
        raise UsageError(f"{version.ref} has flavor {version.flavor!r}; this modelci loads {FLAVOR!r}.")
    path = registry.verified_artifact(version)
    return load_verified_file(path)


def load_verified_file(path: Path) -> Any:
    """Unpickle a file whose digest the caller has already checked."""
    import zipfile

    if zipfile.is_zipfile(path):
        from .model_code import load_with_code

        return load_with_code(path)
    import joblib

    return joblib.load(path)
