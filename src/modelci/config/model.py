"""Typed, frozen dataclasses for modelci.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..conditions import Condition


@dataclass(frozen=True)
class EstimatorSpec:
    class_path: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str
    estimator: EstimatorSpec | None
    entrypoint: str | None
    params: Mapping[str, Any]


@dataclass(frozen=True)
class DataSpec:
    train: Path
    test: Path
    target: str
    features: tuple[str, ...]


@dataclass(frozen=True)
class SliceSpec:
    column: str
    thresholds: Mapping[str, Condition]


@dataclass(frozen=True)
class BudgetSpec:
    latency_p95_ms: float | None = None
    size_mb: float | None = None


@dataclass(frozen=True)
class GateSpec:
    baseline: str | None = "champion"
    metrics: tuple[str, ...] = ()
    thresholds: Mapping[str, Condition] = field(default_factory=dict)
    max_regression: Mapping[str, float] = field(default_factory=dict)
    max_relative_regression: Mapping[str, float] = field(default_factory=dict)
    significance: float | None = None
    slices: tuple[SliceSpec, ...] = ()
    budgets: BudgetSpec = field(default_factory=BudgetSpec)

    @property
    def has_rules(self) -> bool:
        return bool(
            self.thresholds or self.max_regression or self.max_relative_regression
            or self.slices or self.budgets.latency_p95_ms is not None
            or self.budgets.size_mb is not None
        )


@dataclass(frozen=True)
class ImageSpec:
    repository: str | None = None
    base: str = "python:3.11-slim"


@dataclass(frozen=True)
class EnvironmentSpec:
    name: str
    target: str  # "kubernetes" | "local"
    namespace: str = "default"
    replicas: int = 1
    strategy: str = "rolling"  # rolling | canary | blue-green
    canary_replicas: int = 1
    port: int = 8080
    host: str = "127.0.0.1"
    manifest: Path | None = None
    timeout_s: float = 600.0
    url: str | None = None
    traffic_rps: float = 0.0  # synthetic requests/s replayed from the holdout while verifying


@dataclass(frozen=True)
class SmokeCase:
    request: Any
    expect: Any


@dataclass(frozen=True)
class VerifySpec:
    smoke: str | tuple[SmokeCase, ...] = "input_example"
    duration_s: float = 300.0
    interval_s: float = 30.0
    failure_limit: int = 1
    slo: Mapping[str, Condition] = field(default_factory=dict)
    drift: Mapping[str, Condition] = field(default_factory=dict)
    prometheus: str = ""


@dataclass(frozen=True)
class Config:
    """A validated pipeline file. Paths are absolute (resolved against ``base_dir``)."""

    model: ModelSpec
    data: DataSpec
    registry: str
    gate: GateSpec
    image: ImageSpec
    environments: Mapping[str, EnvironmentSpec]
    verify: VerifySpec
    source: str
    base_dir: Path
    version: int = 1
