"""The embedded registry: a directory on a local or shared filesystem.

Layout (everything written to ``tmp/`` first, fsync'd, then renamed or linked
into place, so a reader never sees half a file and a killed writer leaves
nothing but garbage in ``tmp/``)::

    ROOT/blobs/sha256/<hex>                  artifacts, content-addressed
    ROOT/models/<name>/versions/<n>.json     immutable version records
    ROOT/models/<name>/aliases/<alias>.json  current alias pointers
    ROOT/models/<name>/events/<ns>-<id>.json append-only events

A version number is claimed with ``link(2)`` of a complete record onto
``versions/<n>.json``: link never replaces an existing file, so two writers
racing for the same number cannot both win; the loser retries with n + 1.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InfrastructureError
from .base import CHUNK, Registry
from .records import Event, ModelVersion, VersionDraft

_MAX_CLAIM_ATTEMPTS = 10_000


class FileRegistry(Registry):
    def __init__(self, root: Path, uri: str | None = None) -> None:
        self.root = root
        self.uri = uri or f"file://{root}"

    # -- helpers -----------------------------------------------------------
    def _model_dir(self, name: str) -> Path:
        return self.root / "models" / name

    def _tmp(self) -> Path:
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp / f"{os.getpid()}-{uuid.uuid4().hex}"

    def _write_tmp(self, payload: bytes) -> Path:
        path = self._tmp()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        return path

    @staticmethod
    def _fsync_dir(path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _put(self, dest: Path, payload: bytes) -> None:
        """Atomically create or replace ``dest`` with ``payload``."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._write_tmp(payload)
        os.replace(tmp, dest)
        self._fsync_dir(dest.parent)

    @staticmethod
    def _read_json(path: Path) -> Any:
        try:
            return json.loads(path.read_bytes())
        except FileNotFoundError:
            return None

    def _guard(self, action: str) -> Any:
        return _OsErrors(self, action)

    # -- primitives --------------------------------------------------------
    def check_writable(self) -> None:
        with self._guard("write to"):
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self._write_tmp(b"")
            probe.unlink()

    def register(self, draft: VersionDraft, artifact: Path) -> ModelVersion:
        with self._guard("register a model in"):
            digest, size = self._store_blob(artifact)
            versions = self._model_dir(draft.name) / "versions"
            versions.mkdir(parents=True, exist_ok=True)
            numbers = self.version_numbers(draft.name)
            number = (numbers[-1] if numbers else 0) + 1
            for _ in range(_MAX_CLAIM_ATTEMPTS):
                record = ModelVersion.from_draft(draft, number, digest, size)
                tmp = self._write_tmp(_dump(record.to_dict()))
                try:
                    os.link(tmp, versions / f"{number}.json")
                except FileExistsError:
                    number += 1
                    continue
                finally:
                    tmp.unlink()
                self._fsync_dir(versions)
                self.record("registered", record, {
                    "digest": digest, "size": size, "metrics": dict(record.metrics),
                    "git_sha": record.git.get("sha"), "commit_time": record.git.get("commit_time"),
                })
                return record
        raise InfrastructureError(f"could not allocate a version of {draft.name} in {self.uri}")

    def _store_blob(self, artifact: Path) -> tuple[str, int]:
        import hashlib

        tmp = self._tmp()
        hasher = hashlib.sha256()
        size = 0
        with artifact.open("rb") as src, tmp.open("wb") as dst:
            while chunk := src.read(CHUNK):
                hasher.update(chunk)
                dst.write(chunk)
                size += len(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        blob_dir = self.root / "blobs" / "sha256"
        blob_dir.mkdir(parents=True, exist_ok=True)
        dest = blob_dir / hasher.hexdigest()
        if dest.exists() and dest.stat().st_size == size:
            tmp.unlink()
        else:
            os.replace(tmp, dest)
            self._fsync_dir(blob_dir)
        return f"sha256:{hasher.hexdigest()}", size

    def list_models(self) -> list[str]:
        models = self.root / "models"
        if not models.is_dir():
            return []
        return sorted(p.name for p in os.scandir(models) if p.is_dir())

    def version_numbers(self, name: str) -> list[int]:
        try:
            entries = os.scandir(self._model_dir(name) / "versions")
        except FileNotFoundError:
            return []
        with entries:
            names = [e.name for e in entries]
        return sorted(int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit())

    def _read_version(self, name: str, version: int) -> ModelVersion | None:
        raw = self._read_json(self._model_dir(name) / "versions" / f"{version}.json")
        return ModelVersion.from_dict(raw) if raw else None

    def aliases(self, name: str) -> dict[str, int]:
        folder = self._model_dir(name) / "aliases"
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return {}
        out: dict[str, int] = {}
        for entry in entries:
            if entry.name.endswith(".json"):
                raw = self._read_json(Path(entry.path))
                if raw and raw.get("version") is not None:
                    out[entry.name[:-5]] = int(raw["version"])
        return dict(sorted(out.items()))

    def alias_version(self, name: str, alias: str) -> int | None:
        raw = self._read_json(self._model_dir(name) / "aliases" / f"{alias}.json")
        return int(raw["version"]) if raw and raw.get("version") is not None else None

    def _write_alias(self, name: str, alias: str, version: int | None) -> None:
        path = self._model_dir(name) / "aliases" / f"{alias}.json"
        with self._guard("set an alias in"):
            if version is None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                return
            self._put(path, _dump({"alias": alias, "version": version}))

    def append_event(self, event: Event) -> Event:
        folder = self._model_dir(event.model) / "events"
        # time_ns keeps names in order of creation; the id makes them unique.
        name = f"{time.time_ns():020d}-{event.id}.json"
        with self._guard("record an event in"):
            folder.mkdir(parents=True, exist_ok=True)
            tmp = self._write_tmp(_dump(event.to_dict()))
            os.replace(tmp, folder / name)
            self._fsync_dir(folder)
        return event

    def events(self, name: str | None = None, limit: int | None = None) -> list[Event]:
        models = [name] if name else self.list_models()
        files: list[tuple[str, Path]] = []
        for model in models:
            folder = self._model_dir(model) / "events"
            try:
                with os.scandir(folder) as entries:
                    files.extend((e.name, Path(e.path)) for e in entries if e.name.endswith(".json"))
            except FileNotFoundError:
                continue
        files.sort()
        if limit is not None:
            files = files[-limit:] if limit > 0 else []
        out = []
        for _, path in files:
            raw = self._read_json(path)
            if raw:
                out.append(Event.from_dict(raw))
        return out

    def _artifact_path(self, version: ModelVersion) -> Path:
        algo, _, hexdigest = version.artifact_digest.partition(":")
        path = self.root / "blobs" / algo / hexdigest
        if not path.is_file():
            raise InfrastructureError(
                f"{version.ref}: its artifact {version.artifact_digest} is missing from {self.uri}"
                " (the blobs folder was changed by hand?). Re-register the model with modelci train."
            )
        return path

    def clean_tmp(self, older_than_s: float = 3600.0) -> int:
        """Remove temp files left behind by killed writers; returns how many."""
        folder = self.root / "tmp"
        removed = 0
        now = time.time()
        for entry in os.scandir(folder) if folder.is_dir() else []:
            if now - entry.stat().st_mtime > older_than_s:
                if entry.is_dir():
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    Path(entry.path).unlink(missing_ok=True)
                removed += 1
        return removed


def _dump(data: Any) -> bytes:
    return json.dumps(data, indent=2, sort_keys=True, default=str).encode() + b"\n"


class _OsErrors:
    """Turn filesystem failures into errors that say what to do."""

    def __init__(self, registry: FileRegistry, action: str) -> None:
        self.registry = registry
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if not isinstance(exc, OSError):
            return
        where = self.registry.uri
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise ConfigError(
                f"cannot {self.action} the registry {where}: {exc.strerror} ({exc.filename}). "
                "Point registry: (or --registry) at a folder you can write, e.g. "
                "file://.modelci/registry, or fix the folder's permissions."
            ) from None
        if exc.errno in (errno.ENOTDIR, errno.EEXIST) and isinstance(exc, (NotADirectoryError, FileExistsError)):
            raise ConfigError(
                f"cannot {self.action} the registry {where}: {exc.filename} is not a folder. "
                "Point registry: at a folder."
            ) from None
        raise InfrastructureError(f"cannot {self.action} the registry {where}: {exc}") from None
