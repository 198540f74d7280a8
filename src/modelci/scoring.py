"""Metrics by name: what each one needs, which direction is better, how to compute it.

The table is import-cheap (config validation uses it); scikit-learn is imported
only when a metric is computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MetricInfo:
    name: str
    task: str  # "classification" | "regression"
    greater_is_better: bool
    needs_proba: bool = False
    description: str = ""


_CLASSIFICATION = [
    MetricInfo("accuracy", "classification", True, description="share of rows predicted right"),
    MetricInfo("balanced_accuracy", "classification", True, description="mean recall over classes"),
    MetricInfo("precision", "classification", True, description="binary, or macro for multiclass"),
    MetricInfo("precision_macro", "classification", True),
    MetricInfo("precision_weighted", "classification", True),
    MetricInfo("recall", "classification", True, description="binary, or macro for multiclass"),
    MetricInfo("recall_macro", "classification", True),
    MetricInfo("recall_weighted", "classification", True),
    MetricInfo("f1", "classification", True, description="binary, or macro for multiclass"),
    MetricInfo("f1_macro", "classification", True),
    MetricInfo("f1_weighted", "classification", True),
    MetricInfo("roc_auc", "classification", True, needs_proba=True,
               description="one-vs-rest for multiclass"),
    MetricInfo("log_loss", "classification", False, needs_proba=True),
]
_REGRESSION = [
    MetricInfo("rmse", "regression", False, description="root mean squared error"),
    MetricInfo("mae", "regression", False, description="mean absolute error"),
    MetricInfo("r2", "regression", True, description="coefficient of determination"),
    MetricInfo("mape", "regression", False, description="mean absolute percentage error"),
]
METRICS: dict[str, MetricInfo] = {m.name: m for m in _CLASSIFICATION + _REGRESSION}
DEFAULT_METRICS = {
    "classification": ("accuracy", "f1", "roc_auc"),
    "regression": ("rmse", "mae", "r2"),
}


def metric_names(task: str) -> list[str]:
    return [m.name for m in METRICS.values() if m.task == task]


def compute_metric(
    name: str, y_true: Sequence[Any], y_pred: Sequence[Any], proba: Any | None, classes: Sequence[Any] | None
) -> float:
    """Compute one metric. Raises ValueError when it cannot be computed."""
    import numpy as np
    from sklearn import metrics as skm

    info = METRICS[name]
    if info.needs_proba and proba is None:
        raise ValueError(f"{name} needs predicted probabilities and the model has no predict_proba")
    if info.task == "regression":
        yt = np.asarray(y_true, dtype=float)
        yp = np.asarray(y_pred, dtype=float)
        if name == "rmse":
            return float(np.sqrt(np.mean((yt - yp) ** 2)))
        if name == "mae":
            return float(np.mean(np.abs(yt - yp)))
        if name == "r2":
            return float(skm.r2_score(yt, yp))
        return float(skm.mean_absolute_percentage_error(yt, yp))
    labels = list(classes) if classes is not None else sorted(set(y_true) | set(y_pred))
    binary = len(labels) == 2
    base, _, avg = name.partition("_")
    if name in ("accuracy",):
        return float(skm.accuracy_score(y_true, y_pred))
    if name == "balanced_accuracy":
        return float(skm.balanced_accuracy_score(y_true, y_pred))
    if base in ("precision", "recall", "f1"):
        average = avg or ("binary" if binary else "macro")
        fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[base]
        kwargs: dict[str, Any] = {"average": average, "zero_division": 0}
        if average == "binary":
            kwargs["pos_label"] = labels[1]
        else:
            kwargs["labels"] = labels
        return float(fn(y_true, y_pred, **kwargs))
    if name == "roc_auc":
        if len(set(y_true)) < 2:
            raise ValueError("roc_auc needs at least two classes in the holdout")
        if binary:
            return float(skm.roc_auc_score(y_true, np.asarray(proba)[:, 1], labels=labels))
        return float(skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=labels))
    if name == "log_loss":
        return float(skm.log_loss(y_true, proba, labels=labels))
    raise ValueError(f"unknown metric {name!r}")
