"""Prometheus metrics of the server, in the text exposition format, written by hand.

Everything is updated from the event loop only, so plain dicts and lists suffice
(no locks, no client library in the image). Exposed series:

    modelci_requests_total{route, status}            counter
    modelci_request_errors_total{route, error_code}  counter
    modelci_request_duration_seconds{route}          histogram
    modelci_predictions_total{class}                 counter (classification)
    modelci_prediction_value                         histogram (regression; training-time bins)
    modelci_batch_size_rows                          histogram (micro-batching)
    modelci_model_info{name, version, digest, git_sha}  gauge, always 1
    modelci_model_ready                              gauge
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


class Histogram:
    def __init__(self, buckets: Sequence[float]) -> None:
        self.buckets = list(buckets)
        self.counts = [0] * (len(self.buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def lines(self, name: str, labels: str) -> list[str]:
        sep = "," if labels else ""
        out = []
        running = 0
        for bound, count in zip(self.buckets, self.counts, strict=False):
            running += count
            out.append(f'{name}_bucket{{{labels}{sep}le="{_number(bound)}"}} {running}')
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.count}')
        braces = f"{{{labels}}}" if labels else ""
        out.append(f"{name}_sum{braces} {_number(self.sum)}")
        out.append(f"{name}_count{braces} {self.count}")
        return out


class Metrics:
    def __init__(self, info: Mapping[str, str], classification: bool, edges: Sequence[float] | None = None) -> None:
        self.info = dict(info)
        self.classification = classification
        self.requests: dict[tuple[str, int], int] = {}
        self.errors: dict[tuple[str, str], int] = {}
        self.latency: dict[str, Histogram] = {}
        self.classes: dict[str, int] = {}
        self.values = Histogram(edges or (-1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0, 1000.0))
        self.batches = Histogram(BATCH_BUCKETS)
        self.ready = False

    def observe_request(self, route: str, status: int, seconds: float, error_code: str | None = None) -> None:
        key = (route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        hist = self.latency.get(route)
        if hist is None:
            hist = self.latency[route] = Histogram(LATENCY_BUCKETS)
        hist.observe(seconds)
        if error_code is not None:
            ekey = (route, error_code)
            self.errors[ekey] = self.errors.get(ekey, 0) + 1

    def observe_predictions(self, predictions: Sequence[Any]) -> None:
        if self.classification:
            classes = self.classes
            for p in predictions:
                key = str(p)
                classes[key] = classes.get(key, 0) + 1
        else:
            for p in predictions:
                self.values.observe(float(p))

    def render(self) -> bytes:
        lines = [
            "# HELP modelci_requests_total HTTP requests answered, by route and status.",
            "# TYPE modelci_requests_total counter",
        ]
        for (route, status), n in sorted(self.requests.items()):
            lines.append(f'modelci_requests_total{{route="{_esc(route)}",status="{status}"}} {n}')
        lines += ["# HELP modelci_request_errors_total Requests answered with an error, by error_code.",
                  "# TYPE modelci_request_errors_total counter"]
        for (route, code), n in sorted(self.errors.items()):
            lines.append(f'modelci_request_errors_total{{route="{_esc(route)}",error_code="{_esc(code)}"}} {n}')
        lines += ["# HELP modelci_request_duration_seconds Time from request start to response, by route.",
                  "# TYPE modelci_request_duration_seconds histogram"]
        for route, hist in sorted(self.latency.items()):
            lines += hist.lines("modelci_request_duration_seconds", f'route="{_esc(route)}"')
        if self.classification:
            lines += ["# HELP modelci_predictions_total Predictions served, by predicted class.",
                      "# TYPE modelci_predictions_total counter"]
            for label, n in sorted(self.classes.items()):
                lines.append(f'modelci_predictions_total{{class="{_esc(label)}"}} {n}')
        else:
            lines += ["# HELP modelci_prediction_value Predicted values (bins of the training-time profile).",
                      "# TYPE modelci_prediction_value histogram"]
            lines += self.values.lines("modelci_prediction_value", "")
        lines += ["# HELP modelci_batch_size_rows Rows per model call (micro-batching).",
                  "# TYPE modelci_batch_size_rows histogram"]
        lines += self.batches.lines("modelci_batch_size_rows", "")
        labels = ",".join(f'{k}="{_esc(v)}"' for k, v in sorted(self.info.items()))
        lines += ["# HELP modelci_model_info The served model version.", "# TYPE modelci_model_info gauge",
                  f"modelci_model_info{{{labels}}} 1",
                  "# HELP modelci_model_ready 1 once the model is loaded and warmed up.",
                  "# TYPE modelci_model_ready gauge", f"modelci_model_ready {int(self.ready)}"]
        return ("\n".join(lines) + "\n").encode()


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else f"{float(value):.1f}"
