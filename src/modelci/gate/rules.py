"""Gate rules as typed values, each checked into an explicit result with a reason a person can read.

Direction comes from the metric (``scoring.METRICS[name].greater_is_better``):

    drop          = b - c   when higher is better     (c - b when lower is better)
    relative drop = drop / |b|
    max_regression: fails when drop > allowed; max_relative_regression: when relative drop > allowed

where b is the baseline's value and c the candidate's, on the same holdout rows.
With ``significance`` set, a drop beyond the allowance fails only when the paired
test also calls it significant (one-sided p < significance).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..conditions import Condition
from ..config import GateSpec
from ..scoring import METRICS
from .stats import PairedTest, format_p

PASS, FAIL, SKIP = "pass", "fail", "skip"
FORMULAS = {
    "max_regression": "drop = b - c if higher is better, c - b if lower is better; fails when drop > allowed",
    "max_relative_regression": "relative drop = (b - c) / |b| if higher is better, (c - b) / |b| if lower "
                               "is better; fails when relative drop > allowed",
}


@dataclass(frozen=True)
class RuleResult:
    rule: str  # threshold | max_regression | max_relative_regression | slice | budget
    metric: str
    verdict: str  # pass | fail | skip
    reason: str
    observed: float | None = None
    limit: str = ""
    slice: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MetricComparison:
    """One metric on both models; a value is None when it could not be computed (``*_error`` says why)."""

    name: str
    candidate: float | None
    baseline: float | None = None
    candidate_error: str | None = None
    baseline_error: str | None = None
    test: PairedTest | None = None

    @property
    def greater_is_better(self) -> bool:
        return METRICS[self.name].greater_is_better

    @property
    def delta(self) -> float | None:
        """c - b."""
        if self.candidate is None or self.baseline is None:
            return None
        return self.candidate - self.baseline

    @property
    def drop(self) -> float | None:
        """How much worse the candidate is (negative: better), in the metric's own units."""
        if self.delta is None:
            return None
        return -self.delta if self.greater_is_better else self.delta

    def relative_drop(self) -> float | None:
        drop = self.drop
        if drop is None or self.baseline is None:
            return None
        if self.baseline == 0:
            return 0.0 if drop <= 0 else math.inf
        return drop / abs(self.baseline)


@dataclass(frozen=True)
class ThresholdRule:
    metric: str
    condition: Condition

    def check(self, comparison: MetricComparison | None) -> RuleResult:
        limit = str(self.condition)
        value = comparison.candidate if comparison else None
        if value is None:
            why = comparison.candidate_error if comparison else "it was not computed"
            return RuleResult("threshold", self.metric, FAIL, f"{self.metric} could not be computed for the "
                              f"candidate ({why}); a metric that cannot be computed fails", None, limit)
        if self.condition.holds(value):
            return RuleResult("threshold", self.metric, PASS, f"{self.metric} = {value:.4f}, {limit} holds",
                              value, limit)
        return RuleResult("threshold", self.metric, FAIL, f"{self.metric} = {value:.4f}, needs {limit}", value, limit)


