"""modelci train: fit the model, record its lineage, register an immutable version."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import artifact
from .config import Config
from .data import Dataset, non_numeric_columns, read_frame, split_xy
from .errors import DataError, UsageError
from .estimators import build_declarative, call_entrypoint, load_entrypoint
from .lineage import git_info, package_versions
from .profile import build_profile
from .registry import ModelVersion, Registry, VersionDraft
from .scoring import DEFAULT_METRICS, METRICS, compute_metric
from .signature import infer_signature, input_example


@dataclass(frozen=True)
class TrainResult:
    version: ModelVersion
    registry_uri: str
    duration_s: float
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self.version.metrics)


def train(config: Config, registry: Registry) -> TrainResult:
    """Fit, evaluate on the holdout and register. Every check on input runs before fitting."""
    started = time.perf_counter()
    registry.check_writable()
    spec = config.model
    fit_fn = load_entrypoint(spec.entrypoint, config.base_dir) if spec.entrypoint else None
    estimator = build_declarative(spec.estimator) if spec.estimator else None

    train_ds = read_frame(config.data.train, "train")
    test_ds = read_frame(config.data.test, "test")
    X_train, y_train = split_xy(train_ds, "train", config.data.target, config.data.features)
    X_test, y_test = split_xy(test_ds, "test", config.data.target, list(X_train.columns))
    if estimator is not None and (bad := non_numeric_columns(X_train)):
        raise DataError(
            f"data.train: column(s) {', '.join(map(repr, bad))} are not numeric, and the declarative "
            f"estimator {spec.estimator.class_path if spec.estimator else ''} cannot take text. Encode them "
            "in the data, list only numeric columns in data.features, or use model.entrypoint with a "
            "scikit-learn Pipeline that encodes them (e.g. OneHotEncoder)."
        )
    _check_task(config.model.task, y_train)

    if fit_fn is not None:
        model = call_entrypoint(fit_fn, spec.entrypoint or "", train_ds.frame, spec.params)
    else:
        try:
            model = estimator.fit(X_train, y_train)  # type: ignore[union-attr]
        except ValueError as exc:
            raise DataError(f"fitting {spec.estimator.class_path if spec.estimator else 'the model'} "
                            f"on {train_ds.path.name} failed: {exc}") from None
        model = estimator

    metrics, warnings, predictions = evaluate(model, config, X_test, y_test)
    classes = list(getattr(model, "classes_", [])) if config.model.task == "classification" else None
    with tempfile.TemporaryDirectory(prefix="modelci-train-") as tmp:
        path = Path(tmp) / artifact.ARTIFACT_NAME
        shipped = artifact.save_model(model, path, project=config.base_dir if spec.entrypoint else None)
        draft = _draft(config, model, train_ds=train_ds, test_ds=test_ds, X_train=X_train, X_test=X_test,
                       metrics=metrics, predictions=predictions, classes=classes, shipped=shipped, started=started)
        version = registry.register(draft, path)
    return TrainResult(version=version, registry_uri=registry.uri,
                       duration_s=time.perf_counter() - started, warnings=tuple(warnings))


def _draft(config: Config, model: Any, *, train_ds: Dataset, test_ds: Dataset, X_train: Any, X_test: Any,
           metrics: dict[str, float], predictions: list[Any], classes: list[Any] | None, shipped: list[str],
           started: float) -> VersionDraft:
    spec = config.model
    return VersionDraft(
        name=spec.name, flavor=artifact.FLAVOR, task=spec.task,
        signature=infer_signature(X_train, spec.task, classes),
        input_example=input_example(X_test, predictions),
        params=_params(config, model), metrics=metrics,
        data={"train": train_ds.fingerprint(), "test": test_ds.fingerprint(), "target": config.data.target},
        git=git_info(config.base_dir), packages=package_versions(),
        extra={
            "estimator": f"{type(model).__module__}.{type(model).__qualname__}",
            "prediction_profile": build_profile(predictions, spec.task),
            "train_duration_s": round(time.perf_counter() - started, 3),
            "config": config.source,
            "code_modules": shipped,
        },
    )


def evaluate(model: Any, config: Config, X: Any, y: Any) -> tuple[dict[str, float], list[str], list[Any]]:
    """The task's metrics on the holdout; a metric that cannot be computed becomes a warning."""
    task = config.model.task
    try:
        predictions = list(model.predict(X))
    except Exception as exc:
        raise UsageError(f"the trained model failed to predict on {config.data.test.name}: "
                         f"{type(exc).__name__}: {exc}") from exc
    proba = None
    classes = getattr(model, "classes_", None)
    if task == "classification" and hasattr(model, "predict_proba"):
        try:
            proba = model.predict_proba(X)
        except Exception:
            proba = None
    names = list(dict.fromkeys([*DEFAULT_METRICS[task], *config.gate.metrics]))
    metrics: dict[str, float] = {}
    warnings: list[str] = []
    for name in names:
        if METRICS[name].task != task:
            continue
        try:
            metrics[name] = round(compute_metric(name, y, predictions, proba, classes), 6)
        except ValueError as exc:
            warnings.append(f"metric {name} was not computed: {exc}")
    return metrics, warnings, predictions


def _check_task(task: str, y: Any) -> None:
    import pandas as pd

    if task == "regression" and not pd.api.types.is_numeric_dtype(y):
        raise DataError("model.task is regression but the target column is not numeric; "
                        "set model.task: classification or fix the target.")
    if task == "classification" and y.nunique() < 2:
        raise DataError("the training target has a single class; classification needs at least two.")
    if task == "classification" and pd.api.types.is_float_dtype(y) and y.nunique() > 50:
        raise DataError(f"model.task is classification but the target has {y.nunique()} distinct "
                        "float values; did you mean model.task: regression?")


def _params(config: Config, model: Any) -> dict[str, Any]:
    params: dict[str, Any] = dict(config.model.params)
    if config.model.estimator is not None:
        params.update(config.model.estimator.params)
    return params


def render_markdown(result: TrainResult) -> str:
    v = result.version
    lines = [
        f"### modelci train: registered `{v.ref}`",
        "",
        f"Registry `{result.registry_uri}`, artifact `{v.artifact_digest[:19]}…` "
        f"({v.artifact_size / 1024:.1f} KiB), trained in {result.duration_s:.1f} s.",
        "",
        "| metric | holdout value |",
        "|---|---|",
        *[f"| {k} | {val:.4f} |" for k, val in v.metrics.items()],
        "",
        "| lineage | |",
        "|---|---|",
        f"| git sha | `{v.git.get('sha') or 'unknown'}` |",
        f"| train data | `{v.data['train']['sha256'][:19]}…` ({v.data['train']['rows']} rows) |",
        f"| test data | `{v.data['test']['sha256'][:19]}…` ({v.data['test']['rows']} rows) |",
        f"| estimator | `{v.extra.get('estimator')}` |",
    ]
    lines += [f"\n> [!WARNING]\n> {w}" for w in result.warnings]
    return "\n".join(lines) + "\n"
