"""Each rule on its own: typed inputs, an explicit verdict and a reason a person can read."""

from __future__ import annotations

import math

import pytest

from modelci.conditions import parse_condition
from modelci.gate.rules import (
    BudgetRule,
    MetricComparison,
    RegressionRule,
    SliceRule,
    ThresholdRule,
    rules_from_spec,
)
from modelci.gate.stats import PairedTest


def _test(p: float) -> PairedTest:
    return PairedTest("paired-bootstrap", 0.0, -0.1, 0.1, 0.95, p)


@pytest.mark.parametrize(("metric", "condition", "value", "verdict", "reason"), [
    pytest.param("accuracy", ">= 0.85", 0.90, "pass", "accuracy = 0.9000, >= 0.85 holds", id="accuracy-above"),
    pytest.param("accuracy", ">= 0.85", 0.80, "fail", "accuracy = 0.8000, needs >= 0.85", id="accuracy-below"),
    pytest.param("accuracy", ">= 0.85", 0.85, "pass", ">= 0.85 holds", id="accuracy-on-the-line"),
    pytest.param("log_loss", "< 0.3", 0.25, "pass", "log_loss = 0.2500, < 0.3 holds", id="log-loss-under"),
    pytest.param("rmse", "< 10", 12.0, "fail", "needs < 10", id="rmse-over"),
    pytest.param("accuracy", ">= 0.85", None, "fail", "could not be computed", id="metric-missing"),
])
def test_threshold(metric: str, condition: str, value: float | None, verdict: str, reason: str) -> None:
    comparison = MetricComparison(metric, value, candidate_error=None if value is not None else "boom")
    result = ThresholdRule(metric, parse_condition(condition)).check(comparison)
    assert result.verdict == verdict and reason in result.reason


@pytest.mark.parametrize(("metric", "baseline", "candidate", "allowed", "relative", "verdict", "observed"), [
    pytest.param("f1", 0.90, 0.895, 0.01, False, "pass", 0.005, id="f1-small-drop-within"),
    pytest.param("f1", 0.90, 0.87, 0.01, False, "fail", 0.03, id="f1-drop-beyond"),
    pytest.param("f1", 0.90, 0.95, 0.0, False, "pass", -0.05, id="f1-improved"),
    pytest.param("rmse", 10.0, 10.5, 0.2, False, "fail", 0.5, id="rmse-rose-lower-is-better"),
    pytest.param("rmse", 10.0, 9.0, 0.0, False, "pass", -1.0, id="rmse-fell-is-better"),
    pytest.param("roc_auc", 0.80, 0.79, 0.02, True, "pass", 0.0125, id="relative-within"),
    pytest.param("roc_auc", 0.80, 0.76, 0.02, True, "fail", 0.05, id="relative-beyond"),
    pytest.param("r2", -0.5, -0.6, 0.1, True, "fail", 0.2, id="relative-uses-abs-of-negative-baseline"),
    pytest.param("mae", 0.0, 0.1, 0.5, True, "fail", math.inf, id="relative-from-zero-baseline"),
])
def test_regression(metric: str, baseline: float, candidate: float, allowed: float, relative: bool, verdict: str,
                    observed: float) -> None:
    comparison = MetricComparison(metric, candidate, baseline)
    result = RegressionRule(metric, allowed, relative, None).check(comparison, has_baseline=True)
    assert result.verdict == verdict, result.reason
    assert result.observed == pytest.approx(observed)
    assert result.rule == ("max_relative_regression" if relative else "max_regression")


@pytest.mark.parametrize(("p_value", "verdict", "phrase"), [
    pytest.param(0.001, "fail", "the drop is significant", id="significant-drop-fails"),
    pytest.param(0.40, "pass", "not significant", id="insignificant-drop-passes"),
])
def test_regression_with_significance(p_value: float, verdict: str, phrase: str) -> None:
    comparison = MetricComparison("f1", 0.87, 0.90, test=_test(p_value))
    result = RegressionRule("f1", 0.01, False, 0.05).check(comparison, has_baseline=True)
    assert result.verdict == verdict and phrase in result.reason


def test_within_the_allowance_passes_whatever_the_test_says() -> None:
    comparison = MetricComparison("f1", 0.899, 0.90, test=_test(0.0001))
    assert RegressionRule("f1", 0.01, False, 0.05).check(comparison, has_baseline=True).verdict == "pass"


@pytest.mark.parametrize(("comparison", "has_baseline", "verdict", "phrase"), [
    pytest.param(None, False, "skip", "no baseline (first run)", id="first-run-skips"),
    pytest.param(MetricComparison("f1", None, 0.9, candidate_error="no proba"), True, "fail",
                 "could not be computed for the candidate (no proba)", id="candidate-metric-missing"),
    pytest.param(MetricComparison("f1", 0.9, None, baseline_error="no proba"), True, "fail",
                 "could not be computed for the baseline (no proba)", id="baseline-metric-missing"),
    pytest.param(MetricComparison("f1", 0.8, 0.9), True, "fail", "no significance test could be run",
                 id="significance-without-test-fails"),
])
def test_regression_explicit_outcomes(comparison, has_baseline: bool, verdict: str, phrase: str) -> None:
    result = RegressionRule("f1", 0.01, False, 0.05).check(comparison, has_baseline=has_baseline)
    assert result.verdict == verdict and phrase in result.reason


@pytest.mark.parametrize(("value", "verdict", "phrase"), [
    pytest.param(0.9, "pass", "recall = 0.9000 on slice region=north (40 rows), >= 0.7 holds", id="slice-ok"),
    pytest.param(0.5, "fail", "needs >= 0.7", id="slice-below"),
    pytest.param(None, "fail", "could not be computed", id="slice-undefined"),
])
def test_slice(value: float | None, verdict: str, phrase: str) -> None:
    result = SliceRule("region", "recall", parse_condition(">= 0.7")).check("north", 40, value, "no rows")
    assert result.verdict == verdict and phrase in result.reason and result.slice == "region=north"


@pytest.mark.parametrize(("name", "limit", "observed", "verdict"), [
    pytest.param("latency_p95_ms", 20, 3.0, "pass", id="latency-within"),
    pytest.param("latency_p95_ms", 20, 25.0, "fail", id="latency-over"),
    pytest.param("size_mb", 100, 100.0, "pass", id="size-on-the-limit"),
    pytest.param("size_mb", 1, 2.5, "fail", id="size-over"),
    pytest.param("size_mb", 1, None, "fail", id="size-unmeasured"),
])
def test_budget(name: str, limit: float, observed: float | None, verdict: str) -> None:
    assert BudgetRule(name, limit).check(observed).verdict == verdict


def test_rules_from_spec() -> None:
    from modelci.config import BudgetSpec, GateSpec, SliceSpec

    spec = GateSpec(thresholds={"accuracy": parse_condition(">= 0.8")}, max_regression={"f1": 0.01},
                    max_relative_regression={"roc_auc": 0.02}, significance=0.05,
                    slices=(SliceSpec("region", {"recall": parse_condition(">= 0.7")}),),
                    budgets=BudgetSpec(latency_p95_ms=20))
    rules = rules_from_spec(spec)
    assert [r.kind for r in rules.regressions] == ["max_regression", "max_relative_regression"]
    assert all(r.significance == 0.05 for r in rules.regressions)
    assert [b.name for b in rules.budgets] == ["latency_p95_ms"]
    assert rules.slices[0].column == "region" and not rules.empty
    assert rules_from_spec(GateSpec()).empty
