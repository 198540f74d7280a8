"""A canary's stable pods, scraped at the same moments as the canary, for comparison.

The verdict stays on the canary's own figures against the SLOs (absolute rules); the
stable pods' figures over the same window are reported next to them, so a reader sees
whether the canary is worse than what it would replace or the whole service is.
"""

from __future__ import annotations

from typing import Any

from .probe import Probe
from .scrape import Snapshot
from .sources import FigureSource, ScrapeSource


class Baseline:
    def __init__(self, probe: Probe, label: str) -> None:
        self.source = ScrapeSource(probe)
        self.label = label
        self.total = Snapshot()
        self.ok = True

    def start(self) -> None:
        try:
            self.source.start()
        except OSError:
            self.ok = False

    def tick(self) -> None:
        if not self.ok:
            return
        try:
            self.total = self.total + self.source.interval(0.0)
        except OSError:
            self.ok = False

    def figures(self) -> dict[str, Any]:
        return {"requests": self.total.requests, "error_rate": self.total.error_rate,
                "latency_p95_ms": self.total.latency_quantile_ms(0.95)}

    def line(self, served: Snapshot) -> str:
        def fmt(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.4g}"

        mine = {"error_rate": served.error_rate, "latency_p95_ms": served.latency_quantile_ms(0.95)}
        theirs = self.figures()
        return (f"canary vs stable pods ({self.label}) over the window: error rate {fmt(mine['error_rate'])} vs "
                f"{fmt(theirs['error_rate'])}, latency p95 {fmt(mine['latency_p95_ms'])} ms vs "
                f"{fmt(theirs['latency_p95_ms'])} ms ({served.requests} vs {theirs['requests']} requests)")


class Recording:
    """A figure source that also keeps the sum of what it returned (the whole window's traffic)."""

    def __init__(self, inner: FigureSource) -> None:
        self.inner = inner
        self.total = Snapshot()

    def start(self) -> None:
        self.inner.start()

    def interval(self, seconds: float) -> Snapshot:
        figures = self.inner.interval(seconds)
        self.total = self.total + figures
        return figures

    def describe(self) -> str:
        return self.inner.describe()
