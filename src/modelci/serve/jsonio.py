"""JSON in and out: orjson when installed (the ``serve`` extra), else the standard library."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

_loads: Callable[[bytes], Any]
_dumps: Callable[[Any], bytes]

try:
    import orjson

    _loads = orjson.loads

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)

except ImportError:  # pragma: no cover - exercised only without the serve extra
    _loads = json.loads

    def _dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), default=str).encode()


def loads(body: bytes) -> Any:
    """Parse JSON; raises ValueError (orjson.JSONDecodeError is one) on bad input."""
    try:
        return _loads(body)
    except RecursionError:
        raise ValueError("nesting too deep") from None


def dumps(value: Any) -> bytes:
    return _dumps(value)
