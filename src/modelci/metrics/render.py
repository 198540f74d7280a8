"""Pipeline health as Markdown (with a Mermaid chart), JSON and a PNG plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .compute import ModelHealth, Ratio, Timing


def _pct(r: Ratio) -> str:
    return "n/a" if r.value is None else f"{r.value:.0%} ({r.passed}/{r.total})"


def _dur(t: Timing) -> str:
    s = t.median_s
    if s is None:
        return "n/a"
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"


def to_json(reports: Sequence[ModelHealth]) -> list[dict[str, Any]]:
    out = []
    for h in reports:
        out.append({
            "model": h.model, "since": h.since.isoformat(), "until": h.until.isoformat(),
            "mus_per_day": round(h.mus, 4), "mts_per_day": round(h.mts, 4), "mds_per_day": round(h.mds, 4),
            "registered": h.registered, "deployed": h.deployed,
            "mq_gate": {"passed": h.gated.passed, "total": h.gated.total, "rate": h.gated.value},
            "mq_verify": {"passed": h.verified.passed, "total": h.verified.total, "rate": h.verified.value},
            "environments": {
                name: {
                    "deployments": e.deployments, "rollbacks": e.rollbacks,
                    "change_failure_rate": e.change_failure_rate.value,
                    "verifications": {"passed": e.verifications.passed, "total": e.verifications.total},
                    "lead_time_s": {"median": e.lead_time.median_s, "mean": e.lead_time.mean_s,
                                    "count": e.lead_time.count},
                    "time_to_restore_s": {"median": e.time_to_restore.median_s, "mean": e.time_to_restore.mean_s,
                                          "count": e.time_to_restore.count},
                } for name, e in h.environments.items()
            },
            "weekly": [{"week": w, "registered": r, "gated": g, "deployed": d} for w, r, g, d in h.weekly],
        })
    return out


def to_markdown(reports: Sequence[ModelHealth]) -> str:
    lines = ["### modelci pipeline health", ""]
    for h in reports:
        lines += [
            f"#### {h.model}  ({h.since:%Y-%m-%d} to {h.until:%Y-%m-%d}, {h.days:.0f} days)", "",
            "| figure | value |", "|---|---|",
            f"| MUS: versions registered / day | {h.mus:.2f} ({h.registered}) |",
            f"| MTS: gate evaluations / day | {h.mts:.2f} ({h.gated.total}) |",
            f"| MDS: deployments / day | {h.mds:.2f} ({h.deployed}) |",
            f"| MQ gate: passed / evaluated | {_pct(h.gated)} |",
            f"| MQ verification: healthy / verified | {_pct(h.verified)} |",
            "",
        ]
        if h.environments:
            lines += ["| environment | deployments | change failure rate | lead time (median) | "
                      "time to restore (median) |", "|---|---|---|---|---|"]
            for name, e in h.environments.items():
                lines.append(f"| {name} | {e.deployments} | {_pct(e.change_failure_rate)} | {_dur(e.lead_time)} | "
                             f"{_dur(e.time_to_restore)} |")
            lines.append("")
        if h.weekly:
            labels = ", ".join(f'"{w}"' for w, *_ in h.weekly)
            top = max(1, *(max(r, g, d) for _, r, g, d in h.weekly))
            lines += [
                "```mermaid", "xychart-beta", f'  title "{h.model}: registered, gated, deployed per week"',
                f"  x-axis [{labels}]", f'  y-axis "events" 0 --> {top}',
                f"  bar [{', '.join(str(r) for _, r, _, _ in h.weekly)}]",
                f"  line [{', '.join(str(g) for _, _, g, _ in h.weekly)}]",
                f"  line [{', '.join(str(d) for _, _, _, d in h.weekly)}]",
                "```", "",
                "Bars: versions registered; lines: gate evaluations, then deployments.", "",
            ]
    return "\n".join(lines)


def to_png(reports: Sequence[ModelHealth], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(reports), 1, figsize=(8, 3 * len(reports)), squeeze=False)
    for ax, h in zip(axes[:, 0], reports, strict=True):
        weeks = [w for w, *_ in h.weekly]
        x = range(len(weeks))
        ax.bar([i - 0.25 for i in x], [r for _, r, _, _ in h.weekly], width=0.25, label="registered")
        ax.bar(list(x), [g for _, _, g, _ in h.weekly], width=0.25, label="gated")
        ax.bar([i + 0.25 for i in x], [d for _, _, _, d in h.weekly], width=0.25, label="deployed")
        ax.set_xticks(list(x), weeks)
        ax.set_title(f"{h.model}: MQ gate {_pct(h.gated)}, MQ verify {_pct(h.verified)}")
        ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
