"""Smoke tests: the deployed service answers as the registered version should."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import SmokeCase
from ..registry import ModelVersion
from .probe import Probe


@dataclass(frozen=True)
class SmokeCheck:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class SmokeResult:
    checks: tuple[SmokeCheck, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if not c.passed]


def same_predictions(got: Sequence[Any], want: Sequence[Any], rel: float = 1e-6) -> bool:
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        if isinstance(g, (int, float)) and isinstance(w, (int, float)) and not isinstance(g, bool):
            if not math.isclose(float(g), float(w), rel_tol=rel, abs_tol=1e-9):
                return False
        elif g != w and str(g) != str(w):
            return False
    return True


def run_smoke(probe: Probe, version: ModelVersion, cases: str | Sequence[SmokeCase]) -> SmokeResult:
    checks = [_version_check(probe, version)]
    if isinstance(cases, str) or not cases:
        example = version.input_example
        body = {"dataframe_split": {"columns": list(example.get("columns", [])), "data": example.get("data", [])}}
        checks.append(_predict_check(probe, "input example", body, list(example.get("predictions", []))))
    else:
        for i, case in enumerate(cases):
            checks.append(_predict_check(probe, f"smoke[{i}]", case.request, case.expect))
    return SmokeResult(tuple(checks))


def _version_check(probe: Probe, version: ModelVersion) -> SmokeCheck:
    try:
        status, body = probe.call("GET", "/version")
        info = json.loads(body) if status == 200 else {}
    except (ValueError, OSError) as exc:
        return SmokeCheck("/version", False, f"could not be read: {exc}")
    if status != 200:
        return SmokeCheck("/version", False, f"answered HTTP {status}")
    served = (str(info.get("name")), str(info.get("version")), str(info.get("digest")))
    wanted = (version.name, str(version.version), version.artifact_digest)
    if served != wanted:
        return SmokeCheck("/version", False, f"serves {served[0]}:{served[1]} ({served[2][:19]}), "
                                             f"expected {version.ref} ({version.artifact_digest[:19]})")
    return SmokeCheck("/version", True, f"serves {version.ref} ({version.artifact_digest[:19]})")


def _predict_check(probe: Probe, name: str, request: Any, expect: Any) -> SmokeCheck:
    try:
        status, body = probe.call("POST", "/invocations", json.dumps(request).encode())
    except OSError as exc:
        return SmokeCheck(name, False, f"request failed: {exc}")
    if status != 200:
        return SmokeCheck(name, False, f"answered HTTP {status}: {body[:300].decode(errors='replace')}")
    try:
        got = json.loads(body).get("predictions")
    except (ValueError, AttributeError):
        return SmokeCheck(name, False, "answered something that is not {\"predictions\": [...]}")
    if isinstance(expect, dict) and "predictions" in expect:
        expect = expect["predictions"]
    if expect is None:
        return SmokeCheck(name, True, f"HTTP 200, {len(got or [])} predictions")
    if not isinstance(got, list) or not same_predictions(got, expect):
        return SmokeCheck(name, False, f"predicted {got!r}, expected {expect!r}")
    return SmokeCheck(name, True, f"{len(got)} predictions match the record")
