"""Promote a model version from one registry to another (dev -> prod), keeping its lineage.

Like MLflow's ``copy_model_version``: the destination allocates its own next version
number; the record keeps everything else (digest, metrics, data fingerprints, git) and
adds ``extra.copied_from`` naming the source registry, version and digest.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..refs import ModelRef
from .base import Registry
from .records import ModelVersion, VersionDraft


@dataclass(frozen=True)
class CopyResult:
    source: ModelVersion
    copy: ModelVersion
    source_uri: str
    destination_uri: str


def copy_version(source: Registry, ref: ModelRef, destination: Registry, *, name: str | None = None) -> CopyResult:
    """Copy the version ``ref`` names; the artifact is verified before it leaves ``source``."""
    version = source.resolve(ref)
    destination.check_writable()
    artifact = source.verified_artifact(version)
    lineage: dict[str, object] = {
        "registry": source.uri, "model": version.name, "version": version.version,
        "uri": version.uri, "digest": version.artifact_digest, "created_at": version.created_at,
        "created_by": version.created_by,
    }
    if "copied_from" in version.extra:  # a copy of a copy keeps the whole chain
        lineage["copied_from"] = version.extra["copied_from"]
    draft = VersionDraft(
        name=name or version.name, flavor=version.flavor, task=version.task, signature=version.signature,
        input_example=version.input_example, params=version.params, metrics=version.metrics,
        data=version.data, git=version.git, packages=version.packages,
        extra={**version.extra, "copied_from": lineage},
    )
    copy = destination.register(draft, artifact)
    return CopyResult(source=version, copy=copy, source_uri=source.uri, destination_uri=destination.uri)
