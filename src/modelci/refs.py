"""Model references: ``churn:3``, ``churn@champion``, ``models:/churn/3``, ``3``, ``@champion``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UsageError

NAME = r"[a-z0-9][a-z0-9-]{0,62}"
ALIAS = r"[A-Za-z][A-Za-z0-9_-]{0,62}"
ALIAS_RE = re.compile(rf"^{ALIAS}$")
_FORMS = (
    "churn:3 (a version), churn@champion (an alias), churn (the newest version), "
    "models:/churn/3 or models:/churn@champion (MLflow style), or 3 / @champion when "
    "the config names the model"
)
_PATTERNS = [
    re.compile(rf"^models:/(?P<name>{NAME})/(?P<version>\d+|latest)$"),
    re.compile(rf"^models:/(?P<name>{NAME})@(?P<alias>{ALIAS})$"),
    re.compile(rf"^(?P<name>{NAME}):(?P<version>\d+|latest)$"),
    re.compile(rf"^(?P<name>{NAME})@(?P<alias>{ALIAS})$"),
    re.compile(r"^(?P<version>\d+)$"),
    re.compile(rf"^@(?P<alias>{ALIAS})$"),
    re.compile(rf"^(?P<name>{NAME})$"),
]


@dataclass(frozen=True)
class ModelRef:
    """A reference to one model version. ``version`` and ``alias`` are both None for 'newest'."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.alias:
            return f"{self.name}@{self.alias}"
        if self.version is not None:
            return f"{self.name}:{self.version}"
        return f"{self.name}:latest"


def parse_ref(text: str, default_name: str | None = None) -> ModelRef:
    """Parse a reference; raises UsageError (exit 2) with the accepted forms."""
    value = text.strip()
    for pattern in _PATTERNS:
        match = pattern.match(value)
        if not match:
            continue
        parts = match.groupdict()
        name = parts.get("name") or default_name
        if name is None:
            raise UsageError(
                f"model reference {text!r} does not name a model and no config names one; "
                f"write it as {_FORMS}."
            )
        raw_version = parts.get("version")
        version = int(raw_version) if raw_version and raw_version != "latest" else None
        if version is not None and version < 1:
            raise UsageError(f"model reference {text!r}: versions start at 1.")
        alias = parts.get("alias")
        if alias == "latest":
            alias = None
        return ModelRef(name=name, version=version, alias=alias)
    raise UsageError(f"{text!r} is not a model reference; write it as {_FORMS}.")


def check_alias_name(alias: str) -> str:
    if not ALIAS_RE.match(alias) or alias == "latest":
        raise UsageError(
            f"{alias!r} is not a valid alias: use a letter then letters, digits, '-' or '_' "
            "(up to 63), e.g. champion or staging; 'latest' is reserved."
        )
    return alias
