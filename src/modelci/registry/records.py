"""What the registry stores: immutable model versions, alias pointers and events."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

EVENT_KINDS = (
    "registered", "gated", "published", "deployed", "verified", "rolled_back", "alias_set",
    "alias_deleted",
)


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def current_actor() -> str:
    actor = os.environ.get("GITHUB_ACTOR") or os.environ.get("MODELCI_ACTOR")
    if actor:
        return actor
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True)
class VersionDraft:
    """Everything about a model version except what the registry assigns."""

    name: str
    flavor: str
    task: str
    signature: Mapping[str, Any]
    input_example: Mapping[str, Any]
    params: Mapping[str, Any]
    metrics: Mapping[str, float]
    data: Mapping[str, Any]
    git: Mapping[str, Any]
    packages: Mapping[str, str]
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelVersion:
    """An immutable, registered model version."""

    name: str
    version: int
    artifact_digest: str  # "sha256:<hex>"
    artifact_size: int
    flavor: str
    task: str
    signature: Mapping[str, Any]
    input_example: Mapping[str, Any]
    params: Mapping[str, Any]
    metrics: Mapping[str, float]
    data: Mapping[str, Any]
    git: Mapping[str, Any]
    packages: Mapping[str, str]
    created_at: str
    created_by: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {"schema": 1, **asdict(self)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ModelVersion:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in known})

    @classmethod
    def from_draft(cls, draft: VersionDraft, version: int, digest: str, size: int) -> ModelVersion:
        return cls(
            name=draft.name, version=version, artifact_digest=digest, artifact_size=size,
            flavor=draft.flavor, task=draft.task, signature=draft.signature,
            input_example=draft.input_example, params=draft.params, metrics=draft.metrics,
            data=draft.data, git=draft.git, packages=draft.packages, created_at=utcnow(),
            created_by=current_actor(), extra=draft.extra,
        )


@dataclass(frozen=True)
class Event:
    """One append-only entry of a model's history."""

    kind: str
    model: str
    version: int | None
    data: Mapping[str, Any] = field(default_factory=dict)
    at: str = field(default_factory=utcnow)
    actor: str = field(default_factory=current_actor)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Event:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in known})


@dataclass(frozen=True)
class AliasChange:
    model: str
    alias: str
    version: int | None
    previous: int | None
