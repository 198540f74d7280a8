"""Models that misbehave once they serve single-row requests (tests only).

Training scores the whole holdout at once, and smoke tests replay the five-row input
example, so both see the real model; online traffic of one row at a time meets the
misbehaviour: ``error`` raises (the server answers 500), ``slow`` sleeps, ``drift``
always predicts the same class. The serving process imports this module by name,
so the tests put this folder on PYTHONPATH.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np


class Misbehaving:
    def __init__(self, inner: Any, mode: str, sleep_s: float = 0.25) -> None:
        self.inner = inner
        self.mode = mode
        self.sleep_s = sleep_s
        self.classes_ = inner.classes_

    def _bad(self, X: Any) -> bool:
        return len(X) == 1

    def predict(self, X: Any) -> Any:
        if self._bad(X):
            if self.mode == "error":
                raise RuntimeError("misbehaving model: a failure on purpose")
            if self.mode == "slow":
                time.sleep(self.sleep_s)
            if self.mode == "drift":
                return np.full(len(X), self.classes_[-1])
        return self.inner.predict(X)

    def predict_proba(self, X: Any) -> Any:
        if self._bad(X) and self.mode == "error":
            raise RuntimeError("misbehaving model: a failure on purpose")
        return self.inner.predict_proba(X)


def build(train: Any, params: dict[str, Any]) -> Misbehaving:
    """An entrypoint: the example's pipeline, wrapped."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "example_train", Path(__file__).resolve().parents[2] / "examples" / "breast-cancer" / "train.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    inner = module.build(train, {k: v for k, v in params.items() if k != "misbehave"})
    return Misbehaving(inner, str(params["misbehave"]))
