"""modelci train."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..github import actions as gha
from .common import add_common, open_registry, print_json, require_config


def add_parser(sub: Any) -> None:
    p = sub.add_parser("train", help="fit the model, record lineage, register a new version")
    add_common(p)
    p.add_argument("--json", action="store_true", help="print the registered version as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..train import render_markdown, train

    config = require_config(args)
    registry = open_registry(args, config)
    with gha.group(f"modelci train {config.model.name}"):
        print(f"training {config.model.name} ({config.model.task}) into {registry.uri}", file=sys.stderr)
        result = train(config, registry)
    for warning in result.warnings:
        gha.warning(warning, title="modelci train")
    v = result.version
    gha.set_output("model-name", v.name)
    gha.set_output("model-version", str(v.version))
    gha.set_output("model-uri", v.uri)
    gha.set_output("metrics", json.dumps(dict(v.metrics), sort_keys=True))
    gha.append_summary(render_markdown(result))
    if args.json:
        print_json(v.to_dict())
    else:
        metrics = "  ".join(f"{k}={val:.4f}" for k, val in v.metrics.items())
        print(f"registered {v.ref} ({v.uri}) in {result.duration_s:.1f}s  {metrics}")
    return 0
