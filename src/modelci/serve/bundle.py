"""A model bundle: one registered version as a self-contained folder.

    BUNDLE/model.json          the version record (ModelVersion.to_dict())
    BUNDLE/sha256-<hex>        the artifact, named by its digest

``modelci serve --model BUNDLE`` (and every published image) serves it without
a registry; the artifact's digest and size are checked against the record
before it is unpickled.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..errors import IntegrityError, UsageError
from ..registry import ModelVersion, Registry, sha256_file

RECORD = "model.json"


def artifact_name(version: ModelVersion) -> str:
    algo, _, hexdigest = version.artifact_digest.partition(":")
    return f"{algo}-{hexdigest}"


def export_bundle(registry: Registry, version: ModelVersion, dest: Path) -> Path:
    """Write ``version`` (verified first) as a bundle in ``dest``; returns ``dest``."""
    source = registry.verified_artifact(version)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / artifact_name(version)
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    record = json.dumps(version.to_dict(), indent=2, sort_keys=True, default=str) + "\n"
    (dest / RECORD).write_text(record)
    return dest


def is_bundle(path: Path) -> bool:
    return (path / RECORD).is_file() or (path.name == RECORD and path.is_file())


def load_bundle(path: Path) -> tuple[ModelVersion, Path]:
    """The bundle's record and its artifact path, after the artifact matched the record."""
    folder = path.parent if path.name == RECORD and path.is_file() else path
    record_path = folder / RECORD
    try:
        raw = json.loads(record_path.read_text())
        version = ModelVersion.from_dict(raw)
    except FileNotFoundError:
        raise UsageError(f"{folder} is not a model bundle: it has no {RECORD}. Make one with "
                         "modelci.serve.bundle.export_bundle, or pass a registry reference such as churn:3.") from None
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{record_path} is not a valid model record: {exc}") from None
    artifact = folder / artifact_name(version)
    if not artifact.is_file():
        raise IntegrityError(f"bundle {folder}: the artifact {artifact.name} named by {RECORD} is missing.")
    digest, size = sha256_file(artifact)
    if digest != version.artifact_digest or size != version.artifact_size:
        raise IntegrityError(
            f"bundle {folder}: {artifact.name} does not match its record (expected {version.artifact_digest}, "
            f"{version.artifact_size} bytes; found {digest}, {size} bytes). It was changed after export, so "
            "modelci refuses to load it. Export the bundle again from the registry."
        )
    return version, artifact
