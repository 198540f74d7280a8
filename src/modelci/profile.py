"""Prediction profiles: the distribution of a model's predictions on the holdout.

Recorded at training time so that verification can measure drift (PSI) of the
served predictions against what the model predicted on the test set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any


def build_profile(predictions: Sequence[Any], task: str, bins: int = 10) -> dict[str, Any]:
    import numpy as np

    if task == "classification":
        labels, counts = np.unique(np.asarray(predictions).astype(str), return_counts=True)
        return {"kind": "categorical", "counts": {str(k): int(v) for k, v in zip(labels, counts, strict=True)}}
    values = np.asarray(predictions, dtype=float)
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)))
    inner = edges[1:-1].tolist()
    counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1)
    return {"kind": "numeric", "edges": inner, "counts": [int(c) for c in counts]}


def observed_counts(profile: Mapping[str, Any], predictions: Sequence[Any]) -> list[int]:
    """Bin ``predictions`` the way ``profile`` was binned."""
    import bisect

    if profile["kind"] == "categorical":
        keys = list(profile["counts"])
        index = {k: i for i, k in enumerate(keys)}
        out = [0] * (len(keys) + 1)  # last slot: classes never seen at training time
        for p in predictions:
            out[index.get(str(p), len(keys))] += 1
        return out
    edges = profile["edges"]
    out = [0] * (len(edges) + 1)
    for p in predictions:
        out[bisect.bisect_right(edges, float(p))] += 1
    return out


def psi(profile: Mapping[str, Any], predictions: Sequence[Any], eps: float = 1e-4) -> float:
    """Population stability index of ``predictions`` against the recorded profile."""
    expected = list(profile["counts"].values()) if profile["kind"] == "categorical" else list(profile["counts"])
    observed = observed_counts(profile, predictions)
    if profile["kind"] == "categorical":
        expected = [*expected, 0]
    total_e, total_o = sum(expected), sum(observed)
    if total_e == 0 or total_o == 0:
        return 0.0
    value = 0.0
    for e, o in zip(expected, observed, strict=True):
        pe, po = max(e / total_e, eps), max(o / total_o, eps)
        value += (po - pe) * math.log(po / pe)
    return value
