"""modelci serve."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import add_common, load_config, model_name, open_registry


def add_parser(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve a model version over HTTP (MLflow scoring + Open Inference V2)",
                       description="Serve a registered model version, or a bundle folder, over HTTP. "
                                   "Every option also reads a MODELCI_* environment variable.")
    add_common(p)
    p.add_argument("--model", "-m", required=False, metavar="REF|PATH",
                   help="a reference (churn:3, churn@champion, models:/churn/3) or a bundle folder "
                        "(env MODELCI_MODEL)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1; env MODELCI_HOST)")
    p.add_argument("--port", type=int, help="port (default 8080; env MODELCI_PORT)")
    p.add_argument("--max-batch", type=int, help="rows per model call; 1 turns micro-batching off "
                                                 "(default 64; env MODELCI_MAX_BATCH)")
    p.add_argument("--max-wait-ms", type=float, help="always hold a non-full batch open this long for more "
                                                     "requests (default 0; env MODELCI_MAX_WAIT_MS)")
    p.add_argument("--adaptive-wait-ms", type=float,
                   help="wait at most this long for clients that were recently concurrent but are not here now; "
                        "0 turns it off (default 2; env MODELCI_ADAPTIVE_WAIT_MS)")
    p.add_argument("--inline-below-ms", type=float,
                   help="run model calls that recently took less than this on the event loop instead of the "
                        "predict thread; 0: always the thread (default 20; env MODELCI_INLINE_BELOW_MS)")
    p.add_argument("--workers", type=int,
                   help="server processes, each loading the model (default 1; env MODELCI_WORKERS). Prefer "
                        "more replicas: each worker has its own /metrics")
    p.add_argument("--max-body-mb", type=float, help="largest request body (default 16; env MODELCI_MAX_BODY_MB)")
    p.add_argument("--drain-timeout", type=float, metavar="SECONDS",
                   help="on SIGTERM, wait this long for in-flight requests (default 30; env MODELCI_DRAIN_TIMEOUT_S)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import os

    from ..errors import UsageError
    from ..serve.loader import locate
    from ..serve.server import serve
    from ..serve.settings import ServeSettings

    model = args.model or os.environ.get("MODELCI_MODEL")
    if not model:
        raise UsageError("modelci serve needs --model REF|PATH, e.g. --model churn@champion or --model ./bundle.")
    settings = ServeSettings.from_env()
    overrides: dict[str, Any] = {
        "host": args.host, "port": args.port, "max_batch": args.max_batch, "max_wait_ms": args.max_wait_ms,
        "adaptive_wait_ms": args.adaptive_wait_ms, "inline_below_ms": args.inline_below_ms,
        "drain_timeout_s": args.drain_timeout, "workers": args.workers,
        "max_body_bytes": int(args.max_body_mb * 2**20) if args.max_body_mb is not None else None,
    }
    settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v is not None}).check()
    config = None if args.config is None and _looks_like_path(model) else load_config(args, required=False)
    located = locate(model, lambda: open_registry(args, config), model_name(config))
    v = located.version
    print(f"serving {v.ref} ({v.artifact_digest[:19]}) from {located.source} on http://{settings.host}:"
          f"{settings.port}", file=sys.stderr)
    serve(located, settings)
    return 0


def _looks_like_path(model: str) -> bool:
    from pathlib import Path

    return Path(model).is_dir() or model.endswith(".json")
