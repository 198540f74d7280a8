"""modelci gate: candidate vs baseline on the same holdout rows, decided by typed rules.

Baseline policy (see docs/gate.md):
- ``--baseline REF`` given: it must exist (exit 2 otherwise).
- ``gate.baseline: none``: no comparison; comparison rules are skipped.
- ``gate.baseline: ALIAS`` (default champion) and the alias exists: compared against it.
- the alias does not exist and never has (no ``alias_set`` event for it): the first run.
  Absolute rules only (thresholds, slices, budgets), and the report says so.
- the alias existed once and has been removed: exit 2, because a comparison the config
  asks for cannot be made and silently skipping it would let any model through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .. import artifact
from ..config import Config
from ..errors import ConfigError, ReferenceNotFound, UsageError
from ..refs import parse_ref
from ..registry import ModelVersion, Registry
from ..scoring import METRICS
from ..signature import columns_mismatch
from .evaluate import CHUNK_ROWS, LATENCY_CALLS, Scored, Scorer, score_holdout
from .metrics import metric, quick_metric
from .rules import FAIL, SKIP, MetricComparison, RuleResult, RuleSet, rules_from_spec
from .stats import DEFAULT_RESAMPLES, DEFAULT_SEED, PairedTest, mcnemar_exact, paired_bootstrap

MCNEMAR_METRICS = frozenset({"accuracy"})


@dataclass(frozen=True)
class GateRequest:
    candidate: str | None = None
    baseline: str | None = None
    chunk_rows: int = CHUNK_ROWS
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    latency_calls: int = LATENCY_CALLS


@dataclass(frozen=True)
class SliceValue:
    column: str
    value: str
    rows: int
    candidate: dict[str, float | None]
    baseline: dict[str, float | None]


@dataclass(frozen=True)
class GateResult:
    model: str
    task: str
    candidate: ModelVersion
    baseline: ModelVersion | None
    first_run: bool
    rows: int
    alpha: float
    significance: float | None
    comparisons: tuple[MetricComparison, ...]
    rules: tuple[RuleResult, ...]
    slices: tuple[SliceValue, ...]
    measured: dict[str, dict[str, float | None]]  # latency_p95_ms/size_mb -> role -> value
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return not any(r.verdict == FAIL for r in self.rules)

    @property
    def failures(self) -> list[RuleResult]:
        return [r for r in self.rules if r.verdict == FAIL]

    def metrics(self, role: str) -> dict[str, float]:
        out = {}
        for c in self.comparisons:
            value = c.candidate if role == "candidate" else c.baseline
            if value is not None:
                out[c.name] = round(value, 6)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed, "model": self.model, "task": self.task,
            "candidate": self.candidate.ref, "baseline": self.baseline.ref if self.baseline else None,
            "first_run": self.first_run, "rows": self.rows, "significance": self.significance,
            "metrics": {"candidate": self.metrics("candidate"), "baseline": self.metrics("baseline")},
            "comparisons": [_comparison_dict(c) for c in self.comparisons],
            "rules": [r.to_dict() for r in self.rules],
            "slices": [{"column": s.column, "value": s.value, "rows": s.rows, "candidate": s.candidate,
                        "baseline": s.baseline} for s in self.slices],
            "budgets": self.measured, "notes": list(self.notes),
        }


def run_gate(config: Config, registry: Registry, request: GateRequest) -> GateResult:
    """Score, decide, and record a ``gated`` event on the candidate."""
    spec = config.gate
    rules = rules_from_spec(spec)
    if rules.empty:
        raise ConfigError(
            f"{config.source}: gate has no rules, so it would pass any model. Add at least one of "
            "gate.thresholds, gate.max_regression, gate.max_relative_regression, gate.slices or gate.budgets, "
            'e.g. thresholds: {accuracy: ">= 0.85"}.'
        )
    name = config.model.name
    candidate = registry.resolve(parse_ref(request.candidate or name, name))
    _check_task(candidate, config)
    notes: list[str] = []
    baseline = _resolve_baseline(config, registry, request, candidate, notes)
    if baseline is not None:
        _check_task(baseline, config)
        if problem := columns_mismatch(dict(candidate.signature), dict(baseline.signature)):
            raise UsageError(
                f"{candidate.ref} (candidate) and {baseline.ref} (baseline) have different input signatures, so "
                f"they cannot be scored on the same rows: {problem.replace('the first', 'the candidate')}"
                .replace("the second", "the baseline")
                + ". Compare against a baseline with the same columns (--baseline REF) or set gate.baseline: none."
            )
    scorers = [_scorer("candidate", registry, candidate)]
    if baseline is not None:
        scorers.append(_scorer("baseline", registry, baseline))
    slice_columns = list(dict.fromkeys(s.column for s in spec.slices))
    # Single-row latency costs hundreds of predict calls per model: measure it only for a budget.
    latency_calls = request.latency_calls if spec.budgets.latency_p95_ms is not None else 0
    scored = score_holdout(config.data.test, config.data.target, config.model.task, scorers, slice_columns,
                           chunk_rows=request.chunk_rows, latency_calls=latency_calls)
    alpha = spec.significance if spec.significance is not None else 0.05
    names = list(dict.fromkeys([*spec.metrics, *(r.metric for r in rules.slices)]))
    comparisons = tuple(_compare(n, scored, baseline is not None, alpha, request) for n in names)
    by_name = {c.name: c for c in comparisons}

    results: list[RuleResult] = [r.check(by_name.get(r.metric)) for r in rules.thresholds]
    results += [r.check(by_name.get(r.metric), baseline is not None) for r in rules.regressions]
    slices = _slices(scored, rules, baseline is not None)
    for rule in rules.slices:
        for sv in slices:
            if sv.column == rule.column:
                value = sv.candidate.get(rule.metric)
                error = None if value is not None else "undefined on these rows"
                results.append(rule.check(sv.value, sv.rows, value, error))
    measured = _measure(scored, candidate, baseline)
    results += [r.check(measured[r.name]["candidate"]) for r in rules.budgets]
    if baseline is None and any(r.verdict == SKIP for r in results):
        notes.append("Comparison rules (max_regression, max_relative_regression) were skipped: there is no "
                     "baseline. Only absolute rules decided this run.")
    result = GateResult(
        model=name, task=config.model.task, candidate=candidate, baseline=baseline, first_run=baseline is None,
        rows=scored.rows, alpha=alpha, significance=spec.significance, comparisons=comparisons,
        rules=tuple(results), slices=tuple(slices), measured=measured, notes=tuple(notes),
    )
    registry.record("gated", candidate, {
        "passed": result.passed, "baseline": baseline.ref if baseline else None, "first_run": result.first_run,
        "rows": result.rows, "metrics": {"candidate": result.metrics("candidate"),
                                          "baseline": result.metrics("baseline")},
        "rules": [r.to_dict() for r in result.rules],
    })
    return result


def gate_status(registry: Registry, version: ModelVersion) -> bool | None:
    """Whether the latest ``gated`` event of ``version`` passed; None when it was never gated."""
    for event in reversed(registry.events(version.name)):
        if event.kind == "gated" and event.version == version.version:
            return bool(event.data.get("passed"))
    return None


def _check_task(version: ModelVersion, config: Config) -> None:
    if version.task != config.model.task:
        raise UsageError(f"{version.ref} is a {version.task} model but the config's model.task is "
                         f"{config.model.task}; gate a model of the configured task.")


def _resolve_baseline(config: Config, registry: Registry, request: GateRequest, candidate: ModelVersion,
                      notes: list[str]) -> ModelVersion | None:
    name = config.model.name
    if request.baseline:
        return registry.resolve(parse_ref(request.baseline, name))
    alias = config.gate.baseline
    if alias is None:
        notes.append("gate.baseline is none: the candidate is not compared with another version.")
        return None
    number = registry.alias_version(name, alias)
    if number is not None:
        if number == candidate.version:
            notes.append(f"The candidate {candidate.ref} is itself {name}@{alias}: it is compared with itself.")
        return registry.get_version(name, number)
    history = [e for e in registry.events(name) if e.kind in ("alias_set", "alias_deleted")
               and e.data.get("alias") == alias]
    if history:
        raise ReferenceNotFound(
            f"the baseline {name}@{alias} (gate.baseline) no longer exists: it was removed "
            f"{history[-1].at} (it pointed at version {history[-1].data.get('previous')}). A gate that "
            f"silently skipped the comparison would let any model through. Point it at a version "
            f"(modelci registry alias {alias} {name}:VERSION), pass --baseline REF, or set gate.baseline: none."
        )
    others = [n for n in registry.version_numbers(name) if n != candidate.version]
    note = f"First run: {name}@{alias} does not exist yet, so only absolute rules apply."
    if others:
        note += (f" Other versions exist ({', '.join(map(str, others[-5:]))}); promote one with "
                 f"modelci registry alias {alias} {name}:VERSION to compare against it.")
    notes.append(note)
    return None


def _scorer(role: str, registry: Registry, version: ModelVersion) -> Scorer:
    model = artifact.load_model(registry, version)
    features = tuple(c["name"] for c in version.signature.get("inputs", []))
    if not features:
        raise UsageError(f"{version.ref} has no input signature; re-register it with modelci train.")
    return Scorer(role=role, ref=version.ref, model=model, features=features)


def _compare(name: str, scored: Scored, has_baseline: bool, alpha: float, request: GateRequest) -> MetricComparison:
    values: dict[str, float | None] = {}
    errors: dict[str, str | None] = {}
    for role in ("candidate", "baseline") if has_baseline else ("candidate",):
        try:
            values[role] = metric(name, scored.y, scored.pred[role], scored.proba[role], scored.k)
            errors[role] = None
        except ValueError as exc:
            values[role], errors[role] = None, str(exc)
    cand, base = values.get("candidate"), values.get("baseline")
    test = None
    if cand is not None and base is not None:
        test = _paired_test(name, scored, cand - base, alpha, request)
    return MetricComparison(name, cand, base, errors.get("candidate"), errors.get("baseline"), test)


def _paired_test(name: str, scored: Scored, delta: float, alpha: float, request: GateRequest) -> PairedTest | None:
    import numpy as np

    y, k = scored.y, scored.k
    pc, pb = scored.pred["candidate"], scored.pred["baseline"]
    qc, qb = scored.proba["candidate"], scored.proba["baseline"]

    needs_proba = METRICS[name].needs_proba

    def rows(values: Any, idx: Any) -> Any:
        # np.take along axis 0 is several times faster than fancy indexing of a 2-D array
        return None if values is None or not needs_proba else np.take(values, idx, axis=0)

    def score(idx: Any) -> tuple[float, float]:
        yi = y[idx]
        return (quick_metric(name, yi, pc[idx], rows(qc, idx), k),
                quick_metric(name, yi, pb[idx], rows(qb, idx), k))

    try:
        boot = paired_bootstrap(score, scored.rows, delta, METRICS[name].greater_is_better, alpha=alpha,
                                resamples=request.resamples, seed=request.seed)
    except ValueError:
        return None
    if name not in MCNEMAR_METRICS:
        return boot
    p_value, worse, better = mcnemar_exact(pc == y, pb == y)
    return PairedTest("mcnemar-exact", delta, boot.ci_low, boot.ci_high, boot.level, p_value,
                      f"{worse} rows newly wrong, {better} newly right; interval: {boot.detail}")


def _slices(scored: Scored, rules: RuleSet, has_baseline: bool) -> list[SliceValue]:
    out: list[SliceValue] = []
    for column in dict.fromkeys(r.column for r in rules.slices):
        names = list(dict.fromkeys(r.metric for r in rules.slices if r.column == column))
        codes, values = scored.slices[column]
        for code, value in enumerate(values):
            mask = codes == code
            per_role: dict[str, dict[str, float | None]] = {"candidate": {}, "baseline": {}}
            for role in ("candidate", "baseline") if has_baseline else ("candidate",):
                proba = scored.proba[role]
                for n in names:
                    try:
                        per_role[role][n] = metric(n, scored.y[mask], scored.pred[role][mask],
                                                   None if proba is None else proba[mask], scored.k)
                    except ValueError:
                        per_role[role][n] = None
            out.append(SliceValue(column, value, int(mask.sum()), per_role["candidate"], per_role["baseline"]))
    return out


def _measure(scored: Scored, candidate: ModelVersion, baseline: ModelVersion | None
             ) -> dict[str, dict[str, float | None]]:
    import numpy as np

    def p95(role: str) -> float | None:
        timings = scored.latency_ms.get(role)
        return float(np.percentile(timings, 95)) if timings else None

    return {
        "latency_p95_ms": {"candidate": p95("candidate"), "baseline": p95("baseline") if baseline else None},
        "size_mb": {"candidate": candidate.artifact_size / 1e6,
                    "baseline": baseline.artifact_size / 1e6 if baseline else None},
    }


def _comparison_dict(c: MetricComparison) -> dict[str, Any]:
    out: dict[str, Any] = {
        "metric": c.name, "greater_is_better": c.greater_is_better, "candidate": c.candidate,
        "baseline": c.baseline, "delta": c.delta, "candidate_error": c.candidate_error,
        "baseline_error": c.baseline_error,
    }
    if c.test is not None:
        t = c.test
        out["test"] = {"name": t.test, "p_value": t.p_value, "ci": [t.ci_low, t.ci_high], "level": t.level,
                       "detail": t.detail}
    if out["delta"] is not None and not math.isfinite(out["delta"]):
        out["delta"] = None
    return out
