"""Pipeline health computed from events alone, so every backend and every CI gives the same figures.

Definitions (over a window that ends now):

- MUS, model update speed: versions registered per day.
- MTS, model test speed: gate evaluations per day.
- MDS, model deployment speed: deployments per day (all environments, and per environment).
- MQ, model quality: passed / total, for the gate and for verification.
- Lead time (DORA): commit time of the version's git sha -> its ``verified`` event in an
  environment (falls back to the ``registered`` time when the commit time is unknown).
- Change failure rate (DORA): ``rolled_back`` / ``deployed``, per environment.
- Time to restore (DORA): failure detected (``rolled_back.data.detected_at``, else the
  rollback event's time) -> the previous version serving again (``restored_at`` in the
  rollback event when recorded, else the next ``verified`` event in that environment).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..registry.records import Event, parse_time


@dataclass(frozen=True)
class Ratio:
    passed: int
    total: int

    @property
    def value(self) -> float | None:
        return self.passed / self.total if self.total else None


@dataclass(frozen=True)
class Timing:
    """Durations in seconds."""

    samples: tuple[float, ...] = ()

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def median_s(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def mean_s(self) -> float | None:
        return statistics.fmean(self.samples) if self.samples else None


@dataclass(frozen=True)
class EnvironmentHealth:
    environment: str
    deployments: int
    rollbacks: int
    verifications: Ratio
    lead_time: Timing
    time_to_restore: Timing

    @property
    def change_failure_rate(self) -> Ratio:
        return Ratio(self.rollbacks, self.deployments)


@dataclass(frozen=True)
class ModelHealth:
    model: str
    since: datetime
    until: datetime
    registered: int
    gated: Ratio
    deployed: int
    verified: Ratio
    environments: Mapping[str, EnvironmentHealth]
    weekly: Sequence[tuple[str, int, int, int]] = field(default_factory=tuple)  # week, registered, gated, deployed

    @property
    def days(self) -> float:
        return max((self.until - self.since).total_seconds() / 86400.0, 1e-9)

    @property
    def mus(self) -> float:
        return self.registered / self.days

    @property
    def mts(self) -> float:
        return self.gated.total / self.days

    @property
    def mds(self) -> float:
        return self.deployed / self.days


def _env(event: Event) -> str | None:
    value = event.data.get("environment")
    return str(value) if value else None


def _commit_times(events: Iterable[Event]) -> dict[int, datetime]:
    """Version -> when its change was made (commit time, else registration time)."""
    out: dict[int, datetime] = {}
    for e in events:
        if e.kind == "registered" and e.version is not None:
            commit = e.data.get("commit_time")
            try:
                out[e.version] = parse_time(str(commit)) if commit else parse_time(e.at)
            except ValueError:
                out[e.version] = parse_time(e.at)
    return out


def _passed(e: Event) -> bool:
    return bool(e.data.get("passed", e.data.get("healthy", False)))


def compute_health(model: str, events: Sequence[Event], since: datetime, until: datetime) -> ModelHealth:
    """Figures for one model from its whole history (``events`` oldest first)."""
    ordered = sorted(events, key=lambda e: e.at)
    started = {e.version: parse_time(e.at) for e in ordered if e.kind == "registered"}
    commits = _commit_times(ordered)
    window = [e for e in ordered if since <= parse_time(e.at) <= until]

    def count(kind: str) -> list[Event]:
        return [e for e in window if e.kind == kind]

    gated = count("gated")
    verified = count("verified")
    envs: dict[str, EnvironmentHealth] = {}
    names = sorted({n for e in window if (n := _env(e))})
    for name in names:
        deployed = [e for e in window if e.kind == "deployed" and _env(e) == name]
        rolled = [e for e in window if e.kind == "rolled_back" and _env(e) == name]
        checks = [e for e in window if e.kind == "verified" and _env(e) == name]
        lead = []
        for e in checks:
            if e.version is not None and _passed(e):
                origin = commits.get(e.version) or started.get(e.version)
                if origin is not None:
                    lead.append((parse_time(e.at) - origin).total_seconds())
        restore = []
        for e in rolled:
            detected = _time(e.data.get("detected_at")) or parse_time(e.at)
            restored = _time(e.data.get("restored_at"))
            if restored is None:
                later = [parse_time(v.at) for v in ordered
                         if v.kind == "verified" and _env(v) == name and _passed(v) and parse_time(v.at) >= detected]
                restored = min(later) if later else None
            if restored is not None:
                restore.append((restored - detected).total_seconds())
        envs[name] = EnvironmentHealth(
            environment=name, deployments=len(deployed), rollbacks=len(rolled),
            verifications=Ratio(sum(_passed(e) for e in checks), len(checks)),
            lead_time=Timing(tuple(lead)), time_to_restore=Timing(tuple(restore)),
        )
    return ModelHealth(
        model=model, since=since, until=until, registered=len(count("registered")),
        gated=Ratio(sum(_passed(e) for e in gated), len(gated)), deployed=len(count("deployed")),
        verified=Ratio(sum(_passed(e) for e in verified), len(verified)), environments=envs,
        weekly=_weekly(window, since, until),
    )


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(str(value))
    except ValueError:
        return None


def _weekly(window: Sequence[Event], since: datetime, until: datetime) -> tuple[tuple[str, int, int, int], ...]:
    start = (since - timedelta(days=since.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    weeks: list[tuple[str, int, int, int]] = []
    while start <= until:
        end = start + timedelta(days=7)
        inside = [e for e in window if start <= parse_time(e.at) < end]
        weeks.append((start.strftime("%m-%d"), sum(e.kind == "registered" for e in inside),
                      sum(e.kind == "gated" for e in inside), sum(e.kind == "deployed" for e in inside)))
        start = end
    return tuple(weeks)
