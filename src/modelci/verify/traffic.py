"""Synthetic traffic for environments with no users: replay holdout rows while the window runs.

``environments.<env>.traffic: N`` sends N single-row requests a second, cycling through
the test set's rows (only the columns of the version's signature). Answers are not
judged here: the window judges them through the servers' own metrics, exactly as it
judges real traffic.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..registry import ModelVersion
from .probe import Probe

MAX_ROWS = 2000


def holdout_bodies(test_file: Path, version: ModelVersion, limit: int = MAX_ROWS) -> list[bytes]:
    """One MLflow ``dataframe_split`` body per holdout row, in the signature's column order."""
    import pandas as pd

    columns = [c["name"] for c in version.signature.get("inputs", [])]
    if test_file.suffix.lower() == ".csv":
        frame = pd.read_csv(test_file, nrows=limit, usecols=columns)
    else:
        frame = pd.read_parquet(test_file, columns=columns).head(limit)
    frame = frame[columns].astype(object).where(frame.notna(), None)
    return [json.dumps({"dataframe_split": {"columns": columns, "data": [list(row)]}}, default=_plain).encode()
            for row in frame.itertuples(index=False)]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)


class Replay:
    """Send ``bodies`` round robin at ``rate`` requests/s from a background thread until stopped."""

    def __init__(self, probe: Probe, bodies: Sequence[bytes], rate: float) -> None:
        self.probe = probe
        self.bodies = bodies
        self.rate = rate
        self.sent = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="modelci-traffic", daemon=True)

    def start(self) -> Replay:
        if self.bodies and self.rate > 0:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        period = 1.0 / self.rate
        next_at = time.monotonic()
        for body in itertools.cycle(self.bodies):
            if self._stop.is_set():
                return
            try:
                status, _ = self.probe.call("POST", "/invocations", body)
                self.failed += status >= 500
            except OSError:
                self.failed += 1
            self.sent += 1
            next_at += period
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()  # the server is slower than the rate: do not pile up
