"""Render a gate result: Markdown (with Mermaid charts), JSON, and PNG charts in a report folder."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from .rules import FAIL, FORMULAS, PASS, RuleResult
from .run import GateResult
from .stats import format_p

ICONS = {PASS: ":white_check_mark: pass", FAIL: ":x: fail", "skip": ":heavy_minus_sign: skip"}
MARKDOWN_NAME = "report.md"
JSON_NAME = "result.json"


def _num(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.4f}"


def render_markdown(result: GateResult, *, watermark: str = "", run_url: str | None = None) -> str:
    verdict = ":white_check_mark: passed" if result.passed else ":x: failed"
    base = f"`{result.baseline.ref}`" if result.baseline else "none (first run)"
    lines = [watermark] if watermark else []
    lines += [
        f"### modelci gate: `{result.candidate.ref}` {verdict}",
        "",
        f"Candidate `{result.candidate.ref}` vs baseline {base}, on the same {result.rows:,} holdout rows."
        + (f" [Workflow run]({run_url})" if run_url else ""),
        "",
    ]
    lines += [f"> [!NOTE]\n> {note}\n" for note in result.notes]
    if failures := result.failures:
        lines += ["**Why it failed:**", "", *[f"- {r.reason}" for r in failures], ""]
    lines += _metric_table(result)
    if result.slices:
        lines += _slice_table(result)
    lines += _budget_table(result)
    lines += _charts(result)
    lines += _formulas(result)
    return "\n".join(lines).rstrip() + "\n"


def _rules_for(result: GateResult, metric: str, kinds: Sequence[str]) -> list[RuleResult]:
    return [r for r in result.rules if r.metric == metric and r.rule in kinds]


def _metric_table(result: GateResult) -> list[str]:
    level = f"{1 - result.alpha:.0%} CI"
    lines = [f"| metric | baseline | candidate | delta | {level} | rule | verdict |", "|---|---|---|---|---|---|---|"]
    for c in result.comparisons:
        rules = _rules_for(result, c.name, ("threshold", "max_regression", "max_relative_regression"))
        rule_text = "<br>".join(f"{r.rule.replace('_', ' ')}: {r.limit}" for r in rules) or "—"
        verdict = "<br>".join(ICONS[r.verdict] for r in rules) or "reported"
        ci = "—"
        if c.test is not None:
            ci = f"[{c.test.ci_low:+.4f}, {c.test.ci_high:+.4f}] ({c.test.test}, {format_p(c.test.p_value)})"
        arrow = "↑" if c.greater_is_better else "↓"
        cand = _num(c.candidate) if c.candidate is not None else f"error: {c.candidate_error}"
        lines.append(f"| {c.name} {arrow} | {_num(c.baseline)} | {cand} | {_signed(c.delta)} | {ci} | "
                     f"{rule_text} | {verdict} |")
    return [*lines, ""]


def _slice_table(result: GateResult) -> list[str]:
    lines = ["#### Slices", "", "| slice | rows | metric | baseline | candidate | rule | verdict |",
             "|---|---|---|---|---|---|---|"]
    for sv in result.slices:
        where = f"{sv.column}={sv.value}"
        for rule in (r for r in result.rules if r.rule == "slice" and r.slice == where):
            lines.append(f"| {where} | {sv.rows:,} | {rule.metric} | {_num(sv.baseline.get(rule.metric))} | "
                         f"{_num(sv.candidate.get(rule.metric))} | {rule.limit} | {ICONS[rule.verdict]} |")
    return [*lines, ""]


def _budget_table(result: GateResult) -> list[str]:
    lines = ["#### Budgets", "", "| budget | baseline | candidate | limit | verdict |", "|---|---|---|---|---|"]
    for name, label in (("latency_p95_ms", "p95 single-row predict latency (ms)"), ("size_mb", "artifact size (MB)")):
        rule = next((r for r in result.rules if r.rule == "budget" and r.metric == name), None)
        measured = result.measured.get(name, {})
        lines.append(f"| {label} | {_num(measured.get('baseline'), 3)} | {_num(measured.get('candidate'), 3)} | "
                     f"{rule.limit if rule else '—'} | {ICONS[rule.verdict] if rule else 'reported'} |")
    return [*lines, ""]


def _label(text: str) -> str:
    """Text safe inside a Mermaid string (no quotes, brackets or newlines)."""
    for bad, good in (('"', "'"), ("[", "("), ("]", ")"), ("\n", " "), ("`", "'")):
        text = text.replace(bad, good)
    return text


def _mermaid_chart(title: str, labels: Sequence[str], bars: Sequence[float], lines_: Sequence[Sequence[float]], *,
                   y_label: str, y_range: tuple[float, float] | None) -> list[str]:
    """An ``xychart-beta`` block: one bar series (the candidate) and line series (baseline, rule)."""
    axis = ", ".join(f'"{_label(label)}"' for label in labels)
    out = ["```mermaid", "xychart-beta", f'    title "{_label(title)}"', f"    x-axis [{axis}]"]
    out.append(f'    y-axis "{_label(y_label)}"' + (f" {y_range[0]:g} --> {y_range[1]:g}" if y_range else ""))
    out.append(f"    bar [{', '.join(f'{v:.4f}' for v in bars)}]")
    out += [f"    line [{', '.join(f'{v:.4f}' for v in values)}]" for values in lines_]
    return [*out, "```", ""]


def _charts(result: GateResult) -> list[str]:
    """Mermaid renders in PR comments and step summaries with no image host."""
    has_base = result.baseline is not None
    shown = [c for c in result.comparisons if c.candidate is not None and (not has_base or c.baseline is not None)]
    out: list[str] = []
    if not shown and not result.slices:
        return out
    key = "Bars: candidate; line: baseline." if has_base else "Bars: candidate."
    out += ["#### Charts", "", key, ""]
    bounded = [c for c in shown if all(v is None or 0 <= v <= 1 for v in (c.candidate, c.baseline))]
    if bounded:
        base = [[c.baseline or 0.0 for c in bounded]] if has_base else []
        out += _mermaid_chart(f"{result.model}: metrics", [c.name for c in bounded],
                              [c.candidate or 0.0 for c in bounded], base, y_label="score", y_range=(0, 1))
    for c in shown:
        if c not in bounded:  # its own scale (rmse, mae, log_loss ...)
            base = [[c.baseline or 0.0]] if has_base else []
            out += _mermaid_chart(f"{result.model}: {c.name}", [c.name], [c.candidate or 0.0], base,
                                  y_label=c.name, y_range=None)
    slice_rules = [r for r in result.rules if r.rule == "slice" and r.slice]
    for column, metric, limit in dict.fromkeys((r.slice.split("=", 1)[0], r.metric, r.limit)
                                               for r in slice_rules if r.slice):
        values = [sv for sv in result.slices if sv.column == column and sv.candidate.get(metric) is not None]
        if not values:
            continue
        rule_line = [float(limit.partition(" ")[2])] * len(values)
        base = [[sv.baseline.get(metric) or 0.0 for sv in values]] if has_base else []
        out += [f"{metric} by {column} (the flat line is the rule, {limit}):", ""]
        out += _mermaid_chart(f"{metric} by {column}", [sv.value for sv in values],
                              [sv.candidate[metric] or 0.0 for sv in values], [*base, rule_line],
                              y_label=metric, y_range=(0, 1))
    return out


def _formulas(result: GateResult) -> list[str]:
    kinds = {r.rule for r in result.rules}
    lines = ["<details><summary>How the rules decide</summary>", ""]
    lines.append("b = baseline value, c = candidate value, on the same rows.")
    lines += [f"- `{kind}`: {FORMULAS[kind]}" for kind in ("max_regression", "max_relative_regression")
              if kind in kinds]
    if result.significance is not None:
        lines.append(f"- significance {result.significance:g}: a drop beyond the allowance fails only if a paired "
                     "test finds it significant (one-sided p below the level): McNemar's exact test on the rows "
                     "where the models disagree for accuracy; a paired bootstrap (1,000 resamples, fixed seed) "
                     "for other metrics.")
    lines.append("- CI: the paired bootstrap interval of the change c - b.")
    lines += ["", "</details>", ""]
    return lines


def write_report(result: GateResult, folder: Path, markdown: str) -> list[str]:
    """Write report.md, result.json and PNG charts into ``folder``; returns warnings."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKDOWN_NAME).write_text(markdown, encoding="utf-8")
    (folder / JSON_NAME).write_text(json.dumps(result.to_dict(), indent=2, sort_keys=True, default=str) + "\n",
                                    encoding="utf-8")
    try:
        import matplotlib
    except ImportError:
        return ["matplotlib is not installed, so the PNG charts were skipped (the Markdown has Mermaid charts); "
                "install them with: pip install 'modelci[report]'"]
    matplotlib.use("Agg")
    _png_metrics(result, folder / "metrics.png")
    if result.slices:
        _png_slices(result, folder / "slices.png")
    return []


