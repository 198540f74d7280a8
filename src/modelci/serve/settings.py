"""Server settings; each has a MODELCI_* environment variable that the CLI flags override."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from ..errors import UsageError

_N = TypeVar("_N", int, float)


@dataclass(frozen=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    max_batch: int = 64  # rows per model call; 1 turns micro-batching off
    max_wait_ms: float = 0.0  # always hold a non-full batch open this long for more requests
    adaptive_wait_ms: float = 2.0  # cap of the wait for clients seen recently but not here now; 0: off
    inline_below_ms: float = 20.0  # model calls faster than this run on the event loop; 0: always the thread
    max_body_bytes: int = 16 * 1024 * 1024
    drain_timeout_s: float = 30.0  # SIGTERM: wait this long for in-flight requests
    log_level: str = "info"
    # Bind with SO_REUSEPORT and load the model before listening, so a new server can start
    # on the port of a running one and take over with no gap (the local deploy target).
    reuse_port: bool = False
    workers: int = 1  # processes, each with its own copy of the model and its own /metrics

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServeSettings:
        env = os.environ if env is None else env
        default = cls()
        return cls(
            host=env.get("MODELCI_HOST") or default.host,
            port=_number(env, "MODELCI_PORT", default.port, int),
            max_batch=_number(env, "MODELCI_MAX_BATCH", default.max_batch, int),
            max_wait_ms=_number(env, "MODELCI_MAX_WAIT_MS", default.max_wait_ms, float),
            adaptive_wait_ms=_number(env, "MODELCI_ADAPTIVE_WAIT_MS", default.adaptive_wait_ms, float),
            inline_below_ms=_number(env, "MODELCI_INLINE_BELOW_MS", default.inline_below_ms, float),
            max_body_bytes=int(_number(env, "MODELCI_MAX_BODY_MB", default.max_body_bytes / 2**20, float) * 2**20),
            drain_timeout_s=_number(env, "MODELCI_DRAIN_TIMEOUT_S", default.drain_timeout_s, float),
            log_level=(env.get("MODELCI_LOG_LEVEL") or default.log_level).lower(),
            reuse_port=(env.get("MODELCI_REUSE_PORT") or "").lower() in ("1", "true", "yes"),
            workers=_number(env, "MODELCI_WORKERS", default.workers, int),
        )

    def check(self) -> ServeSettings:
        if not 0 <= self.port <= 65535:
            raise UsageError(f"port {self.port} is not a TCP port (0-65535).")
        if self.workers < 1:
            raise UsageError(f"workers {self.workers} must be at least 1.")
        if self.workers > 1 and self.reuse_port:
            raise UsageError("MODELCI_REUSE_PORT serves with one process; drop --workers (or MODELCI_WORKERS).")
        if self.max_batch < 1:
            raise UsageError(f"max batch {self.max_batch} must be at least 1 (1 turns micro-batching off).")
        waits = (self.max_wait_ms, self.adaptive_wait_ms, self.inline_below_ms, self.drain_timeout_s)
        if min(waits) < 0 or self.max_body_bytes < 1:
            raise UsageError("max wait, body limit and drain timeout must not be negative.")
        return self


def _number(env: Mapping[str, str], name: str, default: _N, kind: Callable[[str], _N]) -> _N:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not a number.") from None
