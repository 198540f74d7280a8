"""A validating reader over one mapping of modelci.yaml.

Every accessor knows the key path it reads, so a problem is reported as
``modelci.yaml:12: gate.thresholds.accuracy: <problem>; <what is valid>``.
Keys a section does not know are rejected with a "did you mean".
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from ..errors import ConfigError
from .yaml_positions import Path

T = TypeVar("T")
_MISSING = object()


class Source:
    """Where the configuration came from, for error messages."""

    def __init__(self, label: str, positions: dict[Path, int], overridden: set[Path]) -> None:
        self.label = label
        self.positions = positions
        self.overridden = overridden

    def where(self, path: Path) -> str:
        for touched in self.overridden:
            if path and (touched[: len(path)] == path or path[: len(touched)] == touched):
                return "--set " + dotted(touched)
        for i in range(len(path), -1, -1):
            prefix = path[:i]
            if prefix in self.positions:
                return f"{self.label}:{self.positions[prefix]}"
        return self.label

    def error(self, path: Path, problem: str) -> ConfigError:
        key = dotted(path) or "(top level)"
        return ConfigError(f"{self.where(path)}: {key}: {problem}")


def dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _type_name(value: object) -> str:
    if value is None:
        return "nothing (null)"
    return {
        bool: "a boolean", int: "a number", float: "a number", str: "a string",
        list: "a list", dict: "a mapping",
    }.get(type(value), type(value).__name__)


class Section:
    """Reads the keys of one mapping and rejects those nobody asked for."""

    def __init__(self, source: Source, path: Path, data: object) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise source.error(path, f"expected a mapping of keys, got {_type_name(data)}")
        self.source = source
        self.path = path
        self.data: Mapping[str, Any] = data
        self._known: list[str] = []

    def _get(self, key: str, default: object) -> Any:
        self._known.append(key)
        value = self.data.get(key, _MISSING)
        if value is _MISSING or (value is None and default is not _MISSING):
            if default is _MISSING:
                raise self.source.error((*self.path, key), "is required but missing")
            return default
        return value

    def error(self, key: str | None, problem: str) -> ConfigError:
        return self.source.error(self.path + ((key,) if key else ()), problem)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def string(self, key: str, default: Any = _MISSING, *, choices: Iterable[str] = ()) -> Any:
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected a non-empty string, got {_type_name(value)}")
        allowed = list(choices)
        if allowed and value not in allowed:
            raise self.error(key, f"{value!r} is not one of: {', '.join(allowed)}{_suggest(value, allowed)}")
        return value

    def number(self, key: str, default: Any = _MISSING, *, minimum: float | None = None,
               maximum: float | None = None, integer: bool = False) -> Any:
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        ok_type = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_type):
            kind = "a whole number" if integer else "a number"
            raise self.error(key, f"expected {kind}, got {_type_name(value)} {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum:g}, got {value!r}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"must be at most {maximum:g}, got {value!r}")
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {_type_name(value)} {value!r}")
        return value

    def string_list(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list):
            raise self.error(key, f"expected a list of strings, got {_type_name(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise self.source.error((*self.path, key, i), f"expected a string, got {_type_name(item)}")
        return tuple(value)

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self._get(key, {})
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected a mapping, got {_type_name(value)}")
        return value

    def section(self, key: str) -> Section:
        return Section(self.source, (*self.path, key), self._get(key, {}))

    def entries(self, key: str, parse: Callable[[str, Any], T]) -> dict[str, T]:
        """Parse every value of a free-form mapping, reporting errors at the entry."""
        out: dict[str, T] = {}
        for name, raw in self.mapping(key).items():
            try:
                out[str(name)] = parse(str(name), raw)
            except ValueError as exc:
                raise self.source.error((*self.path, key, str(name)), str(exc)) from None
        return out

    def raw(self, key: str, default: Any = None) -> Any:
        return self._get(key, default)

    def finish(self) -> None:
        for key in self.data:
            if key not in self._known:
                raise self.error(
                    str(key),
                    f"unknown key{_suggest(str(key), self._known)}; valid keys here: "
                    + ", ".join(self._known),
                )


def _suggest(value: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
