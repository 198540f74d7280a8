"""The monitoring window: check every interval, stop early at the failure limit (Argo's failureLimit)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import VerifySpec
from .analysis import CheckResult, evaluate
from .scrape import Snapshot
from .sources import FigureSource


@dataclass(frozen=True)
class Interval:
    at_s: float  # seconds since the window opened
    requests: int
    checks: tuple[CheckResult, ...]

    @property
    def failed(self) -> bool:
        return any(c.passed is False for c in self.checks)


@dataclass(frozen=True)
class WindowResult:
    intervals: tuple[Interval, ...] = field(default_factory=tuple)
    failures: int = 0
    failure_limit: int = 1
    source: str = ""
    first_failure_s: float | None = None

    @property
    def passed(self) -> bool:
        return self.failures < self.failure_limit

    @property
    def reasons(self) -> list[str]:
        out = []
        for iv in self.intervals:
            for c in iv.checks:
                if c.passed is False:
                    value = "n/a" if c.value is None else f"{c.value:.4g}"
                    out.append(f"{c.name} = {value} at +{iv.at_s:.0f}s breaks {c.name} {c.condition}")
        return out


def run_window(source: FigureSource, spec: VerifySpec, profile: Mapping[str, Any] | None, *,
               duration_s: float | None = None, sleep: Callable[[float], None] = time.sleep,
               clock: Callable[[], float] = time.monotonic,
               on_interval: Callable[[Interval], None] | None = None) -> WindowResult:
    """Watch the version for ``duration`` seconds; return early once ``failure_limit`` checks failed.

    SLOs are judged per interval; drift on all predictions served since the window opened,
    so that a few requests cannot swing it.
    """
    duration = spec.duration_s if duration_s is None else duration_s
    opened = clock()
    source.start()
    intervals: list[Interval] = []
    failures = 0
    first_failure: float | None = None
    served = Snapshot()
    while True:
        remaining = duration - (clock() - opened)
        if remaining <= 0 and intervals:
            break
        step = min(spec.interval_s, max(remaining, 0.0)) if remaining > 0 else spec.interval_s
        sleep(step)
        figures = source.interval(step)
        served = served + figures
        slo = evaluate(figures, spec.slo, {}, None)
        drift = evaluate(served, {}, spec.drift, profile)
        interval = Interval(at_s=clock() - opened, requests=figures.requests, checks=tuple(slo + drift))
        intervals.append(interval)
        if on_interval is not None:
            on_interval(interval)
        if interval.failed:
            failures += 1
            if first_failure is None:
                first_failure = interval.at_s
            if failures >= spec.failure_limit:
                break
    return WindowResult(intervals=tuple(intervals), failures=failures, failure_limit=spec.failure_limit,
                        source=source.describe(), first_failure_s=first_failure)
