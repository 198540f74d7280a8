"""docker build through the engine API, streaming the builder's log as it goes."""

from __future__ import annotations

import collections
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InfrastructureError
from .engine import api_errors, short

Log = Callable[[str], None]


def build_image(client: Any, context: Path, tag: str, log: Log) -> str:
    """Build ``context`` (its Dockerfile) with no network in RUN steps; returns the image id."""
    tail: collections.deque[str] = collections.deque(maxlen=25)
    image_id: str | None = None
    error: str | None = None
    try:
        stream = client.build(path=str(context), tag=tag, rm=True, forcerm=True, pull=False,
                              network_mode="none", decode=True)
        for chunk in stream:
            if not isinstance(chunk, dict):
                continue
            text = chunk.get("stream")
            if isinstance(text, str):
                for line in text.rstrip("\n").splitlines():
                    if line.strip():
                        tail.append(line)
                        log(line)
            aux = chunk.get("aux")
            if isinstance(aux, dict) and aux.get("ID"):
                image_id = str(aux["ID"])
            if chunk.get("error"):
                error = str(chunk["error"]).strip()
    except api_errors() as exc:
        raise InfrastructureError(f"docker build failed: {short(exc)}") from None
    if error is not None or image_id is None:
        lines = "\n".join(tail)
        raise InfrastructureError(
            f"docker build of {tag} failed: {error or 'the engine reported no image id'}\n"
            f"Last lines of the build log:\n{lines}"
        )
    return image_id


def layers(client: Any, image: str) -> list[str]:
    """The image's layer diff ids, base first."""
    info = client.inspect_image(image)
    return [str(x) for x in (info.get("RootFS") or {}).get("Layers") or []]
