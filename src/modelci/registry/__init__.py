"""The model registry: one interface, backends chosen by URI (file://, oci://)."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from .base import Registry, sha256_file
from .records import AliasChange, Event, ModelVersion, VersionDraft

DEFAULT_REGISTRY = "file://.modelci/registry"

__all__ = [
    "DEFAULT_REGISTRY",
    "AliasChange", "Event", "ModelVersion", "Registry", "VersionDraft", "open_registry",
    "sha256_file",
]


def open_registry(uri: str, base_dir: Path | None = None) -> Registry:
    """Open the registry named by ``uri``; relative file paths resolve against ``base_dir``."""
    if uri.startswith("file://"):
        from .file import FileRegistry

        raw = uri[len("file://"):]
        if not raw:
            raise UsageError(f"registry URI {uri!r} has no path; use file://PATH, e.g. file://.modelci/registry")
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        return FileRegistry(path.resolve(), uri=f"file://{path.resolve()}")
    if uri.startswith(("oci://", "oci+http://")):
        try:
            from .oci import OciRegistry  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise UsageError(
                f"registry {uri!r}: this modelci has no oci:// backend yet; use file://PATH"
            ) from None
        return OciRegistry.from_uri(uri)  # type: ignore[no-any-return,unused-ignore]
    raise UsageError(
        f"{uri!r} is not a registry URI; use file://PATH (e.g. file://.modelci/registry) "
        "or oci://HOST/NAMESPACE (e.g. oci://ghcr.io/acme/models)"
    )
