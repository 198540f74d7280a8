"""modelci registry list | show | alias | events | copy."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import UsageError
from .common import Parser, add_common, load_config, model_name, open_registry, print_json


def add_parser(sub: Any) -> None:
    reg = sub.add_parser("registry", help="list, show and alias model versions; read events")
    rsub = reg.add_subparsers(dest="registry_command", metavar="ACTION", parser_class=Parser)
    rsub.required = True
    p = rsub.add_parser("list", help="models, or the newest versions of one model")
    add_common(p)
    p.add_argument("model", nargs="?", help="model name (default: the config's model)")
    p.add_argument("--limit", type=int, default=20, help="versions to show, newest first (0: all)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_list)
    p = rsub.add_parser("show", help="one version's full record")
    add_common(p)
    p.add_argument("ref", help="churn:3, churn@champion, models:/churn/3, 3 or @champion")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_show)
    p = rsub.add_parser("alias", help="point an alias at a version (history kept in events)")
    add_common(p)
    p.add_argument("alias", help="alias name, e.g. champion")
    p.add_argument("ref", nargs="?", help="version to point at, e.g. churn:3")
    p.add_argument("--delete", metavar="MODEL", help="remove the alias from MODEL instead")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_alias)
    p = rsub.add_parser("events", help="the append-only history, oldest first")
    add_common(p)
    p.add_argument("model", nargs="?", help="model name (default: every model)")
    p.add_argument("--limit", type=int, default=50, help="newest events to show (0: all)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_events)
    _add_copy_parser(rsub)


def _list(args: argparse.Namespace) -> int:
    config = load_config(args, required=False)
    registry = open_registry(args, config)
    name = (args.model or model_name(config))
    if name is None:
        models = registry.list_models()
        if args.json:
            print_json(models)
        elif not models:
            print(f"no models in {registry.uri} yet; register one with: modelci train")
        else:
            print("\n".join(models))
        return 0
    versions = registry.list_versions(name, limit=args.limit or None)
    aliases = registry.aliases(name)
    if args.json:
        print_json({"model": name, "aliases": aliases, "versions": [v.to_dict() for v in versions]})
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


def _show(args: argparse.Namespace) -> int:
    from ..refs import parse_ref

    config = load_config(args, required=False)
    registry = open_registry(args, config)
    version = registry.resolve(parse_ref(args.ref, model_name(config)))
    record = version.to_dict()
    record["aliases"] = sorted(a for a, n in registry.aliases(version.name).items() if n == version.version)
    if args.json:
        print_json(record)
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


def _alias(args: argparse.Namespace) -> int:
    from ..refs import check_alias_name, parse_ref

    config = load_config(args, required=False)
    registry = open_registry(args, config)
    check_alias_name(args.alias)
    if args.delete:
        change = registry.delete_alias(args.delete, args.alias, reason="modelci registry alias --delete")
        print(f"removed {change.model}@{change.alias} (was version {change.previous})")
        return 0
    if not args.ref:
        raise UsageError("modelci registry alias: give the version to point at, e.g. "
                         f"modelci registry alias {args.alias} churn:3 (or --delete MODEL)")
    version = registry.resolve(parse_ref(args.ref, model_name(config)))
    change = registry.set_alias(version.name, args.alias, version.version, reason="modelci registry alias")
    if args.json:
        print_json({"model": change.model, "alias": change.alias, "version": change.version,
                     "previous": change.previous})
    else:
        was = f" (was {change.previous})" if change.previous is not None else ""
        print(f"{change.model}@{change.alias} -> {change.version}{was}")
    return 0


def _events(args: argparse.Namespace) -> int:
    config = load_config(args, required=False)
    registry = open_registry(args, config)
    events = registry.events(args.model, limit=args.limit or None)
    if args.json:
        print_json([e.to_dict() for e in events])
        return 0
    if not events:
        print(f"no events in {registry.uri} yet")
    for e in events:
        version = f":{e.version}" if e.version is not None else ""
        detail = json.dumps(dict(e.data), sort_keys=True, default=str)
        print(f"{e.at}  {e.kind:<13} {e.model}{version:<6} {e.actor:<12} {detail}")
    return 0


# -- copy (issue 5): promote a version between registries ---------------------
def _add_copy_parser(rsub: Any) -> None:
    p = rsub.add_parser("copy", help="copy a version to another registry (dev -> prod), keeping lineage")
    add_common(p)
    p.add_argument("ref", help="version to copy: churn:3, churn@champion, models:/churn/3, 3 or @champion")
    p.add_argument("--from", dest="registry", metavar="URI", default=p.get_default("registry"),
                   help="source registry (same as --registry; default: the config's registry:)")
    p.add_argument("--to", dest="destination", required=True, metavar="URI",
                   help="destination registry, e.g. oci://ghcr.io/acme/models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_copy)


def _copy(args: argparse.Namespace) -> int:
    from ..github import actions as gha
    from ..refs import parse_ref
    from ..registry import open_registry as open_uri
    from ..registry.copy import copy_version

    config = load_config(args, required=False)
    source = open_registry(args, config)
    ref = parse_ref(args.ref, model_name(config))
    destination = open_uri(args.destination, config.base_dir if config else None)
    if destination.uri == source.uri:
        raise UsageError(f"modelci registry copy: source and destination are both {source.uri}; "
                         "give --to another registry.")
    result = copy_version(source, ref, destination)
    copy = result.copy
    gha.set_output("model-name", copy.name)
    gha.set_output("model-version", str(copy.version))
    gha.set_output("model-uri", copy.uri)
    gha.append_summary(f"### modelci registry copy\n\n`{result.source.ref}` in `{result.source_uri}` -> "
                       f"`{copy.ref}` in `{result.destination_uri}` (digest `{copy.artifact_digest}`)\n")
    if args.json:
        print_json({"source": {"registry": result.source_uri, "ref": result.source.ref},
                    "copy": {"registry": result.destination_uri, "ref": copy.ref},
                    "digest": copy.artifact_digest})
    else:
        print(f"copied {result.source.ref} ({result.source_uri}) -> {copy.ref} ({result.destination_uri})")
    return 0
