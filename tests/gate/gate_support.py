"""Helpers of the gate tests (a distinct module name: several test folders have a conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

HEAD_SHA = "0123456789abcdef0123456789abcdef01234567"


def edit_config(project: Path, change: Callable[[dict], None], name: str = "modelci.yaml") -> Path:
    path = project / name
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
