"""Read a model server's /metrics into a snapshot, and the change between two snapshots.

Only prediction routes count toward error rate and latency: health checks and
scrapes are not traffic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

PREDICTION_ROUTES = frozenset({"/invocations", "/v2/models/{name}/infer"})
_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Samples of the Prometheus text format: (name, labels, value)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            continue
        name, labels, value = match.groups()
        parsed = {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in _LABEL.findall(labels or "")}
        try:
            out.append((name, parsed, float(value)))
        except ValueError:
            continue
    return out


@dataclass(frozen=True)
class Snapshot:
    """Cumulative counters of one or more servers at one moment."""

    requests: int = 0
    errors: int = 0  # 5xx answers on prediction routes
    buckets: Mapping[float, float] = field(default_factory=dict)  # le -> cumulative count
    predictions: Mapping[str, float] = field(default_factory=dict)  # class or bin -> count
    version: str | None = None

    def __add__(self, other: Snapshot) -> Snapshot:
        return Snapshot(
            requests=self.requests + other.requests, errors=self.errors + other.errors,
            buckets=_merge(self.buckets, other.buckets), predictions=_merge(self.predictions, other.predictions),
            version=self.version or other.version,
        )

    def __sub__(self, older: Snapshot) -> Snapshot:
        return Snapshot(
            requests=max(0, self.requests - older.requests), errors=max(0, self.errors - older.errors),
            buckets={k: max(0.0, v - older.buckets.get(k, 0.0)) for k, v in self.buckets.items()},
            predictions={k: max(0.0, v - older.predictions.get(k, 0.0)) for k, v in self.predictions.items()},
            version=self.version,
        )

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    def latency_quantile_ms(self, q: float) -> float | None:
        """Quantile from histogram buckets, interpolated linearly inside the bucket (like PromQL)."""
        if not self.buckets:
            return None
        bounds = sorted(self.buckets)
        total = self.buckets[bounds[-1]]
        if total <= 0:
            return None
        rank = q * total
        prev_bound, prev_count = 0.0, 0.0
        for bound in bounds:
            count = self.buckets[bound]
            if count >= rank:
                if math.isinf(bound):
                    return prev_bound * 1000.0
                width = count - prev_count
                fraction = (rank - prev_count) / width if width else 1.0
                return (prev_bound + (bound - prev_bound) * fraction) * 1000.0
            prev_bound, prev_count = bound, count
        return prev_bound * 1000.0


K = TypeVar("K", float, str)


def _merge(a: Mapping[K, float], b: Mapping[K, float]) -> dict[K, float]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0.0) + v
    return out


def snapshot_from_text(text: str) -> Snapshot:
    requests = errors = 0
    buckets: dict[float, float] = {}
    predictions: dict[str, float] = {}
    version = None
    for name, labels, value in parse_exposition(text):
        if name == "modelci_requests_total" and labels.get("route") in PREDICTION_ROUTES:
            requests += int(value)
            if labels.get("status", "").startswith("5"):
                errors += int(value)
        elif name == "modelci_request_duration_seconds_bucket" and labels.get("route") in PREDICTION_ROUTES:
            le = float(labels["le"]) if labels.get("le") != "+Inf" else math.inf
            buckets[le] = buckets.get(le, 0.0) + value
        elif name == "modelci_predictions_total":
            predictions[labels.get("class", "")] = value
        elif name == "modelci_prediction_value_bucket":
            predictions[labels.get("le", "+Inf")] = value  # cumulative; turned into per-bin counts in prediction_counts
        elif name == "modelci_model_info":
            version = labels.get("version")
    return Snapshot(requests=requests, errors=errors, buckets=buckets, predictions=predictions, version=version)


def combine(snapshots: Iterable[Snapshot]) -> Snapshot:
    total = Snapshot()
    for snap in snapshots:
        total = total + snap
    return total
