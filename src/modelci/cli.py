"""Command line: parse argv into a request, call one core function, map errors to exit codes.

This is the only module that knows about argv and exit codes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import ModelciError, UsageError
from .github import actions as gha

if TYPE_CHECKING:
    from .config import Config
    from .registry import Registry

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (exit 2, one paragraph) instead of exiting itself."""

    def error(self, message: str) -> Any:
        raise UsageError(f"{self.prog}: {message}. See: {self.prog} --help")


def _common(p: argparse.ArgumentParser, *, config: bool = True) -> None:
    if config:
        p.add_argument("-c", "--config", default=os.environ.get("MODELCI_CONFIG") or None,
                       help="pipeline file (default: ./modelci.yaml; env MODELCI_CONFIG)")
        p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key, e.g. --set model.params.C=0.5 (repeatable)")
    p.add_argument("--registry", default=os.environ.get("MODELCI_REGISTRY") or None,
                   help="registry URI: file://PATH or oci://HOST/NAMESPACE (env MODELCI_REGISTRY)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="modelci", description="Model CI/CD: train, gate, publish, deploy, verify.")
    parser.add_argument("--version", action="version", version=f"modelci {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("train", help="fit the model, record lineage, register a new version")
    _common(p)
    p.add_argument("--json", action="store_true", help="print the registered version as JSON")
    p.set_defaults(handler=_cmd_train)

    reg = sub.add_parser("registry", help="list, show and alias model versions; read events")
    rsub = reg.add_subparsers(dest="registry_command", metavar="ACTION", parser_class=_Parser)
    rsub.required = True
    p = rsub.add_parser("list", help="models, or the newest versions of one model")
    _common(p)
    p.add_argument("model", nargs="?", help="model name (default: the config's model)")
    p.add_argument("--limit", type=int, default=20, help="versions to show, newest first (0: all)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_registry_list)
    p = rsub.add_parser("show", help="one version's full record")
    _common(p)
    p.add_argument("ref", help="churn:3, churn@champion, models:/churn/3, 3 or @champion")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_registry_show)
    p = rsub.add_parser("alias", help="point an alias at a version (history kept in events)")
    _common(p)
    p.add_argument("alias", help="alias name, e.g. champion")
    p.add_argument("ref", nargs="?", help="version to point at, e.g. churn:3")
    p.add_argument("--delete", metavar="MODEL", help="remove the alias from MODEL instead")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_registry_alias)
    p = rsub.add_parser("events", help="the append-only history, oldest first")
    _common(p)
    p.add_argument("model", nargs="?", help="model name (default: every model)")
    p.add_argument("--limit", type=int, default=50, help="newest events to show (0: all)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_registry_events)
    return parser


# -- wiring ----------------------------------------------------------------
def _load_config(args: argparse.Namespace, required: bool) -> Config | None:
    from .config import load_config

    path = getattr(args, "config", None)
    if path is None and not required and not Path("modelci.yaml").exists():
        return None
    return load_config(path, getattr(args, "overrides", []))


def _registry(args: argparse.Namespace, config: Config | None) -> Registry:
    from .config import DEFAULT_REGISTRY
    from .registry import open_registry

    if args.registry:
        return open_registry(args.registry)
    if config is not None:
        return open_registry(config.registry, config.base_dir)
    return open_registry(DEFAULT_REGISTRY)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


# -- commands --------------------------------------------------------------
def _cmd_train(args: argparse.Namespace) -> int:
    from .train import render_markdown, train

    config = _load_config(args, required=True)
    assert config is not None
    registry = _registry(args, config)
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
        _print_json(v.to_dict())
    else:
        metrics = "  ".join(f"{k}={val:.4f}" for k, val in v.metrics.items())
        print(f"registered {v.ref} ({v.uri}) in {result.duration_s:.1f}s  {metrics}")
    return 0


def _default_model(args: argparse.Namespace, config: Config | None) -> str | None:
    return getattr(args, "model", None) or (config.model.name if config else None)


def _cmd_registry_list(args: argparse.Namespace) -> int:
    config = _load_config(args, required=False)
    registry = _registry(args, config)
    name = _default_model(args, config)
    if name is None:
        models = registry.list_models()
        if args.json:
            _print_json(models)
        elif not models:
            print(f"no models in {registry.uri} yet; register one with: modelci train")
        else:
            print("\n".join(models))
        return 0
    versions = registry.list_versions(name, limit=args.limit or None)
    aliases = registry.aliases(name)
    if args.json:
        _print_json({"model": name, "aliases": aliases, "versions": [v.to_dict() for v in versions]})
        return 0
    if not versions:
        print(f"model {name!r} has no versions in {registry.uri} yet")
        return 0
    by_version: dict[int, list[str]] = {}
    for alias, number in aliases.items():
        by_version.setdefault(number, []).append(alias)
    print(f"{'VERSION':<8} {'CREATED':<25} {'GIT':<9} {'ALIASES':<22} METRICS")
    for v in versions:
        metrics = " ".join(f"{k}={val:.4f}" for k, val in list(v.metrics.items())[:3])
        sha = (v.git.get("sha") or "")[:7]
        print(f"{v.version:<8} {v.created_at:<25} {sha:<9} {','.join(by_version.get(v.version, [])):<22} {metrics}")
    return 0


def _cmd_registry_show(args: argparse.Namespace) -> int:
    from .refs import parse_ref

    config = _load_config(args, required=False)
    registry = _registry(args, config)
    version = registry.resolve(parse_ref(args.ref, config.model.name if config else None))
    record = version.to_dict()
    record["aliases"] = sorted(a for a, n in registry.aliases(version.name).items() if n == version.version)
    if args.json:
        _print_json(record)
        return 0
    print(f"{version.ref}  {version.uri}")
    for key in ("artifact_digest", "artifact_size", "flavor", "task", "created_at", "created_by"):
        print(f"  {key:<16} {record[key]}")
    print(f"  {'aliases':<16} {', '.join(record['aliases']) or '-'}")
    print(f"  {'git':<16} {version.git.get('sha')} {version.git.get('ref') or ''} {version.git.get('run_url') or ''}")
    print(f"  {'metrics':<16} " + ", ".join(f"{k}={v:.4f}" for k, v in version.metrics.items()))
    print(f"  {'params':<16} {json.dumps(dict(version.params), sort_keys=True)}")
    for role in ("train", "test"):
        d = version.data.get(role, {})
        print(f"  {'data.' + role:<16} {d.get('path')} {d.get('sha256')} ({d.get('rows')} rows)")
    cols = ", ".join(f"{c['name']}:{c['dtype']}" for c in version.signature.get("inputs", []))
    print(f"  {'inputs':<16} {cols}")
    print(f"  {'output':<16} {json.dumps(version.signature.get('output'))}")
    print(f"  {'packages':<16} " + ", ".join(f"{k}={v}" for k, v in version.packages.items()))
    return 0


def _cmd_registry_alias(args: argparse.Namespace) -> int:
    from .refs import check_alias_name, parse_ref

    config = _load_config(args, required=False)
    registry = _registry(args, config)
    check_alias_name(args.alias)
    if args.delete:
        change = registry.delete_alias(args.delete, args.alias, reason="modelci registry alias --delete")
        print(f"removed {change.model}@{change.alias} (was version {change.previous})")
        return 0
    if not args.ref:
        raise UsageError("modelci registry alias: give the version to point at, e.g. "
                         f"modelci registry alias {args.alias} churn:3 (or --delete MODEL)")
    version = registry.resolve(parse_ref(args.ref, config.model.name if config else None))
    change = registry.set_alias(version.name, args.alias, version.version, reason="modelci registry alias")
    if args.json:
        _print_json({"model": change.model, "alias": change.alias, "version": change.version,
                     "previous": change.previous})
    else:
        was = f" (was {change.previous})" if change.previous is not None else ""
        print(f"{change.model}@{change.alias} -> {change.version}{was}")
    return 0


def _cmd_registry_events(args: argparse.Namespace) -> int:
    config = _load_config(args, required=False)
    registry = _registry(args, config)
    events = registry.events(args.model, limit=args.limit or None)
    if args.json:
        _print_json([e.to_dict() for e in events])
        return 0
    if not events:
        print(f"no events in {registry.uri} yet")
    for e in events:
        version = f":{e.version}" if e.version is not None else ""
        detail = json.dumps(dict(e.data), sort_keys=True, default=str)
        print(f"{e.at}  {e.kind:<13} {e.model}{version:<6} {e.actor:<12} {detail}")
    return 0


# -- entry point -----------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        handler: Handler = args.handler
        return handler(args)
    except ModelciError as exc:
        _report_failure(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("modelci: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _report_failure(exc: ModelciError) -> None:
    message = str(exc)
    gha.append_summary(f"### :x: {exc.title}\n\n{message}\n")
    if gha.in_actions():
        gha.error(message, title=exc.title)
    else:
        print(f"modelci: error: {message}", file=sys.stderr)
