"""Helpers shared by the test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml


def edit_config(project: Path, change: Callable[[dict], None], name: str = "modelci.yaml") -> Path:
    path = project / name
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class CliResult:
    code: int
    out: str
    err: str
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""


def parse_outputs(text: str) -> dict[str, str]:
    """Read a $GITHUB_OUTPUT file the way the runner does (name=value and heredocs)."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        match = re.match(r"^([^=<]+)<<(.+)$", line)
        if match:
            name, delimiter = match.groups()
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            outputs[name] = "\n".join(body)
        elif "=" in line:
            name, _, value = line.partition("=")
            outputs[name] = value
    return outputs
