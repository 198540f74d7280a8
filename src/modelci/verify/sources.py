"""Where the monitoring window's figures come from: pod scrapes, or a Prometheus server."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import InfrastructureError
from .probe import Probe
from .scrape import PREDICTION_ROUTES, Snapshot, combine, snapshot_from_text


class FigureSource(Protocol):
    def start(self) -> None: ...

    def interval(self, seconds: float) -> Snapshot:
        """Traffic of the version under test since the previous call (or start)."""

    def describe(self) -> str: ...


class ScrapeSource:
    """Scrape /metrics of every serving process and take deltas between scrapes."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self._last = Snapshot()

    def _now(self) -> Snapshot:
        return combine(snapshot_from_text(t) for t in self.probe.metrics_texts())

    def start(self) -> None:
        self._last = self._now()

    def interval(self, seconds: float) -> Snapshot:
        current = self._now()
        delta = current - self._last
        self._last = current
        return delta

    def describe(self) -> str:
        return f"/metrics of {self.probe.describe()}"


@dataclass(frozen=True)
class PrometheusSource:
    """PromQL over the series of the version under test (joined on modelci_model_info)."""

    url: str
    model: str
    version: int
    query: Callable[[str, str], list[dict[str, Any]]]  # (base url, promql) -> result vector

    def start(self) -> None:
        self.query(self.url, "vector(1)")  # fail early (exit 3) when Prometheus is unreachable

    def _join(self, expr: str) -> str:
        return (f'({expr}) * on(instance) group_left() '
                f'max by (instance) (modelci_model_info{{name="{self.model}",version="{self.version}"}})')

    def _sum(self, expr: str, by: str = "") -> list[dict[str, Any]]:
        grouping = f" by ({by})" if by else ""
        return self.query(self.url, f"sum{grouping} ({self._join(expr)})")

    def interval(self, seconds: float) -> Snapshot:
        window = f"{max(1, math.ceil(seconds))}s"
        routes = "|".join(r.replace("{", "\\\\{").replace("}", "\\\\}") for r in sorted(PREDICTION_ROUTES))
        sel = f'route=~"{routes}"'
        total = _scalar(self._sum(f"increase(modelci_requests_total{{{sel}}}[{window}])"))
        errors = _scalar(self._sum(f'increase(modelci_requests_total{{{sel},status=~"5.."}}[{window}])'))
        buckets = {_le(r["metric"].get("le", "+Inf")): float(r["value"][1]) for r in self._sum(
            f"increase(modelci_request_duration_seconds_bucket{{{sel}}}[{window}])", "le")}
        predictions = {r["metric"].get("class", ""): float(r["value"][1]) for r in self._sum(
            f"increase(modelci_predictions_total[{window}])", "class")}
        return Snapshot(requests=round(total), errors=round(errors), buckets=buckets, predictions=predictions)

    def describe(self) -> str:
        return f"Prometheus at {self.url}"


def _le(value: str) -> float:
    return math.inf if value == "+Inf" else float(value)


def _scalar(result: list[dict[str, Any]]) -> float:
    return sum(float(r["value"][1]) for r in result if r.get("value"))


def query_prometheus(url: str, promql: str) -> list[dict[str, Any]]:
    """Instant query through the HTTP API; InfrastructureError (exit 3) after retries."""
    import time

    import requests

    last: Exception | None = None
    for attempt in range(4):
        try:
            response = requests.get(f"{url.rstrip('/')}/api/v1/query", params={"query": promql}, timeout=10)
            if response.status_code == 400:
                raise InfrastructureError(f"Prometheus at {url} rejected the query {promql!r}: {response.text[:300]}")
            response.raise_for_status()
            payload: Mapping[str, Any] = response.json()
            data = payload.get("data", {})
            result = data.get("result", []) if isinstance(data, Mapping) else []
            return list(result) if isinstance(result, list) else []
        except (requests.RequestException, ValueError) as exc:
            last = exc
            time.sleep(0.5 * 2**attempt)
    raise InfrastructureError(f"Prometheus at {url} did not answer after 4 tries ({last}). Check verify.prometheus "
                              "(or --prometheus-url); modelci does not roll back on missing data.")
