"""modelci metrics: the pipeline's health (MUS, MTS, MDS, MQ and DORA) from the event log."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..github import actions as gha
from .common import add_common, duration_arg, load_config, model_name, open_registry


def add_parser(sub: Any) -> None:
    p = sub.add_parser("metrics", help="pipeline health: update, test and deploy rates, quality, DORA figures")
    add_common(p)
    p.add_argument("--since", default="30d", help="window, ending now: 7d, 30d, 12h ... (default 30d)")
    p.add_argument("--model", help="one model (default: the config's model, else every model)")
    p.add_argument("--format", choices=("md", "json"), default="md")
    p.add_argument("--plot", type=Path, metavar="PATH", help="also write a PNG chart here")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..metrics import compute_health
    from ..metrics.render import to_json, to_markdown, to_png

    window = duration_arg("--since", args.since) or 0.0
    config = load_config(args, required=False)
    registry = open_registry(args, config)
    until = datetime.now(timezone.utc)
    since = until - timedelta(seconds=window)
    name = args.model or model_name(config)
    models = [name] if name else registry.list_models()
    reports = [compute_health(m, registry.events(m), since, until) for m in models]
    reports = [r for r in reports if r.registered or r.gated.total or r.deployed or r.verified.total]
    if not reports:
        scope = f"model {name!r}" if name else "any model"
        print(f"nothing yet: {registry.uri} has no events for {scope} since {since:%Y-%m-%d %H:%M} UTC. "
              "Train, gate and deploy a model first (modelci run does all three locally).")
        return 0
    markdown = to_markdown(reports)
    gha.append_summary(markdown)
    if args.format == "json":
        print(json.dumps(to_json(reports), indent=2))
    else:
        print(markdown)
    if args.plot:
        print(f"chart written to {to_png(reports, args.plot)}")
    return 0
