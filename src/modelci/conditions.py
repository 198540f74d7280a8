"""Comparison conditions written as strings in modelci.yaml: ``">= 0.85"``, ``"< 0.3"``."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}
_PATTERN = re.compile(r"^\s*(>=|<=|==|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(%?)\s*$")

VALID_FORMS = '">= 0.85", "> 0.8", "<= 20", "< 0.01" or "== 1" (a percentage such as "< 1%" works too)'


@dataclass(frozen=True)
class Condition:
    """A comparison against a fixed value, e.g. ``>= 0.85``."""

    op: str
    value: float

    def holds(self, observed: float) -> bool:
        return _OPS[self.op](observed, self.value)

    @property
    def higher_is_better(self) -> bool:
        return self.op in (">=", ">")

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


def parse_condition(text: object) -> Condition:
    """Parse ``">= 0.85"``; a bare number means ``>=`` that number.

    Raises ValueError with a message a person can act on.
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a condition such as {VALID_FORMS}, got {text!r}")
    if isinstance(text, (int, float)):
        return Condition(">=", float(text))
    if not isinstance(text, str):
        raise ValueError(f"expected a condition such as {VALID_FORMS}, got {text!r}")
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"cannot parse condition {text!r}; write it as {VALID_FORMS}")
    op, number, percent = match.groups()
    value = float(number) / (100.0 if percent else 1.0)
    return Condition(op, value)
