"""The shared registry: any OCI distribution registry (ghcr.io, Harbor, ECR, distribution).

A model version is an OCI artifact tagged ``v<N>`` in ``NAMESPACE/NAME``; aliases and
events are tags too (see oci_manifests). Registries offer no compare-and-swap and
overwrite tags last-writer-wins, so a version number is won by claim, settle and read
back, a timed mutual exclusion explained in docs/registry-oci.md.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from ..errors import InfrastructureError, IntegrityError, UsageError
from .base import Registry
from .oci_address import OciAddress, parse_oci_uri
from .oci_client import Descriptor, DistributionClient, Manifest
from .oci_manifests import (
    ALIAS,
    ARTIFACT,
    CLAIM_TAG,
    EMPTY_BYTES,
    EVENT,
    EVENT_TAG,
    INDEX_REPOSITORY,
    INPUT_EXAMPLE,
    MODEL,
    OUR_TAG,
    VERSION_TAG,
    alias_manifest,
    annotation,
    claim_manifest,
    empty,
    event_manifest,
    index_manifest,
    kind_of,
    version_manifest,
)
from .records import Event, ModelVersion, VersionDraft, utcnow

_MAX_CLAIMS = 1000
_READERS = 8
_T = TypeVar("_T")
_R = TypeVar("_R")
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class OciRegistry(Registry):
    def __init__(self, address: OciAddress, client: DistributionClient | None = None,
                 settle_s: float | None = None) -> None:
        self.address = address
        self.uri = address.uri
        self.client = client or DistributionClient(address.base_url, address.host)
        self.settle_s = settle_s if settle_s is not None else float(os.environ.get("MODELCI_OCI_SETTLE_S", "0.5"))
        self._empty_in: set[str] = set()  # repositories known to hold the empty blob

    @classmethod
    def from_uri(cls, uri: str) -> OciRegistry:
        return cls(parse_oci_uri(uri))

    # -- helpers -----------------------------------------------------------
    def _repo(self, name: str) -> str:
        return self.address.repository(name)

    @property
    def _index(self) -> str:
        return f"{self.address.namespace}/{INDEX_REPOSITORY}"

    def _empty(self, repo: str) -> Descriptor:
        if repo not in self._empty_in:
            self.client.push_blob(repo, EMPTY_BYTES, "application/vnd.oci.empty.v1+json")
            self._empty_in.add(repo)
        from .oci_client import sha256_bytes

        return empty(sha256_bytes(EMPTY_BYTES))

    def _foreign(self, repo: str, what: str) -> UsageError:
        return UsageError(
            f"{self.address.host}/{repo} holds {what}, not a modelci model. Point the registry URI "
            f"at a namespace of its own (e.g. oci://{self.address.host}/{self.address.namespace}/models) "
            "or rename the model."
        )

    def _tags(self, repo: str) -> list[str]:
        return self.client.list_tags(repo)

    def _check_ours(self, repo: str, manifest: Manifest, expected: str) -> None:
        kind = kind_of(manifest)
        if kind != expected:
            raise self._foreign(repo, f"an artifact of type {kind}")

    # -- primitives --------------------------------------------------------
    def check_writable(self) -> None:
        """Start (then cancel) a blob upload: proves the host answers and we may push."""
        repo = self._index
        started = self.client.request("POST", f"/v2/{repo}/blobs/uploads/", repo=repo, ok=(202,))
        location = started.headers.get("Location")
        if started.status_code != 202 or not location:
            raise InfrastructureError(f"the OCI registry {self.address.host} does not accept uploads to "
                                      f"{repo} (HTTP {started.status_code}).")
        self.client.request("DELETE", location, repo=repo, ok=(200, 202, 204, 400, 405))

    def register(self, draft: VersionDraft, artifact: Path) -> ModelVersion:
        repo = self._repo(draft.name)
        tags = self._tags(repo)
        if tags and not any(OUR_TAG.match(t) for t in tags):
            raise self._foreign(repo, f"tags {', '.join(sorted(tags)[:3])}")
        blob = self.client.push_blob(repo, artifact, ARTIFACT)
        example_bytes = json.dumps(draft.input_example, sort_keys=True, default=str).encode()
        example = self.client.push_blob(repo, example_bytes, INPUT_EXAMPLE)
        self._ensure_indexed(draft.name)
        claim = uuid.uuid4().hex
        numbers = [int(m.group(1)) for t in tags for m in [VERSION_TAG.match(t) or CLAIM_TAG.match(t)] if m]
        number = max(numbers, default=0) + 1
        for _ in range(_MAX_CLAIMS):
            if not self._claim(repo, draft.name, number, claim):
                number += 1
                continue
            record = ModelVersion.from_draft(draft, number, blob.digest, blob.size)
            config = self.client.push_blob(repo, _record_bytes(record), MODEL)
            manifest = version_manifest(config, blob, example, name=draft.name, version=number,
                                        git_sha=record.git.get("sha"), created=record.created_at, claim=claim)
            self.client.put_manifest(repo, f"v{number}", manifest)
            time.sleep(self.settle_s)
            written = self.client.get_manifest(repo, f"v{number}")
            if written is None or annotation(written, "claim") != claim:
                number += 1  # a writer that also believed it won N overwrote us: it keeps N
                continue
            self.record("registered", record, {
                "digest": blob.digest, "size": blob.size, "metrics": dict(record.metrics),
                "git_sha": record.git.get("sha"), "commit_time": record.git.get("commit_time"),
            })
            return record
        raise InfrastructureError(f"could not claim a version number of {draft.name} in {self.uri} "
                                  f"after {_MAX_CLAIMS} tries; is something rewriting its claim tags?")

    def _claim(self, repo: str, name: str, number: int, claim: str) -> bool:
        """Fischer's timed mutual exclusion on the tag ``claim-v<N>``: True when we own N."""
        started = time.monotonic()
        if self.client.get_manifest(repo, f"claim-v{number}") is not None:
            return False
        if self.client.get_manifest(repo, f"v{number}") is not None:
            return False
        self.client.put_manifest(repo, f"claim-v{number}", claim_manifest(
            self._empty(repo), name=name, version=number, claim=claim, at=utcnow()))
        # Anyone who saw the tag free put their claim within the time we took; wait longer
        # than that so the last of those claims has landed, then see whose claim stands.
        time.sleep(max(self.settle_s, 2 * (time.monotonic() - started)))
        standing = self.client.get_manifest(repo, f"claim-v{number}")
        if standing is None or annotation(standing, "claim") != claim:
            return False
        # A slow claimer may still overwrite a winner's claim after it read it back; the
        # winner publishes v<N> at once, so a claimer that finds v<N> there has lost.
        return self.client.get_manifest(repo, f"v{number}") is None

    def _ensure_indexed(self, name: str) -> None:
        tag = f"model-{name}"
        if self.client.get_manifest(self._index, tag) is None:
            self.client.put_manifest(self._index, tag, index_manifest(self._empty(self._index), name=name))

    def list_models(self) -> list[str]:
        return sorted(t[len("model-"):] for t in self._tags(self._index) if t.startswith("model-"))

    def version_numbers(self, name: str) -> list[int]:
        tags = self._tags(self._repo(name))
        return sorted(int(m.group(1)) for t in tags if (m := VERSION_TAG.match(t)))

    def _read_version(self, name: str, version: int) -> ModelVersion | None:
        repo = self._repo(name)
        manifest = self.client.get_manifest(repo, f"v{version}")
        if manifest is None:
            return None
        self._check_ours(repo, manifest, MODEL)
        config = manifest.body.get("config") or {}
        raw = json.loads(self.client.fetch_small_blob(repo, str(config.get("digest"))))
        record = ModelVersion.from_dict(raw)
        if record.name != name or record.version != version:
            raise IntegrityError(f"{self.address.host}/{repo}:v{version} holds the record of "
                                 f"{record.ref}; the tag was moved by hand. Restore it or re-register.")
        return record

    def list_versions(self, name: str, limit: int | None = None) -> list[ModelVersion]:
        """Newest first, like the base class, but records are fetched a few at a time."""
        numbers = sorted(self.version_numbers(name), reverse=True)
        if limit is not None:
            numbers = numbers[:limit]
        found = _parallel(lambda n: self._read_version(name, n), numbers)
        return [v for v in found if v is not None]

    def aliases(self, name: str) -> dict[str, int]:
        repo = self._repo(name)
        tags = [t for t in self._tags(repo) if t.startswith("alias-")]
        numbers = _parallel(lambda tag: self._alias_from_tag(repo, tag), tags)
        return dict(sorted((t[len("alias-"):], n) for t, n in zip(tags, numbers, strict=True) if n is not None))

    def alias_version(self, name: str, alias: str) -> int | None:
        repo = self._repo(name)
        return self._alias_from_tag(repo, f"alias-{alias}")

    def _alias_from_tag(self, repo: str, tag: str) -> int | None:
        manifest = self.client.get_manifest(repo, tag)
        if manifest is None:
            return None
        self._check_ours(repo, manifest, ALIAS)
        value = annotation(manifest, "version")
        return int(value) if value and value.isdigit() else None

    def _write_alias(self, name: str, alias: str, version: int | None) -> None:
        repo = self._repo(name)
        self.client.put_manifest(repo, f"alias-{alias}", alias_manifest(
            self._empty(repo), name=name, alias=alias, version=version, nonce=uuid.uuid4().hex, at=utcnow()))

    def append_event(self, event: Event) -> Event:
        repo = self._repo(event.model)
        ident = event.id if _SAFE_ID.match(event.id) else uuid.uuid5(uuid.NAMESPACE_URL, event.id).hex
        # time_ns keeps tags in order of creation; the id makes them unique, so no tag is
        # ever written twice and concurrent writers cannot overwrite each other's events.
        self.client.put_manifest(repo, f"event-{time.time_ns():020d}-{ident}",
                                 event_manifest(self._empty(repo), event.to_dict()))
        return event

    def events(self, name: str | None = None, limit: int | None = None) -> list[Event]:
        models = [name] if name else self.list_models()
        found: list[tuple[str, str]] = []
        for model in models:
            repo = self._repo(model)
            found.extend((tag, repo) for tag in self._tags(repo) if EVENT_TAG.match(tag))
        found.sort()
        if limit is not None:
            found = found[-limit:] if limit > 0 else []
        return [e for e in _parallel(lambda item: self._read_event(item[1], item[0]), found) if e is not None]

    def _read_event(self, repo: str, tag: str) -> Event | None:
        manifest = self.client.get_manifest(repo, tag)
        if manifest is None:
            return None
        self._check_ours(repo, manifest, EVENT)
        raw = annotation(manifest, "event")
        return Event.from_dict(json.loads(raw)) if raw else None

    def _artifact_path(self, version: ModelVersion) -> Path:
        return self.client.fetch_blob(self._repo(version.name), version.artifact_digest)

    def verified_artifact(self, version: ModelVersion) -> Path:
        """As the base class, but a damaged cache copy is dropped and downloaded once more."""
        try:
            return super().verified_artifact(version)
        except IntegrityError:
            self.client.cached_blob(version.artifact_digest).unlink(missing_ok=True)
        return super().verified_artifact(version)


def _parallel(fn: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """``[fn(x) for x in items]`` with a few requests in flight (reads are independent)."""
    if len(items) < 2:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(_READERS, len(items))) as pool:
        return list(pool.map(fn, items))


def _record_bytes(record: ModelVersion) -> bytes:
    return json.dumps(record.to_dict(), indent=2, sort_keys=True, default=str).encode() + b"\n"
