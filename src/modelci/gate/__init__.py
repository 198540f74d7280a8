"""The quality gate: candidate vs baseline on the same holdout, decided by typed rules."""

from __future__ import annotations

from .run import GateRequest, GateResult, gate_status, run_gate

__all__ = ["GateRequest", "GateResult", "gate_status", "run_gate"]
