"""Version drafts for registry tests (importable by the writer subprocesses too)."""

from __future__ import annotations

from typing import Any

from modelci.registry import VersionDraft


def make_draft(name: str = "churn", **changes: Any) -> VersionDraft:
    base: dict[str, Any] = {
        "name": name, "flavor": "sklearn", "task": "classification",
        "signature": {"inputs": [{"name": "x", "dtype": "float64"}], "output": {"dtype": "int64"}},
        "input_example": {"columns": ["x"], "data": [[1.0]]}, "params": {"C": 1.0},
        "metrics": {"accuracy": 0.9}, "data": {"train": {"path": "train.csv", "sha256": "ab", "rows": 3}},
        "git": {"sha": "0123456789abcdef", "ref": "refs/heads/main"}, "packages": {"modelci": "0.1.0"},
    }
    base.update(changes)
    return VersionDraft(**base)
