"""Shared pieces of the deploy tests: images of the catalogue, the trained project, payloads."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = "localhost:5000/modelci/breast-cancer"
IMG1 = f"{REPO}@sha256:{'1' * 64}"
IMG2 = f"{REPO}@sha256:{'2' * 64}"
CRASH = f"{REPO}@sha256:{'c' * 64}"
MISSING = f"{REPO}@sha256:{'0' * 64}"


@dataclass
class Project:
    path: Path
    registry: Path
    bundles: dict[int, Path]
    record: dict[str, Any]

    def catalogue(self) -> dict[str, list[str]]:
        serve = [sys.executable, "-m", "modelci", "serve", "--port", "{port}", "--model"]
        return {IMG1: [*serve, str(self.bundles[1])], IMG2: [*serve, str(self.bundles[2])],
                CRASH: [sys.executable, "-c", "import sys; sys.exit(1)"]}

    @property
    def payload(self) -> bytes:
        example = self.record["input_example"]
        return json.dumps({"dataframe_split": {"columns": example["columns"], "data": example["data"]}}).encode()

    @property
    def expected(self) -> list[Any]:
        return list(self.record["input_example"]["predictions"])
