"""Paired tests and the numpy metrics the bootstrap relies on."""

from __future__ import annotations

import numpy as np
import pytest

from modelci.gate.metrics import metric, quick_metric
from modelci.gate.stats import mcnemar_exact, paired_bootstrap
from modelci.scoring import metric_names


def test_mcnemar_counts_only_discordant_rows() -> None:
    cand = np.array([True] * 90 + [False] * 10)
    base = np.array([True] * 90 + [True] * 10)  # the candidate is newly wrong on 10 rows
    p, worse, better = mcnemar_exact(cand, base)
    assert (worse, better) == (10, 0)
    assert p == pytest.approx(0.5 ** 10)
    p_same, *_ = mcnemar_exact(base, base)
    assert p_same == 1.0


def test_mcnemar_a_few_flips_are_not_significant() -> None:
    cand = np.array([True] * 95 + [False] * 3 + [True] * 2)
    base = np.array([True] * 95 + [True] * 3 + [False] * 2)
    p, worse, better = mcnemar_exact(cand, base)
    assert (worse, better) == (3, 2) and p > 0.4


def _pair(n: int, worse: int, better: int = 0, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, and two models that disagree on ``worse`` + ``better`` rows."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    base = y.copy()
    base[rng.choice(n, n // 10, replace=False)] ^= 1
    cand = base.copy()
    cand[np.flatnonzero(cand == y)[:worse]] ^= 1
    cand[np.flatnonzero(base != y)[:better]] ^= 1
    return y, cand, base


@pytest.mark.parametrize(("n", "worse", "better", "significant"), [
    pytest.param(2000, 6, 3, False, id="tiny-drop-is-noise"),
    pytest.param(2000, 120, 20, True, id="large-drop-is-significant"),
    pytest.param(200_000, 2000, 1000, True, id="large-holdout-subsampled-and-rescaled"),
    pytest.param(200_000, 1010, 1000, False, id="large-holdout-tiny-drop-is-noise"),
])
def test_paired_bootstrap(n: int, worse: int, better: int, significant: bool) -> None:
    y, cand, base = _pair(n, worse, better)

    def score(idx: np.ndarray) -> tuple[float, float]:
        return quick_metric("f1", y[idx], cand[idx], None, 2), quick_metric("f1", y[idx], base[idx], None, 2)

    delta = metric("f1", y, cand, None, 2) - metric("f1", y, base, None, 2)
    test = paired_bootstrap(score, n, delta, greater_is_better=True, resamples=1000, seed=0)
    assert test.ci_low <= delta <= test.ci_high
    assert (test.p_value < 0.05) is significant
    assert ("rescaled" in test.detail) is (n > 10_000)
    again = paired_bootstrap(score, n, delta, greater_is_better=True, resamples=1000, seed=0)
    assert again == test, "a fixed seed gives the same interval"


def test_rescaled_interval_matches_full_bootstrap_width() -> None:
    y, cand, base = _pair(60_000, 600, 300)

    def score(idx: np.ndarray) -> tuple[float, float]:
        return float(np.mean(y[idx] == cand[idx])), float(np.mean(y[idx] == base[idx]))

    delta = float(np.mean(y == cand) - np.mean(y == base))
    full = paired_bootstrap(score, len(y), delta, True, resamples=400, max_rows=len(y))
    sub = paired_bootstrap(score, len(y), delta, True, resamples=400, max_rows=10_000)
    width_full, width_sub = full.ci_high - full.ci_low, sub.ci_high - sub.ci_low
    assert width_sub == pytest.approx(width_full, rel=0.25)


def _data(task: str, k: int, n: int = 500, seed: int = 3):
    rng = np.random.default_rng(seed)
    if task == "regression":
        y = rng.normal(10, 3, n)
        return y, y + rng.normal(0, 1, n), None
    y = rng.integers(0, k, n)
    proba = rng.dirichlet(np.ones(k), n)
    proba[np.arange(n), y] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    return y, proba.argmax(axis=1), proba


@pytest.mark.parametrize(("task", "k"), [
    pytest.param("classification", 2, id="binary"),
    pytest.param("classification", 3, id="multiclass"),
    pytest.param("regression", 0, id="regression"),
])
def test_quick_metrics_equal_scikit_learn(task: str, k: int) -> None:
    y, pred, proba = _data(task, k)
    for name in metric_names(task):
        assert quick_metric(name, y, pred, proba, k) == pytest.approx(metric(name, y, pred, proba, k), abs=1e-9), name