def _png_metrics(result: GateResult, path: Path) -> None:
    """One small panel per metric (their scales differ: rmse next to r2), baseline beside candidate."""
    import matplotlib.pyplot as plt

    shown = [c for c in result.comparisons if c.candidate is not None]
    fig, axes = plt.subplots(1, max(1, len(shown)), figsize=(max(3.0, 2.2 * len(shown)), 3.2), squeeze=False)
    for ax, c in zip(axes[0], shown, strict=False):
        labels, values, colors = [], [], []
        if result.baseline is not None and c.baseline is not None:
            labels.append("baseline")
            values.append(c.baseline)
            colors.append("#8c8c8c")
        labels.append("candidate")
        values.append(c.candidate or 0.0)
        colors.append("#2ca02c" if result.passed else "#d62728")
        ax.bar(labels, values, color=colors)
        ax.set_title(f"{c.name} {'↑' if c.greater_is_better else '↓'}", fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
        for x, v in enumerate(values):
            ax.annotate(f"{v:.3g}", (x, v), ha="center", va="bottom", fontsize=8)
        ax.margins(y=0.15)
    base = f" vs {result.baseline.ref}" if result.baseline else ""
    fig.suptitle(f"{result.candidate.ref}{base}: gate {'passed' if result.passed else 'failed'}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _png_slices(result: GateResult, path: Path) -> None:
    """One panel per slice rule (column, metric): baseline and candidate per value, the threshold dashed."""
    import matplotlib.pyplot as plt

    rules = [r for r in result.rules if r.rule == "slice" and r.slice]
    panels = list(dict.fromkeys((r.slice.split("=", 1)[0], r.metric, r.limit) for r in rules if r.slice))
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(max(4.0, 4.5 * len(panels)), 3.4), squeeze=False)
    for ax, (column, metric, limit) in zip(axes[0], panels, strict=False):
        values = [sv for sv in result.slices if sv.column == column]
        xs = list(range(len(values)))
        verdicts = {r.slice: r.verdict for r in rules if r.metric == metric}
        if result.baseline is not None:
            ax.bar([x - 0.2 for x in xs], [sv.baseline.get(metric) or 0.0 for sv in values], width=0.4,
                   color="#8c8c8c", label="baseline")
        colors = ["#d62728" if verdicts.get(f"{column}={sv.value}") == FAIL else "#2ca02c" for sv in values]
        ax.bar([x + (0.2 if result.baseline is not None else 0.0) for x in xs],
               [sv.candidate.get(metric) or 0.0 for sv in values], width=0.4, color=colors, label="candidate")
        op, _, number = limit.partition(" ")
        ax.axhline(float(number), linestyle="--", color="black", linewidth=1, label=f"rule {op} {number}")
        ax.set_xticks(xs, [f"{sv.value}\n({sv.rows:,})" for sv in values], fontsize=8)
        ax.set_title(f"{metric} by {column}", fontsize=10)
        ax.margins(y=0.15)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{result.candidate.ref}: slices", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
