"""The verification report: a timeline table, Mermaid charts and JSON."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .smoke import SmokeResult
from .window import WindowResult


@dataclass(frozen=True)
class VerifyOutcome:
    model: str
    version: int
    environment: str
    smoke: SmokeResult
    window: WindowResult | None
    rolled_back: bool = False
    restored_version: int | None = None
    actions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def healthy(self) -> bool:
        return self.smoke.passed and (self.window is None or self.window.passed)

    @property
    def reasons(self) -> list[str]:
        return self.smoke.reasons + (self.window.reasons if self.window else [])


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"


def _chart(title: str, labels: Sequence[str], values: Sequence[float | None], y_label: str) -> list[str]:
    points = [0.0 if v is None else float(v) for v in values]
    top = max([*points, 1e-9]) * 1.2
    return ["```mermaid", "xychart-beta", f'  title "{title}"', f"  x-axis [{', '.join(labels)}]",
            f'  y-axis "{y_label}" 0 --> {top:.4g}', f"  line [{', '.join(f'{p:.4g}' for p in points)}]", "```", ""]


def to_markdown(outcome: VerifyOutcome) -> str:
    head = "healthy" if outcome.healthy else "UNHEALTHY"
    lines = [f"### modelci verify: `{outcome.model}:{outcome.version}` in {outcome.environment} is {head}", ""]
    if outcome.rolled_back:
        lines += ["> [!CAUTION]",
                  f"> **Rolled back.** {outcome.environment} serves `{outcome.model}:{outcome.restored_version}` "
                  f"again; `{outcome.model}:{outcome.version}` was taken out because:"]
        lines += [f"> - {r}" for r in outcome.reasons]
        lines += [f"> - done: {a}" for a in outcome.actions]
        lines.append("")
    elif not outcome.healthy and outcome.actions:
        lines += ["> [!CAUTION]", f"> **Verification failed and the rollback did not complete.** "
                  f"`{outcome.model}:{outcome.version}` may still serve in {outcome.environment}:"]
        lines += [f"> - {r}" for r in outcome.reasons]
        lines += [f"> - {a}" for a in outcome.actions]
        lines.append("")
    elif not outcome.healthy:
        lines += ["> [!WARNING]", "> Verification failed and rollback was off; nothing was changed:"]
        lines += [f"> - {r}" for r in outcome.reasons]
        lines.append("")
    lines += ["| smoke check | verdict | detail |", "|---|---|---|"]
    lines += [f"| {c.name} | {'pass' if c.passed else 'FAIL'} | {c.detail} |" for c in outcome.smoke.checks]
    lines.append("")
    window = outcome.window
    if window and window.intervals:
        lines += [f"Monitoring window: {len(window.intervals)} checks from {window.source}, "
                  f"{window.failures} failed (limit {window.failure_limit}).", "",
                  "| time | requests | check | value | threshold | verdict |", "|---|---|---|---|---|---|"]
        for iv in window.intervals:
            for c in iv.checks:
                lines.append(f"| +{iv.at_s:.0f}s | {iv.requests} | {c.name} | {_fmt(c.value)} | {c.condition} | "
                             f"{c.verdict} |")
        lines.append("")
        labels = [f'"+{iv.at_s:.0f}s"' for iv in window.intervals]
        names = sorted({c.name for iv in window.intervals for c in iv.checks})
        for name in names:
            values = [next((c.value for c in iv.checks if c.name == name), None) for iv in window.intervals]
            lines += _chart(f"{name} over the window", labels, values, name)
    return "\n".join(lines)


def to_json(outcome: VerifyOutcome) -> dict[str, Any]:
    window = outcome.window
    return {
        "model": outcome.model, "version": outcome.version, "environment": outcome.environment,
        "healthy": outcome.healthy, "rolled_back": outcome.rolled_back,
        "restored_version": outcome.restored_version, "reasons": outcome.reasons, "actions": list(outcome.actions),
        "smoke": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in outcome.smoke.checks],
        "window": None if window is None else {
            "source": window.source, "failures": window.failures, "failure_limit": window.failure_limit,
            "first_failure_s": window.first_failure_s,
            "intervals": [{"at_s": round(iv.at_s, 3), "requests": iv.requests, "checks": [
                {"name": c.name, "value": c.value, "threshold": str(c.condition), "verdict": c.verdict}
                for c in iv.checks]} for iv in window.intervals],
        },
    }
