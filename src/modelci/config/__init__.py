"""modelci.yaml: load, override with ``--set``, validate into typed dataclasses."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..registry import DEFAULT_REGISTRY
from .model import (
    BudgetSpec,
    Config,
    DataSpec,
    EnvironmentSpec,
    EstimatorSpec,
    GateSpec,
    ImageSpec,
    ModelSpec,
    SliceSpec,
    SmokeCase,
    VerifySpec,
)
from .parse import build_config
from .reader import Source
from .yaml_positions import YamlSyntaxError, load_with_positions

__all__ = [
    "DEFAULT_REGISTRY", "BudgetSpec", "Config", "DataSpec", "EnvironmentSpec", "EstimatorSpec",
    "GateSpec", "ImageSpec", "ModelSpec", "SliceSpec", "SmokeCase", "VerifySpec",
    "apply_overrides", "load_config",
]

DEFAULT_CONFIG_NAME = "modelci.yaml"


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> Config:
    """Read, override and validate a pipeline file. Raises ConfigError (exit 2)."""
    cfg_path = Path(path) if path else Path(DEFAULT_CONFIG_NAME)
    label = str(path) if path else DEFAULT_CONFIG_NAME
    if cfg_path.is_dir():
        cfg_path = cfg_path / DEFAULT_CONFIG_NAME
        label = str(cfg_path)
    try:
        text = cfg_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{label}: no such file. modelci needs a pipeline file; pass it with -c PATH "
            f"or create {DEFAULT_CONFIG_NAME} (see docs/config.md for every key)."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: cannot read the pipeline file: {exc}") from None
    try:
        data, positions = load_with_positions(text)
    except YamlSyntaxError as exc:
        where = f"{label}:{exc.line}" if exc.line else label
        raise ConfigError(f"{where}: {exc}. Fix the YAML at that line.") from None
    if data is None:
        raise ConfigError(f"{label}: the file is empty; it needs at least model: and data: sections.")
    data, overridden = apply_overrides(data, overrides)
    source = Source(label, positions, overridden)
    return build_config(data, source, cfg_path.resolve().parent)


def apply_overrides(data: Any, overrides: Sequence[str]) -> tuple[Any, set[tuple[str | int, ...]]]:
    """Apply ``--set a.b.c=VALUE`` (VALUE parsed as YAML) to a copy of ``data``."""
    result = copy.deepcopy(data)
    touched: set[tuple[str | int, ...]] = set()
    for item in overrides:
        key, sep, raw = item.partition("=")
        parts = list(key.strip().split("."))
        if not sep or not key.strip() or any(not p for p in parts):
            raise ConfigError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. --set model.params.C=0.5")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = result
        if not isinstance(node, dict):
            raise ConfigError(f"--set {item!r}: the pipeline file's top level is not a mapping")
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(f"--set {item!r}: {where} is not a mapping, cannot set a key inside it")
            node = child
        node[parts[-1]] = value
        touched.add(tuple(parts))
    return result, touched
