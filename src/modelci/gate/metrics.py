"""Metrics on encoded per-row arrays, fast enough to repeat a thousand times for the bootstrap.

Labels are integer codes 0..k-1 (see :mod:`modelci.gate.evaluate`); the point
estimates use :func:`modelci.scoring.compute_metric` (scikit-learn), and
:func:`quick_metric` computes the same numbers with plain numpy so that the
paired bootstrap can afford 1,000 resamples. Metrics without a numpy path fall
back to scikit-learn.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from ..scoring import METRICS, compute_metric

_CONFUSION = {"balanced_accuracy", "precision", "recall", "f1", "precision_macro", "recall_macro",
              "f1_macro", "precision_weighted", "recall_weighted", "f1_weighted"}


def metric(name: str, y: Any, pred: Any, proba: Any | None, k: int) -> float:
    """The authoritative value of one metric (scikit-learn). Raises ValueError if it cannot be computed."""
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}")
    classes = list(range(k)) if METRICS[name].task == "classification" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined-metric warnings: the value (0) is reported as is
        value = compute_metric(name, y, pred, proba, classes)
    if math.isnan(value):
        raise ValueError(f"{name} is undefined on these rows")
    return value


def quick_metric(name: str, y: Any, pred: Any, proba: Any, k: int) -> float:
    """The same value as :func:`metric`, in numpy where possible."""
    import numpy as np

    info = METRICS[name]
    if info.needs_proba and proba is None:
        raise ValueError(f"{name} needs predicted probabilities and the model has no predict_proba")
    if info.task == "regression":
        yt = np.asarray(y, dtype=float)
        err = yt - np.asarray(pred, dtype=float)
        if name == "rmse":
            return float(np.sqrt(np.mean(err * err)))
        if name == "mae":
            return float(np.mean(np.abs(err)))
        if name == "mape":
            return float(np.mean(np.abs(err) / np.maximum(np.abs(yt), np.finfo(np.float64).eps)))
        total = float(np.sum((yt - yt.mean()) ** 2))
        if total == 0.0:
            return metric(name, y, pred, proba, k)
        return 1.0 - float(np.sum(err * err)) / total
    if name == "accuracy":
        return float(np.mean(y == pred))
    if name in _CONFUSION:
        return _from_confusion(name, np.bincount(y * k + pred, minlength=k * k).reshape(k, k), k)
    if name == "roc_auc" and k == 2:
        from scipy.stats import rankdata

        positive = y == 1
        n1 = int(np.count_nonzero(positive))
        n0 = len(y) - n1
        if n1 == 0 or n0 == 0:
            raise ValueError("roc_auc needs at least two classes in the rows")
        ranks = rankdata(proba[:, 1])
        return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
    if name == "log_loss":
        p = proba[np.arange(len(y)), y] / proba.sum(axis=1)
        eps = np.finfo(proba.dtype).eps
        return float(-np.mean(np.log(np.clip(p, eps, 1 - eps))))
    return metric(name, y, pred, proba, k)


def _from_confusion(name: str, cm: Any, k: int) -> float:
    import numpy as np

    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    if name == "balanced_accuracy":
        present = support > 0
        return float(np.mean(tp[present] / support[present]))
    base, _, average = name.partition("_")
    with np.errstate(divide="ignore", invalid="ignore"):
        if base == "precision":
            per_class = np.where(predicted > 0, tp / predicted, 0.0)
        elif base == "recall":
            per_class = np.where(support > 0, tp / support, 0.0)
        else:
            denominator = support + predicted
            per_class = np.where(denominator > 0, 2 * tp / denominator, 0.0)
    average = average or ("binary" if k == 2 else "macro")
    if average == "binary":
        return float(per_class[1])
    if average == "macro":
        return float(per_class.mean())
    total = support.sum()
    return float((per_class * support).sum() / total) if total else 0.0
