"""The registry interface every backend implements, and the logic they share."""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import IntegrityError, ReferenceNotFound
from ..refs import ModelRef, check_alias_name
from .records import AliasChange, Event, ModelVersion, VersionDraft

CHUNK = 1 << 20


def sha256_file(path: Path) -> tuple[str, int]:
    """Return ("sha256:<hex>", size) of a file, reading it in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return f"sha256:{digest.hexdigest()}", size


class Registry(abc.ABC):
    """Versions (immutable), aliases (mutable, with history in events), events (append-only).

    Backends implement the storage primitives; resolution, alias history and
    artifact verification live here so that every backend behaves the same.
    """

    uri: str

    # -- primitives --------------------------------------------------------
    @abc.abstractmethod
    def check_writable(self) -> None:
        """Raise a clear error now if a later write would fail (before any work starts)."""

    @abc.abstractmethod
    def register(self, draft: VersionDraft, artifact: Path) -> ModelVersion:
        """Store the artifact, allocate the next version atomically, record ``registered``."""

    @abc.abstractmethod
    def list_models(self) -> list[str]: ...

    @abc.abstractmethod
    def version_numbers(self, name: str) -> list[int]:
        """Every registered version of ``name``, ascending."""

    @abc.abstractmethod
    def _read_version(self, name: str, version: int) -> ModelVersion | None: ...

    @abc.abstractmethod
    def aliases(self, name: str) -> dict[str, int]: ...

    @abc.abstractmethod
    def _write_alias(self, name: str, alias: str, version: int | None) -> None: ...

    @abc.abstractmethod
    def append_event(self, event: Event) -> Event: ...

    @abc.abstractmethod
    def events(self, name: str | None = None, limit: int | None = None) -> list[Event]:
        """Events oldest first; with ``limit``, the newest ``limit`` of them."""

    @abc.abstractmethod
    def _artifact_path(self, version: ModelVersion) -> Path:
        """A local file holding the artifact bytes (downloaded if needed), unverified."""

    # -- shared behaviour --------------------------------------------------
    def get_version(self, name: str, version: int) -> ModelVersion:
        found = self._read_version(name, version)
        if found is None:
            raise ReferenceNotFound(self._missing_version_message(name, version))
        return found

    def latest(self, name: str) -> ModelVersion | None:
        numbers = self.version_numbers(name)
        return self.get_version(name, numbers[-1]) if numbers else None

    def list_versions(self, name: str, limit: int | None = None) -> list[ModelVersion]:
        """Newest first; ``limit`` None means all."""
        numbers = sorted(self.version_numbers(name), reverse=True)
        if limit is not None:
            numbers = numbers[:limit]
        found = (self._read_version(name, n) for n in numbers)
        return [v for v in found if v is not None]

    def alias_version(self, name: str, alias: str) -> int | None:
        return self.aliases(name).get(alias)

    def resolve(self, ref: ModelRef) -> ModelVersion:
        if ref.alias:
            number = self.alias_version(ref.name, ref.alias)
            if number is None and not self.version_numbers(ref.name):
                raise ReferenceNotFound(f"{ref}: " + self._missing_model_message(ref.name))
            if number is None:
                known = sorted(self.aliases(ref.name))
                hint = f" Existing aliases: {', '.join(known)}." if known else " It has no aliases yet."
                raise ReferenceNotFound(
                    f"{ref}: model {ref.name!r} has no alias {ref.alias!r} in {self.uri}.{hint} "
                    f"Set one with: modelci registry alias {ref.alias} {ref.name}:VERSION"
                )
            return self.get_version(ref.name, number)
        if ref.version is not None:
            return self.get_version(ref.name, ref.version)
        newest = self.latest(ref.name)
        if newest is None:
            raise ReferenceNotFound(self._missing_model_message(ref.name))
        return newest

    def set_alias(self, name: str, alias: str, version: int, reason: str = "") -> AliasChange:
        check_alias_name(alias)
        self.get_version(name, version)
        previous = self.alias_version(name, alias)
        self._write_alias(name, alias, version)
        data: dict[str, Any] = {"alias": alias, "previous": previous}
        if reason:
            data["reason"] = reason
        self.append_event(Event(kind="alias_set", model=name, version=version, data=data))
        return AliasChange(model=name, alias=alias, version=version, previous=previous)

    def delete_alias(self, name: str, alias: str, reason: str = "") -> AliasChange:
        previous = self.alias_version(name, alias)
        if previous is None:
            raise ReferenceNotFound(f"model {name!r} has no alias {alias!r} in {self.uri}.")
        self._write_alias(name, alias, None)
        data: dict[str, Any] = {"alias": alias, "previous": previous}
        if reason:
            data["reason"] = reason
        self.append_event(Event(kind="alias_deleted", model=name, version=None, data=data))
        return AliasChange(model=name, alias=alias, version=None, previous=previous)

    def record(self, kind: str, version: ModelVersion, data: Mapping[str, Any]) -> Event:
        return self.append_event(Event(kind=kind, model=version.name, version=version.version,
                                       data=dict(data)))

    def verified_artifact(self, version: ModelVersion) -> Path:
        """The artifact's local path, after its bytes matched the record's digest."""
        path = self._artifact_path(version)
        digest, size = sha256_file(path)
        if digest != version.artifact_digest or size != version.artifact_size:
            raise IntegrityError(
                f"{version.ref}: the stored artifact does not match its record "
                f"(expected {version.artifact_digest}, {version.artifact_size} bytes; found "
                f"{digest}, {size} bytes). It was changed after registration, so modelci refuses "
                "to load it. Re-register the model (modelci train) or restore the original file."
            )
        return path

    def _missing_version_message(self, name: str, version: int) -> str:
        numbers = self.version_numbers(name)
        if not numbers:
            return self._missing_model_message(name)
        return (f"{name}:{version} does not exist in {self.uri}; {name} has versions "
                f"{numbers[0]}..{numbers[-1]}. List them with: modelci registry list {name}")

    def _missing_model_message(self, name: str) -> str:
        models = self.list_models()
        known = f" Registered models: {', '.join(models)}." if models else " The registry is empty."
        return (f"model {name!r} has no versions in {self.uri}.{known} "
                "Register one with: modelci train")
