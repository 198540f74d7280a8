"""The OCI artifacts modelci stores: media types, tag names and manifest builders.

Per model, the repository ``NAMESPACE/NAME`` holds these tags:

    v<N>                    the version record (config) + artifact and input example (layers)
    claim-v<N>              who claimed version number N (see docs/registry-oci.md)
    alias-<alias>           the alias's current version (or a tombstone once deleted)
    event-<ns time>-<id>    one immutable tag per event, the event JSON in an annotation

and ``NAMESPACE/modelci.index`` has a tag ``model-<name>`` per model, so models can be
listed on registries without ``/v2/_catalog`` (ghcr.io has none). Model names cannot
contain '.', so the index can never collide with a model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .oci_client import Descriptor, Manifest

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MODEL = "application/vnd.modelci.model.v1+json"  # artifactType and the config (version record)
ARTIFACT = "application/vnd.modelci.model.artifact.v1"
INPUT_EXAMPLE = "application/vnd.modelci.input-example.v1+json"
CLAIM = "application/vnd.modelci.claim.v1+json"
ALIAS = "application/vnd.modelci.alias.v1+json"
EVENT = "application/vnd.modelci.event.v1+json"
INDEX_ENTRY = "application/vnd.modelci.index-entry.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY_BYTES = b"{}"

INDEX_REPOSITORY = "modelci.index"
KEY = "org.modelci"
VERSION_TAG = re.compile(r"^v(\d+)$")
CLAIM_TAG = re.compile(r"^claim-v(\d+)$")
EVENT_TAG = re.compile(r"^event-\d{20}-[A-Za-z0-9_.-]+$")
OUR_TAG = re.compile(r"^(?:v\d+|claim-v\d+|alias-.+|event-.+)$")


def _manifest(artifact_type: str, config: Descriptor, layers: list[dict[str, Any]],
              annotations: Mapping[str, str]) -> dict[str, Any]:
    return {
        "schemaVersion": 2, "mediaType": MANIFEST, "artifactType": artifact_type,
        "config": config.to_dict(), "layers": layers, "annotations": dict(annotations),
    }


def empty(digest: str) -> Descriptor:
    return Descriptor(EMPTY, digest, len(EMPTY_BYTES))


def version_manifest(config: Descriptor, artifact: Descriptor, example: Descriptor, *, name: str,
                     version: int, git_sha: str | None, created: str, claim: str) -> dict[str, Any]:
    return _manifest(MODEL, config, [
        artifact.to_dict({"org.opencontainers.image.title": "model.joblib"}),
        example.to_dict({"org.opencontainers.image.title": "input_example.json"}),
    ], {
        f"{KEY}.name": name, f"{KEY}.version": str(version), f"{KEY}.git.sha": git_sha or "",
        f"{KEY}.claim": claim, "org.opencontainers.image.created": created,
    })


def claim_manifest(empty_blob: Descriptor, *, name: str, version: int, claim: str, at: str) -> dict[str, Any]:
    return _manifest(CLAIM, empty_blob, [empty_blob.to_dict()], {
        f"{KEY}.name": name, f"{KEY}.version": str(version), f"{KEY}.claim": claim,
        "org.opencontainers.image.created": at,
    })


def alias_manifest(empty_blob: Descriptor, *, name: str, alias: str, version: int | None, nonce: str,
                   at: str) -> dict[str, Any]:
    """``version`` None is a tombstone: the alias was deleted (tags cannot be deleted portably)."""
    return _manifest(ALIAS, empty_blob, [empty_blob.to_dict()], {
        f"{KEY}.name": name, f"{KEY}.alias": alias,
        f"{KEY}.version": "" if version is None else str(version), f"{KEY}.nonce": nonce,
        "org.opencontainers.image.created": at,
    })


def event_manifest(empty_blob: Descriptor, event: Mapping[str, Any]) -> dict[str, Any]:
    return _manifest(EVENT, empty_blob, [empty_blob.to_dict()], {
        f"{KEY}.event": json.dumps(event, sort_keys=True, default=str),
        "org.opencontainers.image.created": str(event.get("at", "")),
    })


def index_manifest(empty_blob: Descriptor, *, name: str) -> dict[str, Any]:
    return _manifest(INDEX_ENTRY, empty_blob, [empty_blob.to_dict()], {f"{KEY}.name": name})


def kind_of(manifest: Manifest) -> str:
    """The modelci artifact type of a fetched manifest, or what else it is."""
    body = manifest.body
    artifact_type = body.get("artifactType")
    if isinstance(artifact_type, str) and artifact_type:
        return artifact_type
    config = body.get("config")
    if isinstance(config, dict) and isinstance(config.get("mediaType"), str):
        return str(config["mediaType"])
    return manifest.media_type or "unknown"


def annotation(manifest: Manifest, key: str) -> str | None:
    value = manifest.annotations.get(f"{KEY}.{key}")
    return value if isinstance(value, str) else None
