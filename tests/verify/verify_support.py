"""Shared pieces of the verify tests: the versions trained and the images the emulator runs them as."""

from __future__ import annotations

REPO = "localhost:5000/modelci/breast-cancer"
# version -> what it is; 1 and 2 are good, the others misbehave on single-row traffic
VERSIONS = {1: "good", 2: "good", 3: "error", 4: "slow", 5: "drift"}


def image(version: int) -> str:
    return f"{REPO}@sha256:{str(version) * 64}"
