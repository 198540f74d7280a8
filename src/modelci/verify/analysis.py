"""The checks of a monitoring window: SLOs and prediction drift, each with a verdict."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..conditions import Condition
from .scrape import Snapshot


@dataclass(frozen=True)
class CheckResult:
    name: str  # error_rate | latency_p95_ms | latency_p99_ms | psi
    value: float | None
    condition: Condition
    passed: bool | None  # None: no data in this interval (not a failure)

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "FAIL", None: "no data"}[self.passed]


def evaluate(window: Snapshot, slo: Mapping[str, Condition], drift: Mapping[str, Condition],
             profile: Mapping[str, Any] | None, min_requests: int = 1) -> list[CheckResult]:
    """Judge one interval's traffic. Too little traffic gives 'no data', never a false alarm."""
    out = []
    enough = window.requests >= min_requests
    for name, condition in slo.items():
        value: float | None
        if name == "error_rate":
            value = window.error_rate
        elif name == "latency_p95_ms":
            value = window.latency_quantile_ms(0.95)
        else:
            value = window.latency_quantile_ms(0.99)
        out.append(CheckResult(name, value, condition, condition.holds(value) if enough and value is not None
                               else None))
    for name, condition in drift.items():
        value = drift_psi(profile, window.predictions) if profile else None
        out.append(CheckResult(name, value, condition, condition.holds(value) if value is not None else None))
    return out


def drift_psi(profile: Mapping[str, Any], served: Mapping[str, float], min_count: int = 20) -> float | None:
    """PSI of served prediction counts against the training-time profile (None below ``min_count``)."""
    eps = 1e-4
    if profile.get("kind") == "categorical":
        expected = {str(k): float(v) for k, v in profile["counts"].items()}
        observed = {str(k): float(v) for k, v in served.items()}
        keys = sorted(set(expected) | set(observed))
        e = [expected.get(k, 0.0) for k in keys]
        o = [observed.get(k, 0.0) for k in keys]
    else:
        e = [float(c) for c in profile.get("counts", [])]
        o = _bins_from_cumulative(served, len(e))
    total_e, total_o = sum(e), sum(o)
    if total_e <= 0 or total_o < min_count:
        return None
    value = 0.0
    for ec, oc in zip(e, o, strict=True):
        pe, po = max(ec / total_e, eps), max(oc / total_o, eps)
        value += (po - pe) * math.log(po / pe)
    return value


def _bins_from_cumulative(cumulative: Mapping[str, float], bins: int) -> list[float]:
    """Per-bin counts from a Prometheus histogram's cumulative buckets (keys are ``le``)."""
    ordered = sorted(cumulative.items(), key=lambda kv: math.inf if kv[0] == "+Inf" else float(kv[0]))
    counts, previous = [], 0.0
    for _, value in ordered:
        counts.append(value - previous)
        previous = value
    if len(counts) != bins:
        return counts[:bins] + [0.0] * max(0, bins - len(counts))
    return counts
