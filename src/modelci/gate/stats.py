"""Paired significance tests on the same holdout rows.

- McNemar's exact test for accuracy: only rows where the two models disagree on
  correctness count. With ``worse`` = rows the candidate gets wrong and the
  baseline right, ``better`` = the reverse, under "no difference" ``worse`` is
  Binomial(worse + better, 1/2). The one-sided p-value is P(X >= worse): how
  likely a drop at least this large is by chance.
- A paired bootstrap for every other metric: resample row indices with
  replacement (fixed seed), score both models on the SAME resampled rows, and
  look at the distribution of the change. For holdouts larger than
  ``max_rows`` the resamples have ``max_rows`` rows and the deviations from the
  full-data change are rescaled by sqrt(m / n) (the m-out-of-n bootstrap), so
  cost does not grow with the holdout while the interval keeps its width for n.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
DEFAULT_MAX_ROWS = 10_000


def format_p(p: float) -> str:
    """``p = 0.031`` or ``p < 0.0001`` (an exact test's p can underflow to 0)."""
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.3g}"


@dataclass(frozen=True)
class PairedTest:
    """The change (candidate - baseline) of one metric, its interval and the p-value of a drop."""

    test: str  # "mcnemar-exact" | "paired-bootstrap"
    delta: float
    ci_low: float
    ci_high: float
    level: float  # e.g. 0.95
    p_value: float  # one-sided: probability of a drop this large if the models were equal
    detail: str = ""


def mcnemar_exact(correct_candidate: Any, correct_baseline: Any) -> tuple[float, int, int]:
    """(one-sided p-value of the candidate being worse, worse, better) from per-row correctness."""
    import numpy as np
    from scipy.stats import binomtest

    cand = np.asarray(correct_candidate, dtype=bool)
    base = np.asarray(correct_baseline, dtype=bool)
    worse = int(np.count_nonzero(~cand & base))
    better = int(np.count_nonzero(cand & ~base))
    if worse + better == 0:
        return 1.0, 0, 0
    return float(binomtest(worse, worse + better, 0.5, alternative="greater").pvalue), worse, better


def paired_bootstrap(
    score: Callable[[Any], tuple[float, float]],
    n: int,
    delta: float,
    greater_is_better: bool,
    *,
    alpha: float = 0.05,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> PairedTest:
    """Bootstrap the change of a metric; ``score(idx)`` returns (candidate, baseline) on rows ``idx``.

    ``delta`` is the change on all rows. The p-value is the share of resampled
    changes that are not a drop: (1 + #{improvement* >= 0}) / (B + 1).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    m = min(n, max_rows)
    scale = math.sqrt(m / n)
    # The centre of the subsample distribution: the change on the full data. For m == n,
    # delta + (d* - delta) * 1 is the plain percentile bootstrap.
    changes = np.empty(resamples)
    valid = 0
    for _ in range(resamples):
        idx = rng.integers(0, n, size=m)
        try:
            cand, base = score(idx)
        except ValueError:
            continue  # e.g. a resample with a single class for roc_auc
        if math.isnan(cand) or math.isnan(base):
            continue
        changes[valid] = delta + (cand - base - delta) * scale
        valid += 1
    if valid < resamples // 2:
        raise ValueError(f"only {valid} of {resamples} bootstrap resamples could be scored")
    changes = changes[:valid]
    low, high = np.quantile(changes, [alpha / 2, 1 - alpha / 2])
    improvement = changes if greater_is_better else -changes
    p_value = (1 + int(np.count_nonzero(improvement >= 0))) / (valid + 1)
    detail = f"{valid} resamples of {m} rows, seed {seed}"
    if m < n:
        detail += f", rescaled by sqrt({m}/{n})"
    return PairedTest("paired-bootstrap", delta, float(low), float(high), 1 - alpha, p_value, detail)