@dataclass(frozen=True)
class RegressionRule:
    metric: str
    allowed: float
    relative: bool
    significance: float | None

    @property
    def kind(self) -> str:
        return "max_relative_regression" if self.relative else "max_regression"

    def check(self, comparison: MetricComparison | None, has_baseline: bool) -> RuleResult:
        what = "relative drop" if self.relative else "drop"
        limit = f"{what} <= {self.allowed:g}"
        if not has_baseline:
            return RuleResult(self.kind, self.metric, SKIP, "no baseline (first run): comparisons are skipped",
                              None, limit)
        if comparison is None or comparison.candidate is None or comparison.baseline is None:
            role, why = ("candidate", comparison.candidate_error) if comparison and comparison.candidate is None \
                else ("baseline", comparison.baseline_error if comparison else "it was not computed")
            return RuleResult(self.kind, self.metric, FAIL, f"{self.metric} could not be computed for the {role} "
                              f"({why}); a metric that cannot be computed fails", None, limit)
        value = comparison.relative_drop() if self.relative else comparison.drop
        assert value is not None
        shown = f"{value:.2%}" if self.relative else f"{value:.4f}"
        allowed = f"{self.allowed:.2%}" if self.relative else f"{self.allowed:g}"
        if value <= self.allowed:
            if value <= 0:
                return RuleResult(self.kind, self.metric, PASS, f"{self.metric} did not drop "
                                  f"({comparison.baseline:.4f} -> {comparison.candidate:.4f})", value, limit)
            return RuleResult(self.kind, self.metric, PASS, f"{self.metric} {what} {shown} is within the allowed "
                              f"{allowed}", value, limit)
        beyond = f"{self.metric} {what} {shown} exceeds the allowed {allowed}"
        if self.significance is None:
            return RuleResult(self.kind, self.metric, FAIL, beyond, value, limit)
        test = comparison.test
        if test is None:
            return RuleResult(self.kind, self.metric, FAIL, f"{beyond} and no significance test could be run",
                              value, limit)
        p = f"{test.test} {format_p(test.p_value)}"
        if test.p_value < self.significance:
            return RuleResult(self.kind, self.metric, FAIL, f"{beyond}, and the drop is significant ({p} < "
                              f"{self.significance:g})", value, limit)
        return RuleResult(self.kind, self.metric, PASS, f"{beyond}, but the drop is not significant ({p} >= "
                          f"{self.significance:g}): treated as noise", value, limit)


@dataclass(frozen=True)
class SliceRule:
    column: str
    metric: str
    condition: Condition

    def check(self, value_name: str, rows: int, value: float | None, error: str | None) -> RuleResult:
        where = f"{self.column}={value_name}"
        limit = str(self.condition)
        if value is None:
            return RuleResult("slice", self.metric, FAIL, f"{self.metric} on slice {where} ({rows} rows) could not "
                              f"be computed ({error})", None, limit, where)
        ok = self.condition.holds(value)
        text = f"{self.metric} = {value:.4f} on slice {where} ({rows} rows), " + (
            f"{limit} holds" if ok else f"needs {limit}")
        return RuleResult("slice", self.metric, PASS if ok else FAIL, text, value, limit, where)


@dataclass(frozen=True)
class BudgetRule:
    name: str  # latency_p95_ms | size_mb
    limit: float

    def check(self, observed: float | None) -> RuleResult:
        limit = f"<= {self.limit:g}"
        unit = "ms" if self.name == "latency_p95_ms" else "MB"
        if observed is None:
            return RuleResult("budget", self.name, FAIL, f"{self.name} could not be measured", None, limit)
        ok = observed <= self.limit
        text = f"{self.name} = {observed:.2f} {unit}, " + (f"within {self.limit:g} {unit}" if ok
                                                          else f"over the budget of {self.limit:g} {unit}")
        return RuleResult("budget", self.name, PASS if ok else FAIL, text, observed, limit)


@dataclass(frozen=True)
class RuleSet:
    thresholds: tuple[ThresholdRule, ...]
    regressions: tuple[RegressionRule, ...]
    slices: tuple[SliceRule, ...]
    budgets: tuple[BudgetRule, ...]

    @property
    def empty(self) -> bool:
        return not (self.thresholds or self.regressions or self.slices or self.budgets)


def rules_from_spec(gate: GateSpec) -> RuleSet:
    regressions = [RegressionRule(m, a, False, gate.significance) for m, a in gate.max_regression.items()]
    regressions += [RegressionRule(m, a, True, gate.significance) for m, a in gate.max_relative_regression.items()]
    budgets: list[BudgetRule] = []
    if gate.budgets.latency_p95_ms is not None:
        budgets.append(BudgetRule("latency_p95_ms", gate.budgets.latency_p95_ms))
    if gate.budgets.size_mb is not None:
        budgets.append(BudgetRule("size_mb", gate.budgets.size_mb))
    return RuleSet(
        thresholds=tuple(ThresholdRule(m, c) for m, c in gate.thresholds.items()),
        regressions=tuple(regressions),
        slices=tuple(SliceRule(s.column, m, c) for s in gate.slices for m, c in _items(s.thresholds)),
        budgets=tuple(budgets),
    )


def _items(mapping: Mapping[str, Condition]) -> list[tuple[str, Condition]]:
    return list(mapping.items())
